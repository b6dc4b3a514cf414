"""Proof that an exported graph is the trained model: its outputs beside PyTorch's on a sample of
the validation text, and (for int8) the validation perplexity of both graphs.

The sample is the run's validation split when its data can still be read, else text the model
itself writes (greedy, from the start of a text). The comparison feeds it as ``CHECK_STREAMS``
rows in ``CHECK_CHUNKS`` chunks, carrying the state between them, so batch, steps and the state
inputs are all exercised; every logit and every state value counts (a large state relative to
its size).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from recur.classify.batches import pad
from recur.classify.preprocess import Preprocessor
from recur.config.options import ClassifierConfig, DataConfig, from_dict
from recur.data.labelled import read_examples
from recur.errors import RecurError
from recur.lm.corpus import prepare_corpus

CHECK_STREAMS, CHECK_CHUNKS, CHECK_TOKENS = 4, 2, 2048
PERPLEXITY_STREAMS, PERPLEXITY_CHUNK = 16, 256
GREEDY_TOKENS = 2048


def validation_ids(bundle, tokens: int) -> tuple[np.ndarray, str]:
    """Up to ``tokens`` validation ids of a language model's run, and where they came from."""
    try:
        data = from_dict(DataConfig, bundle.config["data"])
        corpus = prepare_corpus(data, bundle.tokenizer)
        ids = np.asarray(corpus.val_ids[: tokens + 1], dtype=np.int64)
        if len(ids) > CHECK_STREAMS * CHECK_CHUNKS * 2:
            return ids, "the validation text"
    except (RecurError, OSError, KeyError, ValueError, ImportError):
        pass  # the data moved or is gone: the model's own text stands in
    return _greedy_text(bundle.model, min(tokens, GREEDY_TOKENS)), "text the model wrote"


@torch.no_grad()
def _greedy_text(model, tokens: int) -> np.ndarray:
    state, token, ids = None, torch.tensor([[model.config.vocab_size - 1]]), []
    for _ in range(tokens):
        logits, state = model(token, state)
        token = logits[:, -1].argmax(-1, keepdim=True)
        ids.append(int(token))
    return np.array(ids, dtype=np.int64)


@torch.no_grad()
def language_difference(model, exported, ids: np.ndarray) -> float:
    """The largest |difference| between PyTorch's and the graph's logits and states; a state's
    relative to its largest value when that is over 1: an LSTM's cell state can grow to hundreds,
    where two correct fp32 kernels' rounding drifts apart by 1e-3 within a few hundred steps."""
    model.eval()
    usable = min(len(ids), CHECK_TOKENS) // CHECK_STREAMS * CHECK_STREAMS
    rows = torch.from_numpy(ids[:usable]).reshape(CHECK_STREAMS, -1)
    worst, state, state_onnx = 0.0, None, None
    for chunk in rows.tensor_split(CHECK_CHUNKS, dim=1):
        logits, state = model(chunk, state)
        logits_onnx, state_onnx = exported(chunk, state_onnx)
        worst = max(worst, _largest_difference(logits, logits_onnx))
        for tensor, tensor_onnx in zip(state, state_onnx):
            scale = max(1.0, tensor.abs().max().item())
            worst = max(worst, _largest_difference(tensor, tensor_onnx) / scale)
    return worst


def _largest_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a.double() - b.double()).abs().max().item()


@torch.no_grad()
def classifier_difference(model, exported, ids: list) -> float:
    """The largest |difference| between PyTorch's and the graph's class logits."""
    model.eval()
    padded, lengths = pad(ids)
    return (model(padded, lengths) - exported(padded, lengths)).abs().max().item()


def classifier_ids(bundle, count: int = 64) -> list:
    """Token id rows to check a classifier with: the last ``count`` texts of its data where they
    can be read, else rows of random ordinary tokens of varied lengths."""
    try:
        classifier = from_dict(ClassifierConfig, bundle.config["classifier"])
        data = from_dict(DataConfig, bundle.config["data"])
        texts = read_examples(data, classifier).texts[-count:]
        rules = Preprocessor(classifier, data.lowercase)
        encode = bundle.tokenizer.encode_array
        rows = [rules.cut(encode(rules.clean(text))) for text in texts]
        rows = [np.asarray(r, dtype=np.int64) for r in rows if len(r)]
        if rows:
            return rows
    except (RecurError, OSError, KeyError, ValueError, ImportError):
        pass
    generator = np.random.default_rng(0)
    vocab = bundle.tokenizer.vocab_size
    return [generator.integers(4, vocab, size=int(n)) for n in generator.integers(1, 60, count)]


@torch.no_grad()
def perplexity(exported, ids: np.ndarray) -> float:
    """Per-token perplexity of ``ids`` under the graph, read as parallel streams in chunks."""
    usable = (len(ids) - 1) // PERPLEXITY_STREAMS * PERPLEXITY_STREAMS
    if usable < PERPLEXITY_STREAMS:
        raise RecurError("too little validation text to measure a perplexity")
    inputs = torch.from_numpy(ids[:usable]).reshape(PERPLEXITY_STREAMS, -1)
    targets = torch.from_numpy(ids[1 : usable + 1]).reshape(PERPLEXITY_STREAMS, -1)
    total, state = 0.0, None
    for start in range(0, inputs.shape[1], PERPLEXITY_CHUNK):
        piece = slice(start, start + PERPLEXITY_CHUNK)
        loss, state = exported(inputs[:, piece], state, targets=targets[:, piece])
        total += loss.item() * targets[:, piece].numel()
    return math.exp(total / usable)


def label_agreement(first, second, ids: list) -> float:
    """The share of rows two classifiers give the same label."""
    padded, lengths = pad(ids)
    same = first(padded, lengths).argmax(-1) == second(padded, lengths).argmax(-1)
    return same.float().mean().item()
