"""The whole table of bad inputs (``CASES``), gathered from the case modules."""

from __future__ import annotations

from tests.reliability.cases import Case
from tests.reliability.cases_inputs import input_cases
from tests.reliability.cases_options import generate_cases, option_cases, serve_export_inspect_cases
from tests.reliability.cases_runs import run_dir_cases

CASES: list[Case] = (
    option_cases()
    + input_cases()
    + generate_cases()
    + run_dir_cases()
    + serve_export_inspect_cases()
)
