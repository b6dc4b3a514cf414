"""Optional and heavy dependencies, imported when first used rather than when recur is imported.

The music extra (pretty_midi, music21) and the classify extra (scikit-learn, which brings scipy) are
not needed to train or sample a text language model, so they are only imported by the functions
that use them, through ``require``: a missing extra is a one-line ``RecurError`` naming it.
matplotlib is always installed but slow to import (and about 30 MB resident), so ``pyplot`` and
``figure`` load it only to draw a figure: a training run imports it after its last step.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from recur.errors import RecurError

EXTRAS = {
    "music": ("pretty_midi", "music21"),
    "classify": ("sklearn", "scipy"),
    "export": ("onnx", "onnxruntime"),
}


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """``module`` (of the ``extra``'s packages), imported; ``purpose`` says what needs it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        detail = "" if _missing(error, module) else f" ({error})"
        raise RecurError(
            f"{purpose} needs the {extra} extra: pip install 'recur[{extra}]'{detail}"
        ) from None


def _missing(error: ImportError, module: str) -> bool:
    """Whether the import failed because ``module`` (or a package above it) is not installed,
    rather than for a reason inside an installed package, which the message then shows."""
    parts = module.split(".")
    return error.name in {".".join(parts[: i + 1]) for i in range(len(parts))}


def pyplot() -> ModuleType:
    """matplotlib.pyplot drawing to files (the Agg backend: no display is needed)."""
    importlib.import_module("matplotlib").use("Agg")
    return importlib.import_module("matplotlib.pyplot")


def figure(**options):
    """A matplotlib ``Figure`` (no pyplot: no GUI backend, no global figure list)."""
    return importlib.import_module("matplotlib.figure").Figure(**options)
