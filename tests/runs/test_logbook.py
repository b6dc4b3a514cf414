"""The logbook's loss curve: drawn at the end of a run, and matplotlib (about 30 MB resident)
not imported before then, so it does not add to a training run's peak memory."""

import subprocess
import sys

from tests.conftest import TINY_OPTIONS, tiny_text

SCRIPT = """
import sys
import recur
from recur.training import trainer

real, seen = trainer.Trainer.run, []

def run(self):
    finished = real(self)
    seen.append(any(name.startswith("matplotlib") for name in sys.modules))
    return finished

trainer.Trainer.run = run
recur.train(sys.argv[1], out=sys.argv[2], quiet=True, **{options!r})
print(seen, "matplotlib" in sys.modules)
"""


def test_a_run_imports_matplotlib_only_to_draw_its_loss_curve(tmp_path):
    corpus = tmp_path / "tiny.txt"
    corpus.write_text(tiny_text(), encoding="utf-8")
    script = SCRIPT.replace("{options!r}", repr({**TINY_OPTIONS, "steps": 3}))
    result = subprocess.run(
        [sys.executable, "-c", script, str(corpus), str(tmp_path / "run")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["[False]", "True"]  # not while training; then for the plot
    assert (tmp_path / "run" / "loss.png").stat().st_size > 1000
