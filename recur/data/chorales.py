"""The built-in ``bach`` corpus: the Bach chorales that ship inside music21, as note lists.

music21 (the music extra) is slow to parse a score, so the extracted notes (in beats, ties merged)
are cached in ``$XDG_CACHE_HOME/recur`` (default ``~/.cache/recur``) keyed by music21's version;
later runs read one .npz file. Nothing is downloaded.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from recur.data.midi_files import Piece
from recur.extras import require

VELOCITY = 80


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "recur"


def _extract(corpus, path) -> np.ndarray:
    score = corpus.parse(path).stripTies()
    rows = [
        (float(n.offset), float(n.offset + n.quarterLength), p.midi, VELOCITY)
        for n in score.flatten().notes
        if n.quarterLength > 0
        for p in n.pitches
    ]
    return np.array(rows, dtype=np.float64).reshape(-1, 4)


def load_bach() -> list[Piece]:
    """Every chorale (.mxl) under music21's bundled bach folder, in corpus order."""
    music21 = require("music21", "music", "the bach corpus")
    corpus = require("music21.corpus", "music", "the bach corpus")
    cache = cache_dir() / f"bach-music21-{music21.__version__}.npz"
    if cache.is_file():
        with np.load(cache) as stored:
            return [Piece(name, stored[name]) for name in stored.files]
    paths = [p for p in corpus.getComposer("bach") if Path(p).suffix == ".mxl"]
    print(
        f"extracting {len(paths)} Bach chorales from music21 once (about a minute); "
        f"cached in {cache}",
        file=sys.stderr,
    )
    pieces = {}
    for path in paths:
        try:
            notes = _extract(corpus, path)
        except Exception as error:  # a score music21 cannot read: skip it
            print(f"warning: {Path(path).name}: skipped ({error})", file=sys.stderr)
            continue
        if len(notes):
            pieces[Path(path).stem] = notes
    cache.parent.mkdir(parents=True, exist_ok=True)
    temporary = cache.with_suffix(".tmp.npz")
    np.savez_compressed(temporary, allow_pickle=False, **pieces)
    os.replace(temporary, cache)
    return [Piece(name, notes) for name, notes in pieces.items()]
