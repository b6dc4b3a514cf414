"""The optimizer and the arithmetic of a training step, the same for every kind of run: AdamW
with weight decay on matrices only (fused) or plain SGD, parameter groups that may each take a
share of the learning rate, and the ``--precision`` autocast + loss scaler."""

from __future__ import annotations

import contextlib

import torch

from recur.config.options import TrainConfig
from recur.errors import RecurError
from recur.kernels import onednn
from recur.models.language_model import RecurrentLM
from recur.training.muon import MuonAdamW

AUTOCAST_TYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
# --precision auto's bf16 choice: the cells whose CPU training runs through recur's kernels
# (kernels/cpu_gru.py, min_scan.py: the recurrence in fp32 under a bf16 autocast) and the LSTM
# (oneDNN's bf16 LSTM; PTB, WikiText-2 and tiny Shakespeare measured, see docs/experiments.md).
# The music preset keeps fp32: its MIDI LSTM was not measured in bf16.
BF16_CELLS = ("gru", "mingru", "minlstm", "lstm")
# The modules whose matrices --optimizer muon steps.
RECURRENT_MODULES = {"rnn", "forward_layers", "backward_layers"}


def build_optimizer(
    model: torch.nn.Module, train: TrainConfig, scales: dict | None = None
) -> torch.optim.Optimizer:
    """AdamW, Muon on the recurrent matrices with AdamW on the rest (``--optimizer muon``), or
    plain SGD (``--optimizer sgd``); ``scales`` (parameter name -> factor) gives
    parameters their own share of the learning rate (``lr_scale`` of their group:
    discriminative rates), 1 where absent."""
    named = list({id(p): (n, p) for n, p in model.named_parameters()}.values())
    scales = scales or {}
    groups = []
    gates = muon_gates(model) if train.optimizer == "muon" else {}
    for scale in sorted({scales.get(n, 1.0) for n, _ in named}, reverse=True):
        chosen = [(n, p) for n, p in named if scales.get(n, 1.0) == scale]
        # Weight decay on matrices only; biases are left alone.
        for decay, kept in ((train.weight_decay, True), (0.0, False)):
            members = [(n, p) for n, p in chosen if (p.dim() >= 2) == kept]
            for count in sorted({gates.get(n, 0) for n, _ in members}):
                group = [p for n, p in members if gates.get(n, 0) == count]
                muon = {"muon": True, "gates": count} if count else {}
                groups.append({"params": group, "weight_decay": decay, "lr_scale": scale, **muon})
    if train.optimizer == "sgd":  # no state: nothing to fuse or to save for resume
        return torch.optim.SGD(groups, lr=train.lr)
    # The fused AdamW updates every parameter in one kernel, several times faster than the
    # per-tensor loop on small models; see docs/experiments.md.
    params = [p for _, p in named]
    fused = all(p.device.type in ("cpu", "cuda") and p.dtype.is_floating_point for p in params)
    if train.optimizer == "muon":
        return MuonAdamW(
            groups,
            train.lr,
            (0.9, 0.99),
            lr_scale=train.muon_lr_scale,
            newton_schulz_steps=train.newton_schulz_steps,
            fused=fused or None,
        )
    return torch.optim.AdamW(groups, lr=train.lr, betas=(0.9, 0.99), fused=fused or None)


def muon_gates(model: torch.nn.Module) -> dict[str, int]:
    """Parameter name -> the number of stacked gate blocks, for the matrices Muon steps: those
    of the recurrent layers (a language or series model's ``rnn``, a classifier's
    ``forward_layers``/``backward_layers``), not the embeddings or output layers."""
    hidden_size = getattr(getattr(model, "config", None), "hidden_size", 0)
    gates = {}
    for name, param in model.named_parameters():
        if RECURRENT_MODULES & set(name.split(".")) and param.dim() == 2:
            rows = param.size(0)
            stacked = hidden_size and rows % hidden_size == 0
            gates[name] = rows // hidden_size if stacked else 1
    return gates


def check_precision(model: torch.nn.Module, device: torch.device, precision: str) -> None:
    """A one-line error for fp16 LSTMs on a CPU: autocast casts ``nn.LSTM`` to fp16 there, and
    oneDNN, which has no fp16 LSTM, fails with an obscure message (GRU and RNN stay fp32)."""
    lstm = any(isinstance(module, torch.nn.LSTM) for module in model.modules())
    if precision == "fp16" and device.type == "cpu" and lstm:
        raise RecurError("--precision fp16 trains an LSTM on a CUDA GPU only; on a CPU use bf16")


def resolve_precision(precision: str, device: torch.device, model=None) -> str:
    """``--precision auto``: bf16 for a language model whose cell is in BF16_CELLS (GRU, minGRU,
    minLSTM: bf16 products, the state, gates and weights in fp32; LSTM: oneDNN's bf16 LSTM,
    the softmax's products in bf16) on a CPU whose bf16 products are fast (AMX or AVX-512
    bf16, the kernels on), else fp32; see docs/experiments.md.
    ``model`` None: the cell is not known yet, and any such language model is assumed."""
    if precision != "auto":
        return precision
    config = model.config if isinstance(model, RecurrentLM) else None
    cell = config.cell if config else None
    fits = model is None or cell in BF16_CELLS
    return "bf16" if device.type == "cpu" and fits and onednn.fast_bf16() else "fp32"


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """The forward pass's autocast for ``--precision`` (a no-op for fp32)."""
    dtype = AUTOCAST_TYPES.get(precision)
    return torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)


def grad_scaler(device: torch.device, precision: str) -> torch.amp.GradScaler:
    # Loss scaling keeps small fp16 gradients from flushing to zero; a no-op otherwise.
    return torch.amp.GradScaler(device.type, enabled=precision == "fp16")
