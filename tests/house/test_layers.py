"""The house rules that code review cannot keep by eye: data flows one way between the packages
(a package imports only packages before it in LAYERS), and no module outgrows 300 lines."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[2] / "recur"
# Lowest first; modules in one entry may import each other.
LAYERS = [
    ("errors", "extras"),
    ("config",),
    ("tokenizers",),
    ("data",),
    ("kernels",),
    ("models",),
    ("runs",),
    ("generate",),
    ("training",),
    ("lm",),
    ("classify", "music", "series"),
    ("export", "inspect"),
    ("api",),
    ("serve",),
    ("cli", "__main__", "__init__"),
]
LEVEL = {name: level for level, names in enumerate(LAYERS) for name in names}
MODULES = sorted(PACKAGE.rglob("*.py"))


def part_of(path: Path) -> str:
    """The top-level part of recur a file belongs to: its subpackage or its module name."""
    part = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    return "cli" if part.startswith("cli_") else part  # cli_NAME.py: the CLI's own modules


def imported_parts(path: Path) -> set[str]:
    parts = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            pieces = name.split(".")
            if pieces[0] == "recur" and len(pieces) > 1:
                part = "cli" if pieces[1].startswith("cli_") else pieces[1]
                if part in LEVEL:
                    parts.add(part)
    return parts


def test_every_part_has_a_layer():
    assert {part_of(path) for path in MODULES} <= set(LEVEL)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_flow_one_way(path):
    own = part_of(path)
    upward = {p for p in imported_parts(path) if LEVEL[p] > LEVEL[own]}
    assert not upward, f"{path.name} ({own}) imports from above it: {sorted(upward)}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_files_stay_small_and_say_what_they_own(path):
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 300
    assert ast.get_docstring(ast.parse(text)), f"{path.name} opens without a docstring"
