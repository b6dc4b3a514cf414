"""Run directories: save and load models, tokenizers, configs and exact-resume trainer state.

A checkpoint directory holds ``config.json`` (with the run's ``kind``: kinds.py reads it, or
recognises an older run's), ``tokenizer.json`` and ``model.safetensors``; the
``last/`` one also holds ``trainer_state.json`` + ``trainer_state.safetensors`` (optimizer moments,
RNG states, data cursor, carried hidden state). Only JSON and safetensors are ever read: no pickle.
Writes go to a temporary directory that is then renamed into place.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, load_model, save_file, save_model

from recur.errors import RecurError
from recur.runs.kinds import kind_of
from recur.tokenizers import load_tokenizer

FILES = ("config.json", "tokenizer.json", "model.safetensors")


@dataclass
class Bundle:
    """A loaded checkpoint: everything generation and evaluation need."""

    model: torch.nn.Module
    tokenizer: object
    config: dict
    path: Path
    kind: str = "lm"  # "lm" | "music" | "classifier" (runs/kinds.py)


def save(directory, model, tokenizer, config: dict, trainer_state: dict | None = None) -> Path:
    """Write a checkpoint atomically; ``trainer_state`` is ``{"json": {...}, "tensors": {...}}``."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    temporary = directory.parent / f".{directory.name}.tmp-{os.getpid()}"
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir()
    (temporary / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    tokenizer.save(temporary / "tokenizer.json")
    save_model(model, str(temporary / "model.safetensors"))
    if trainer_state is not None:
        (temporary / "trainer_state.json").write_text(json.dumps(trainer_state["json"]))
        tensors = {k: v.detach().cpu().contiguous() for k, v in trainer_state["tensors"].items()}
        save_file(tensors, str(temporary / "trainer_state.safetensors"))
    _swap_into_place(temporary, directory)
    return directory


def _swap_into_place(temporary: Path, directory: Path) -> None:
    # Two renames: the old checkpoint stays whole until the new one is complete on disk.
    old = directory.parent / f".{directory.name}.old-{os.getpid()}"
    if directory.exists():
        os.replace(directory, old)
    os.replace(temporary, directory)
    shutil.rmtree(old, ignore_errors=True)


def resolve(path) -> Path:
    """A run directory or a checkpoint inside it -> the checkpoint directory to load."""
    path = Path(path)
    if (path / "config.json").is_file():
        return path
    for name in ("best", "last"):
        if (path / name / "config.json").is_file():
            return path / name
    raise RecurError(f"{path}: not a run directory (no config.json in it, its best/ or its last/)")


def load(path, device: str | torch.device = "cpu") -> Bundle:
    """Load model, tokenizer and config; a model trained on GPU loads on CPU."""
    directory = resolve(path)
    for name in FILES:
        if not (directory / name).is_file():
            raise RecurError(f"{directory}: {name} is missing; the checkpoint is incomplete")
    config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    tokenizer = load_tokenizer(directory / "tokenizer.json")
    kind = kind_of(config, getattr(tokenizer, "kind", ""))
    model = kind.build(config)
    load_weights(model, directory, device)
    return Bundle(model.to(device), tokenizer, config, directory, kind.name)


def load_run_tokenizer(path):
    """A checkpoint's tokenizer alone (a resumed run needs it before its model is built)."""
    return load_tokenizer(resolve(path) / "tokenizer.json")


def load_weights(model: torch.nn.Module, directory, device="cpu") -> None:
    """A checkpoint directory's weights into ``model``."""
    load_model(model, str(Path(directory) / "model.safetensors"), device=str(device))


def load_trainer_state(path, device="cpu") -> dict:
    directory = Path(path)
    if not (directory / "trainer_state.json").is_file():
        raise RecurError(f"{directory}: no trainer state to resume from")
    tensors = load_file(str(directory / "trainer_state.safetensors"), device=str(device))
    # Copies in fresh memory: tensors read from a file can sit at any byte offset, and BLAS
    # kernels round differently on unaligned inputs, which broke bit-exact resume.
    return {
        "json": json.loads((directory / "trainer_state.json").read_text()),
        "tensors": {name: tensor.clone() for name, tensor in tensors.items()},
    }


def optimizer_to_state(optimizer: torch.optim.Optimizer) -> tuple[dict, dict]:
    """Split an optimizer's state dict into JSON-able groups and named tensors."""
    state = optimizer.state_dict()
    tensors = {
        f"optimizer.{index}.{key}": value
        for index, entries in state["state"].items()
        for key, value in entries.items()
    }
    return {"param_groups": state["param_groups"]}, tensors


def optimizer_from_state(optimizer: torch.optim.Optimizer, groups: dict, tensors: dict) -> None:
    entries: dict[int, dict] = {}
    for name, value in tensors.items():
        if name.startswith("optimizer."):
            _, index, key = name.split(".", 2)
            entries.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": entries, "param_groups": groups["param_groups"]})
