"""ONNX forms of the PyTorch operators recur's models use that the TorchScript exporter lacks.

``torch.cummax`` (a conditional model's condition tracking, ``track_conditions``) has no ONNX
operator: along ``dim`` of length T it becomes a (T, T) lower-triangular mask, a Where and a
ReduceMax, so its cost grows with T squared (feed long texts in chunks). Its indices are the last
position so far that holds the running maximum, as PyTorch's.
"""

from __future__ import annotations

import torch
from torch.onnx import symbolic_helper

OPSET = 17


def cummax(g, x, dim):
    dim = symbolic_helper._get_const(dim, "i", "dim")
    rank = symbolic_helper._get_tensor_rank(x)
    if rank is None:
        raise RuntimeError("cummax needs an input of known rank")
    dim = dim % rank
    zero, one = g.op("Constant", value_t=torch.tensor(0)), g.op("Constant", value_t=torch.tensor(1))
    length = g.op("Gather", g.op("Shape", x), g.op("Constant", value_t=torch.tensor(dim)))
    steps = g.op("Range", zero, length, one)  # (T,)
    source = g.op("Unsqueeze", steps, g.op("Constant", value_t=torch.tensor([0])))  # (1, T)
    target = g.op("Unsqueeze", steps, g.op("Constant", value_t=torch.tensor([1])))  # (T, 1)
    mask = g.op("LessOrEqual", source, target)  # (T, T): [t, s] = s <= t
    trailing = list(range(2, 2 + rank - dim - 1))
    if trailing:
        mask = g.op("Unsqueeze", mask, g.op("Constant", value_t=torch.tensor(trailing)))
    spread = g.op("Unsqueeze", x, g.op("Constant", value_t=torch.tensor([dim])))  # s at dim + 1
    lowest = g.op("ReduceMin", x, keepdims_i=0)  # any fill at or below every value will do
    filled = g.op("Where", mask, spread, lowest)
    values = g.op("ReduceMax", filled, axes_i=[dim + 1], keepdims_i=0)
    hits = g.op(
        "And", mask, g.op("Equal", spread, g.op("Unsqueeze", values, g.op(
            "Constant", value_t=torch.tensor([dim + 1]))))
    )  # fmt: skip
    as_int = g.op("Cast", hits, to_i=symbolic_helper._C_onnx.TensorProtoDataType.INT32)
    indices = g.op("ArgMax", as_int, axis_i=dim + 1, keepdims_i=0, select_last_index_i=1)
    return values, indices


def register() -> None:
    """Make the exporter use these forms (idempotent)."""
    torch.onnx.register_custom_op_symbolic("aten::cummax", cummax, OPSET)
