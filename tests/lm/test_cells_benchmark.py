"""benchmarks/cells.py keeps an earlier run's rows only where they were measured on this CPU."""

from benchmarks.cells import merged_speed


def row(cell: str, cpu: str | None = None) -> dict:
    found = {"cell": cell, "seq_length": 1024, "tokens_per_second": 1.0, "ratio": 1.0}
    return found if cpu is None else {**found, "cpu": cpu}


def test_rows_of_another_cpu_or_of_no_known_cpu_are_dropped():
    earlier = [row("gru", "A"), row("minlstm", "A"), row("mogrifier", "B"), row("mingru")]
    merged = merged_speed(earlier, [row("gru"), row("mingru")], ["gru", "mingru"], "A")
    assert [(r["cell"], r["cpu"]) for r in merged] == [
        ("gru", "A"),
        ("mingru", "A"),
        ("minlstm", "A"),
    ]
