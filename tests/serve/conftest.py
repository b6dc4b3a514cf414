"""Shared fixtures of the serve tests: three tiny runs (text, classifier, music) trained once per
session in a temporary folder, loaded once, and an app over them with small limits."""

import shutil
from pathlib import Path

import pytest

import recur
from tests.conftest import TINY_OPTIONS, tiny_text
from tests.old_runs import old_runs

fastapi = pytest.importorskip("fastapi")

FIXTURES = old_runs()
LIMITS = dict(max_streams=6, max_body_bytes=4_000, max_tokens=1_500, request_seconds=20.0)


@pytest.fixture(scope="session")
def runs(tmp_path_factory):
    """A language model trained here (a few steps), and copies of the saved fixture runs of the
    other kinds (tests/old_runs.py: training a classifier costs seconds)."""
    folder = tmp_path_factory.mktemp("serve")
    text = folder / "tiny.txt"
    text.write_text(tiny_text(), encoding="utf-8")
    found = {"lm": folder / "lm"}
    recur.train(text, out=str(found["lm"]), steps=30, quiet=True, **TINY_OPTIONS)
    kinds = ("classifier", "documents") + (("music",) if _has_music() else ())
    for kind in kinds:
        found[kind] = Path(shutil.copytree(FIXTURES / kind, folder / kind))
    return found


def _has_music() -> bool:
    try:
        import pretty_midi  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="session")
def models(runs):
    from recur.config.serve_options import ServeConfig
    from recur.serve.served import load_models

    loaded = load_models([str(p) for p in runs.values()], ServeConfig(**LIMITS))
    yield loaded
    for item in loaded.values():
        if item.engine is not None:
            item.engine.close()


@pytest.fixture(scope="session")
def app(models):
    from recur.config.serve_options import ServeConfig
    from recur.serve.app import create_app

    return create_app(models, ServeConfig(**LIMITS))


@pytest.fixture(scope="session")
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as test_client:
        yield test_client
