"""Evaluation that adapts to the text as it reads it: dynamic evaluation (Krause et al. 2018,
"Dynamic Evaluation of Neural Sequence Models") and the neural cache (Grave et al. 2017,
"Improving Neural Language Models with a Continuous Cache").

Both read the text as one stream, like ``evaluate.stream_loss``, and score each token before
using it, so no token is ever predicted with its own answer in hand.

- Dynamic evaluation scores a segment, then takes one gradient step on it: an RMS-normalised
  step (the mean square of the gradients seen so far), followed by a decay of every weight back
  towards the trained one, the paper's "global prior". The trained model is left untouched.
- The cache keeps the last hidden states with the token that followed each; a token's
  probability is mixed with how often it followed states like the current one.
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from recur.config.evaluate_options import EvaluateConfig

SEGMENT = {"char": 100}  # dynamic evaluation's default segment by level; 20 for the rest
CACHE_CHUNK = 512  # query positions scored against the cache at once


def segment_length(config: EvaluateConfig, level: str) -> int:
    return config.dynamic_segment or SEGMENT.get(level, 20)


def dynamic_loss(model, ids: np.ndarray, config: EvaluateConfig, level: str, device="cpu"):
    """Summed cross-entropy (nats) of ids[1:] under dynamic evaluation, and the token count."""
    model = copy.deepcopy(model)
    model.eval()  # no dropout: the adaptation is the only change
    parameters = list({id(p): p for p in model.parameters() if p.requires_grad}.values())
    trained = [p.detach().clone() for p in parameters]
    mean_square: list[torch.Tensor | None] = [None] * len(parameters)
    segment = segment_length(config, level)
    tokens = torch.from_numpy(np.asarray(ids, dtype=np.int64)).to(device)
    total, count, state, steps = 0.0, 0, None, 0
    for start in range(0, len(ids) - 1, segment):
        piece = tokens[start : start + segment + 1][None]
        loss, state = model(piece[:, :-1], state, targets=piece[:, 1:])
        total += loss.item() * (piece.shape[1] - 1)
        count += piece.shape[1] - 1
        model.zero_grad(set_to_none=True)
        loss.backward()
        steps += 1
        _step(parameters, trained, mean_square, config, steps)
        state = tuple(part.detach() for part in state)
    return total, count


@torch.no_grad()
def _step(parameters, trained, mean_square, config: EvaluateConfig, steps: int) -> None:
    """One RMS-normalised step, then the decay towards the trained weights."""
    for index, (parameter, original) in enumerate(zip(parameters, trained)):
        if parameter.grad is None:
            continue
        gradient = parameter.grad
        square = gradient * gradient
        seen = mean_square[index]
        # A running mean over every step so far: early steps are not over-trusted.
        mean_square[index] = square if seen is None else seen + (square - seen) / steps
        scale = mean_square[index].sqrt().add_(1e-8)
        parameter.sub_(config.dynamic_lr * gradient / scale)
        parameter.add_(config.dynamic_decay * (original - parameter))


@torch.no_grad()
def cache_loss(model, ids: np.ndarray, config: EvaluateConfig, device="cpu", chunk: int = 4096):
    """Summed cross-entropy (nats) of ids[1:] with the neural cache mixed in, and the count."""
    was_training = model.training
    model.eval()
    tokens = torch.from_numpy(np.asarray(ids, dtype=np.int64)).to(device)
    hidden_parts, probability_parts, state = [], [], None
    for start in range(0, len(ids) - 1, chunk):
        piece = tokens[start : start + chunk + 1][None]
        logits, hidden, state = _logits_and_hidden(model, piece[:, :-1], state)
        probabilities = torch.softmax(logits[0].float(), dim=-1)
        probability_parts.append(probabilities.gather(1, piece[0, 1:, None])[:, 0])
        hidden_parts.append(hidden[0].float())
    model.train(was_training)
    hidden = torch.cat(hidden_parts)  # (N, H): the state that predicts targets[n]
    model_probability = torch.cat(probability_parts)  # (N,)
    targets = tokens[1:]
    mixed = _mix(hidden, model_probability, targets, config)
    return float(-torch.log(mixed.clamp_min(1e-30)).sum()), len(targets)


def _mix(hidden, model_probability, targets, config: EvaluateConfig) -> torch.Tensor:
    """(1 - lambda) p_model + lambda p_cache at every position; p_cache is a softmax over the
    earlier positions within ``cache_size`` of how well their states match the current one."""
    size, count = config.cache_size, len(targets)
    mixed = model_probability.clone()
    if size == 0 or config.cache_lambda == 0:
        return mixed
    for start in range(1, count, CACHE_CHUNK):
        end = min(start + CACHE_CHUNK, count)
        first = max(0, start - size)
        queries, keys = hidden[start:end], hidden[first:end]
        scores = config.cache_theta * queries @ keys.T  # (Q, K)
        query_at = torch.arange(start, end, device=hidden.device)[:, None]
        key_at = torch.arange(first, end, device=hidden.device)[None, :]
        usable = (key_at < query_at) & (key_at >= query_at - size)
        weights = torch.softmax(scores.masked_fill(~usable, float("-inf")), dim=1)
        same = targets[first:end][None, :] == targets[start:end, None]
        cached = (weights * same).sum(1)
        mixed[start:end] = (1 - config.cache_lambda) * model_probability[start:end]
        mixed[start:end] += config.cache_lambda * cached
    return mixed


def _logits_and_hidden(model, ids, state):
    """The model's logits and the decoder's inputs (the top layer's outputs) for ``ids``."""
    captured = []
    original = model.logits

    def capture(out):
        captured.append(out)
        return original(out)

    model.logits = capture
    try:
        logits, state = model(ids, state)
    finally:
        del model.logits  # back to the class's method
    return logits, captured[0], state
