"""Per-token surprise (bits) and the top next-token predictions, in chunks of steps so a word
model's (T, V) logits never exist for the whole text at once."""

from __future__ import annotations

import math

import numpy as np
import torch

CHUNK = 2048


def surprise(model, top: torch.Tensor, targets: torch.Tensor, k: int = 5) -> dict:
    """``top`` (T, H): the last layer's outputs, row t having read the tokens up to t;
    ``targets`` (T,): the token that came next. Returns ``bits`` (T,) = -log2 p(target), and
    ``top_ids``, ``top_probs`` (T, k): the k most likely next tokens."""
    bits, top_ids, top_probs = [], [], []
    with torch.no_grad():
        for start in range(0, top.shape[0], CHUNK):
            rows = top[start : start + CHUNK]
            log_p = torch.log_softmax(model.logits(rows[None])[0].float(), dim=-1)  # (t, V)
            chosen = log_p.gather(1, targets[start : start + CHUNK, None])[:, 0]
            bits.append((-chosen / math.log(2)).cpu().numpy())
            best = log_p.topk(min(k, log_p.shape[1]), dim=1)
            top_ids.append(best.indices.cpu().numpy())
            top_probs.append(best.values.exp().cpu().numpy())
    if not bits:
        return {
            "bits": np.zeros(0),
            "top_ids": np.zeros((0, k), int),
            "top_probs": np.zeros((0, k)),
        }
    return {
        "bits": np.concatenate(bits),
        "top_ids": np.concatenate(top_ids),
        "top_probs": np.concatenate(top_probs),
    }
