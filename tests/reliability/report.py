"""Write the counts of a ``make reliability`` run (its tally JSON) into docs/reliability.md,
between the ``<!-- counts -->`` markers.

    python -m tests.reliability.report TALLY.json docs/reliability.md
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

from tests.reliability.table import CASES


def table(counts: dict) -> str:
    fuzz = sorted(
        (key.removeprefix("fuzz: "), value)
        for key, value in counts.items()
        if key.startswith("fuzz: ")
    )
    lines = [
        f"Last `make reliability`: {time.strftime('%Y-%m-%d')} (a shared 2-core host).",
        "",
        "| what | count |",
        "|---|---|",
        f"| bad-input cases passed (of {len(CASES)} in the table) | {counts.get('cases', 0)} |",
        f"| fuzz examples, all targets | {counts.get('fuzz examples', 0):,} |",
        *[f"| fuzz examples: {name} | {value:,} |" for name, value in fuzz],
        f"| kill -9 during training, then load and resume | {counts.get('kills survived', 0)} |",
        "| crashes at each moment of a checkpoint write, then load and recover | "
        f"{counts.get('checkpoint-write crashes survived', 0)} |",
    ]
    return "\n".join(lines)


def main(tally: str, page: str) -> None:
    counts = json.loads(Path(tally).read_text())
    path = Path(page)
    text = path.read_text(encoding="utf-8")
    new = re.sub(
        r"<!-- counts -->.*?<!-- /counts -->",
        lambda _: f"<!-- counts -->\n{table(counts)}\n<!-- /counts -->",
        text,
        flags=re.S,
    )
    path.write_text(new, encoding="utf-8")
    print(table(counts))


if __name__ == "__main__":
    main(*sys.argv[1:3])
