"""Run directories: save and load models, tokenizers, configs and exact-resume trainer state.

A checkpoint directory holds ``config.json`` (with the run's ``kind``: kinds.py reads it, or
recognises an older run's), ``tokenizer.json`` and ``model.safetensors``; the
``last/`` one also holds ``trainer_state.json`` + ``trainer_state.safetensors`` (optimizer moments,
RNG states, data cursor, carried hidden state) and every checkpoint ``manifest.json`` (checksums:
integrity.py). Only JSON and safetensors are ever read: no pickle. Writes go to a temporary
directory, flushed to disk, that is then renamed into place.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, load_model, save_file, save_model

from recur.config.options import DataConfig, from_dict
from recur.errors import RecurError
from recur.runs.integrity import (
    RESTORE,
    fsync_path,
    leftover,
    read_json,
    refuse_code,
    stored_elements,
    verify,
    write_manifest,
)
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
    """Write a checkpoint atomically; ``trainer_state`` is ``{"json": {...}, "tensors": {...}}``.
    A failed write (a full disk) leaves the previous checkpoint as it was, and says so."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    temporary = directory.parent / f".{directory.name}.tmp-{os.getpid()}"
    shutil.rmtree(temporary, ignore_errors=True)
    try:
        temporary.mkdir()
        _write_files(temporary, model, tokenizer, config, trainer_state)
        write_manifest(temporary)  # last: a temporary with a manifest is complete
    except OSError as error:
        shutil.rmtree(temporary, ignore_errors=True)
        kept = "the previous checkpoint there is intact" if directory.exists() else "nothing saved"
        raise RecurError(
            f"{directory}: could not write the checkpoint ({error.strerror}); {kept}; "
            "free some space and continue with --resume"
        ) from None
    _swap_into_place(temporary, directory)
    return directory


def _write_files(temporary: Path, model, tokenizer, config: dict, trainer_state) -> None:
    (temporary / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    tokenizer.save(temporary / "tokenizer.json")
    save_model(model, str(temporary / "model.safetensors"))
    if trainer_state is not None:
        (temporary / "trainer_state.json").write_text(json.dumps(trainer_state["json"]))
        tensors = {k: v.detach().cpu().contiguous() for k, v in trainer_state["tensors"].items()}
        save_file(tensors, str(temporary / "trainer_state.safetensors"))


def _swap_into_place(temporary: Path, directory: Path) -> None:
    # Two renames: the old checkpoint stays whole until the new one is complete on disk; a crash
    # between them leaves the complete temporary, which resolve() reads and recover() renames.
    old = directory.parent / f".{directory.name}.old-{os.getpid()}"
    if directory.exists():
        os.replace(directory, old)
    os.replace(temporary, directory)
    fsync_path(directory.parent)
    shutil.rmtree(old, ignore_errors=True)


def recover(run_dir) -> None:
    """Put back a best/ or last/ that a crash left between its two renames; drop leftovers.
    Only the process that holds the run's lock (training/session.py) calls it."""
    run_dir = Path(run_dir)
    for name in ("best", "last"):
        directory = run_dir / name
        found = None if directory.exists() else leftover(directory)
        if found is not None:
            os.replace(found, directory)
        for stale in [*run_dir.glob(f".{name}.tmp-*"), *run_dir.glob(f".{name}.old-*")]:
            shutil.rmtree(stale, ignore_errors=True)


def resolve(path) -> Path:
    """A run directory or a checkpoint inside it -> the checkpoint directory to load."""
    path = Path(path)
    if not path.exists():
        raise RecurError(f"{path}: not a run directory (there is no such folder)")
    if (path / "config.json").is_file():
        return path
    for name in ("best", "last"):
        if (path / name / "config.json").is_file():
            return path / name
    for name in ("best", "last"):  # a crash between the two renames of a save (read, not moved)
        found = leftover(path / name)
        if found is not None:
            return found
    raise RecurError(f"{path}: not a run directory (no config.json in it, its best/ or its last/)")


def load(path, device: str | torch.device = "cpu") -> Bundle:
    """Load model, tokenizer and config; a model trained on GPU loads on CPU. The files are
    checked against the manifest, and config.json against its shape, before anything is built."""
    check_device(device)
    directory = resolve(path)
    for name in FILES:
        if not (directory / name).is_file():
            raise RecurError(f"{directory}: {name} is missing; the checkpoint is incomplete")
    verify(directory)
    config = read_config(directory)
    tokenizer = load_tokenizer(directory / "tokenizer.json")
    kind = kind_of(config, getattr(tokenizer, "kind", ""))
    try:
        _check_size(kind, config, directory / "model.safetensors")
        model = kind.build(config)
    except (RecurError, KeyError, TypeError, ValueError) as error:
        raise RecurError(f"{directory / 'config.json'}: {error}; {RESTORE}") from None
    if model_vocabulary(model) not in (None, tokenizer.vocab_size):
        raise RecurError(
            f"{directory}: tokenizer.json has {tokenizer.vocab_size} tokens but the model "
            f"{model_vocabulary(model)}; the files come from different runs"
        )
    load_weights(model, directory, device)
    return Bundle(model.to(device), tokenizer, config, directory, kind.name)


def _check_size(kind, config: dict, weights: Path) -> None:
    """Refuse a config far larger than its weights before allocating it (a hand-edited width)."""
    with torch.device("meta"):  # shapes only: no memory
        wanted = sum(p.numel() for p in kind.build(config).parameters())
    stored = stored_elements(weights)
    if stored is not None and wanted > 2 * stored + 1_000_000:
        raise RecurError(
            f"it describes a model of {wanted:,} weights, but model.safetensors holds {stored:,}"
        )


def check_device(device) -> None:
    """A CUDA device that this machine has, or a one-line error saying what it has."""
    device = torch.device(device)
    if device.type != "cuda":
        return
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if (device.index or 0) >= count:
        raise RecurError(
            f"--device {device}: this machine has {count or 'no'} CUDA device(s); use --device "
            + ("cpu" if not count else f"cuda:0 to cuda:{count - 1}, or cpu")
        )


def read_config(directory) -> dict:
    """config.json, checked to hold the sections a model is built from."""
    path = Path(directory) / "config.json"
    config = read_json(path)
    wanted = ("model", "classifier") if config.get("task") == "classify" else ("model",)
    for section in ("model", "data", "train", "classifier"):
        if (section in wanted or section in config) and not isinstance(config.get(section), dict):
            raise RecurError(f"{path}: no {section!r} section (a JSON object); {RESTORE}")
    try:
        from_dict(DataConfig, config.get("data", {}))  # the values generation reads, checked
    except RecurError as error:
        raise RecurError(f"{path}: {error}; {RESTORE}") from None
    return config


def model_vocabulary(model: torch.nn.Module) -> int | None:
    embedding = getattr(model, "embedding", None)
    return getattr(embedding, "num_embeddings", None)


def load_run_tokenizer(path):
    """A checkpoint's tokenizer alone (a resumed run needs it before its model is built)."""
    directory = resolve(path)
    verify(directory)
    return load_tokenizer(directory / "tokenizer.json")


def load_weights(model: torch.nn.Module, directory, device="cpu") -> None:
    """A checkpoint directory's weights into ``model``: safetensors only, matching the model."""
    path = Path(directory) / "model.safetensors"
    refuse_code(path)
    try:
        load_model(model, str(path), device=str(device))
    except SafetensorError as error:
        raise RecurError(f"{path}: not a readable safetensors file ({error}); {RESTORE}") from None
    except RuntimeError as error:  # missing, unexpected or differently shaped weights
        if not any(word in str(error) for word in ("size mismatch", "Missing key", "Unexpected")):
            raise
        detail = " ".join(str(error).split())[:160]
        raise RecurError(
            f"{path}: the weights do not fit the model config.json describes ({detail}); "
            "the files come from different runs"
        ) from None


def load_trainer_state(path, device="cpu") -> dict:
    directory = Path(path)
    if not (directory / "trainer_state.json").is_file():
        raise RecurError(f"{directory}: no trainer state to resume from")
    verify(directory)
    tensors_path = directory / "trainer_state.safetensors"
    if not tensors_path.is_file():
        raise RecurError(f"{tensors_path}: missing; the checkpoint is incomplete")
    refuse_code(tensors_path)
    try:
        tensors = load_file(str(tensors_path), device=str(device))
    except SafetensorError as error:
        raise RecurError(f"{tensors_path}: not a readable safetensors file ({error})") from None
    # Copies in fresh memory: tensors read from a file can sit at any byte offset, and BLAS
    # kernels round differently on unaligned inputs, which broke bit-exact resume.
    return {
        "json": read_json(directory / "trainer_state.json"),
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
