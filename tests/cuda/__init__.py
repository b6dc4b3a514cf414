"""Tests of the logic that differs on a GPU, each run on the CPU too where that means something:
``DEVICES`` parametrises a test over cpu and cuda, and the cuda case carries the ``cuda`` marker
(``pytest -m cuda`` selects it; it skips without a GPU)."""

import pytest
import torch

HAS_CUDA = torch.cuda.is_available()
NEEDS_CUDA = [pytest.mark.cuda, pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU")]
CUDA = pytest.param("cuda", marks=NEEDS_CUDA, id="cuda")
DEVICES = ["cpu", CUDA]


def cuda_only(test):
    """A test that means something on a GPU alone."""
    for mark in reversed(NEEDS_CUDA):
        test = mark(test)
    return test
