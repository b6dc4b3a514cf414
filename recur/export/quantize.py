"""int8 weights for an exported graph: onnxruntime's dynamic quantiser, then weight-only int8 for
the big weights it leaves in fp32.

The dynamic quantiser (``quantize_dynamic``) turns MatMul, Gather (the embedding) and LSTM into
int8 operators that quantise their inputs on the fly. It has no int8 GRU or plain RNN operator, so
their weights would stay fp32, and with them most of a GRU model's bytes. Every fp32 weight of at
least ``SMALL_WEIGHT`` elements that is still left is therefore stored as int8 with one scale per
output row, read through a DequantizeLinear node: a quarter of the bytes, computed in fp32.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from recur.extras import require

SMALL_WEIGHT = 4096  # smaller weights stay fp32: their bytes hardly count
ROW_AXIS = 1  # ONNX GRU/RNN weights are (directions, gates x hidden, inputs): axis 1 is a row


def quantize(source: Path, target: Path) -> None:
    """Write an int8 version of the graph at ``source`` to ``target``."""
    quantization = require("onnxruntime.quantization", "export", "recur export --int8")
    onnx = require("onnx", "export", "recur export --int8")
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantiser's advice to pre-process is for vision models
    try:
        quantization.quantize_dynamic(
            str(source), str(target), weight_type=quantization.QuantType.QInt8
        )
    finally:
        root.setLevel(level)
    model = onnx.load(str(target))
    _weights_to_int8(model, onnx)
    onnx.save(model, str(target))


def _weights_to_int8(model, onnx) -> None:
    """Big fp32 initializers of 2 or more dimensions -> int8 + DequantizeLinear, in place."""
    graph, helper, numpy_helper = model.graph, onnx.helper, onnx.numpy_helper
    kept, nodes = [], []
    for initializer in graph.initializer:
        values = numpy_helper.to_array(initializer)
        if values.dtype != np.float32 or values.ndim < 2 or values.size < SMALL_WEIGHT:
            kept.append(initializer)
            continue
        name = initializer.name
        quantized, scale = _rows_to_int8(values)
        kept += [
            numpy_helper.from_array(quantized, f"{name}_int8"),
            numpy_helper.from_array(scale, f"{name}_scale"),
            numpy_helper.from_array(np.zeros_like(scale, dtype=np.int8), f"{name}_zero"),
        ]
        nodes.append(
            helper.make_node(
                "DequantizeLinear",
                [f"{name}_int8", f"{name}_scale", f"{name}_zero"],
                [name],
                axis=ROW_AXIS,
                name=f"{name}_dequantize",
            )
        )
    del graph.initializer[:]
    graph.initializer.extend(kept)
    for node in reversed(nodes):  # before their users: the graph stays topologically sorted
        graph.node.insert(0, node)


def _rows_to_int8(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 with one scale per index of axis ``ROW_AXIS``."""
    moved = np.moveaxis(values, ROW_AXIS, 0).reshape(values.shape[ROW_AXIS], -1)
    scale = np.maximum(np.abs(moved).max(axis=1), 1e-12) / 127.0  # (rows,)
    shape = [1] * values.ndim
    shape[ROW_AXIS] = -1
    quantized = np.clip(np.round(values / scale.reshape(shape)), -127, 127).astype(np.int8)
    return quantized, scale.astype(np.float32)
