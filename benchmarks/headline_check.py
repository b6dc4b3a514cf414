"""Acceptance check for headlines: read ``recur generate ... --json`` on stdin, check the word
bounds and look every headline up in the training CSV (any label), independently of recur's own
novelty report (comparison ignores case and white space).

    recur generate RUN -n 20 --min-words 4 --max-words 15 --json | \\
        python -m benchmarks.headline_check ../shared/data/derived/clickbait_train.csv
"""

from __future__ import annotations

import csv
import json
import re
import sys


def key(text: str) -> str:
    return re.sub(r"\s+", "", text.lower())


def main() -> int:
    result = json.load(sys.stdin)
    known = {key(row["headline"]) for row in csv.DictReader(open(sys.argv[1], encoding="utf-8"))}
    samples = result["samples"]
    words = [len(s.split()) for s in samples]
    copied = [s for s in samples if key(s) in known]
    for text, count in zip(samples, words):
        print(f"{count:2d} {'COPY' if key(text) in known else '    '} {text}")
    print(
        json.dumps(
            {
                "headlines": len(samples),
                "min_words": min(words),
                "max_words": max(words),
                "in_training_file": len(copied),
                "not_in_training_file": len(samples) - len(copied),
                "recur_novelty": result.get("novelty"),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
