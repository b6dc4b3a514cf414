"""Evaluation of language models: loss, perplexity and bits per character over a whole text.

Every token after the first is predicted with the state carried from the start of the text, one
stream, as a reader would meet it (the standard language-model evaluation). Training validation
calls the same ``stream_loss``, so ``recur evaluate`` on the validation slice reproduces the logged
figure.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from .errors import RecurError

EVAL_CHUNK = 4096


@torch.no_grad()
def stream_loss(model, ids: np.ndarray, device="cpu", chunk: int = EVAL_CHUNK) -> tuple[float, int]:
    """Summed cross-entropy (nats) of ids[1:] given everything before them, and the token count."""
    was_training = model.training
    model.eval()
    total, count, state = 0.0, 0, None
    # Long chunks through one nn.LSTM call: oneDNN is fast here (unlike one-step calls).
    for start in range(0, len(ids) - 1, chunk):
        piece = torch.from_numpy(np.asarray(ids[start: start + chunk + 1], dtype=np.int64))
        piece = piece.to(device)[None]                           # (1, T + 1)
        logits, state = model(piece[:, :-1], state)              # (1, T, V)
        loss = F.cross_entropy(logits[0].float(), piece[0, 1:], reduction="sum")
        total += loss.item()
        count += piece.shape[1] - 1
    model.train(was_training)
    return total, count


def metrics(total_nats: float, tokens: int, characters: int) -> dict:
    """Per-token loss and perplexity, plus bits per character for comparing token levels."""
    loss = total_nats / max(tokens, 1)
    return {"loss": loss, "perplexity": math.exp(min(loss, 700.0)),
            "bits_per_char": total_nats / max(characters, 1) / math.log(2), "tokens": tokens}


def evaluate_text(bundle, text: str, device="cpu") -> dict:
    """Metrics of ``bundle``'s language model on ``text``."""
    ids = bundle.tokenizer.encode_array(text)
    if len(ids) < 2:
        raise RecurError("the text to evaluate needs at least two tokens")
    total, count = stream_loss(bundle.model, ids, device)
    # Characters predicted: every one after the first token's.
    characters = len(text) - len(bundle.tokenizer.decode(ids[:1].tolist()))
    return metrics(total, count, characters)
