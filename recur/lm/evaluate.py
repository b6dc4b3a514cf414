"""Evaluation of language models: loss, perplexity and bits per character over a whole text.

Every token after the first is predicted with the state carried from the start of the text, one
stream, as a reader would meet it (the standard language-model evaluation): ``stream_loss``.
Training validation reads the same targets as slices side by side (``sliced_loss``), which agrees
with the one stream to about 1e-5 nats on a character model at a quarter of the time; with
``--val-streams 1`` it is ``stream_loss`` itself, so ``recur evaluate`` on the validation slice
reproduces the logged figure exactly.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from recur.config.evaluate_options import EvaluateConfig
from recur.config.options import DataConfig, from_dict
from recur.data.documents import read_documents, resolve_mode, split_names
from recur.data.readers import read_text
from recur.data.streams import frame_documents
from recur.errors import RecurError
from recur.lm.adaptive import cache_loss, dynamic_loss
from recur.tokenizers import condition_token, count_words

EVAL_CHUNK = 4096


@torch.no_grad()
def stream_loss(model, ids: np.ndarray, device="cpu", chunk: int = EVAL_CHUNK) -> tuple[float, int]:
    """Summed cross-entropy (nats) of ids[1:] given everything before them, and the token count."""
    was_training = model.training
    model.eval()
    total, count, state = 0.0, 0, None
    # Long chunks through one nn.LSTM call: oneDNN is fast here (unlike one-step calls).
    for start in range(0, len(ids) - 1, chunk):
        piece = torch.from_numpy(np.asarray(ids[start : start + chunk + 1], dtype=np.int64))
        piece = piece.to(device)[None]  # (1, T + 1)
        loss, state = model(piece[:, :-1], state, targets=piece[:, 1:])  # mean over T
        total += loss.item() * (piece.shape[1] - 1)
        count += piece.shape[1] - 1
    model.train(was_training)
    return total, count


WARMUP_TOKENS = 256  # tokens each slice of sliced_loss reads before it counts any loss
LOGIT_ELEMENTS = 1 << 23  # sliced_loss keeps at most this many logits at once (32 MB in fp32)
CALL_TOKENS = 1 << 12  # and feeds at most this many tokens per call: the recurrent layers'
# buffers grow with B x T (a 2x256 GRU's training run peaked at
# 1.1 GB with 32 x 4096, 428 MB with 32 x 128, 404 MB with 1 stream)


@torch.no_grad()
def sliced_loss(
    model, ids: np.ndarray, device="cpu", streams: int = 32, warmup: int = WARMUP_TOKENS
) -> tuple[float, int]:
    """``stream_loss`` read as ``streams`` slices side by side: the same targets, each slice
    after the first starting ``warmup`` tokens early with a fresh state and not counting those.

    One stream at batch 1 runs one small product per token and layer; ``streams`` rows run that
    many tokens per product at nearly the same cost. A character model's state holds little
    beyond a few hundred characters: on tiny Shakespeare's validation slice (111,539 tokens, a
    2x256 GRU trained 3 minutes) 32 slices gave 1.42744 like the one stream, in 1.4 s against
    5.7 s. With fewer than ``4 * warmup`` tokens per slice this falls back to one stream.
    Rows are padded at the end to one length; padding and warm-up are masked out."""
    targets = len(ids) - 1
    if streams <= 1 or targets < streams * 4 * warmup:
        return stream_loss(model, ids, device)
    was_training = model.training
    model.eval()
    tokens = torch.from_numpy(np.asarray(ids, dtype=np.int64))
    share = targets // streams
    ends = [share * (k + 1) for k in range(streams - 1)] + [targets]  # last slice: the rest
    starts = [0] + [share * k - warmup for k in range(1, streams)]  # input position of row 0
    length = max(end - start for start, end in zip(starts, ends))
    rows = torch.zeros(streams, length + 1, dtype=torch.int64)
    counted = torch.zeros(streams, length, dtype=torch.bool)
    for k, (start, end) in enumerate(zip(starts, ends)):
        rows[k, : end - start + 1] = tokens[start : end + 1]
        counted[k, (0 if k == 0 else warmup) : end - start] = True
    total, state = 0.0, None
    chunk = max(
        1,
        min(
            EVAL_CHUNK,
            CALL_TOKENS // streams,
            LOGIT_ELEMENTS // (streams * model.config.vocab_size),
        ),
    )
    for at in range(0, length, chunk):
        piece = rows[:, at : at + chunk + 1].to(device)
        logits, state = model(piece[:, :-1], state)  # (K, T, V)
        losses = torch.nn.functional.cross_entropy(
            logits.float().flatten(0, 1), piece[:, 1:].flatten(), reduction="none"
        )
        total += losses[counted[:, at : at + chunk].flatten().to(device)].sum().item()
    model.train(was_training)
    return total, targets


def metrics(total_nats: float, tokens: int, characters: int, words: int | None = None) -> dict:
    """Per-token loss and perplexity, plus bits per character (and perplexity per word) for
    comparing token levels: the same text has the same characters and words at every level."""
    loss = total_nats / max(tokens, 1)
    result = {
        "loss": loss,
        "perplexity": math.exp(min(loss, 700.0)),
        "bits_per_char": total_nats / max(characters, 1) / math.log(2),
        "tokens": tokens,
    }
    if words is not None:
        result["word_perplexity"] = math.exp(min(total_nats / max(words, 1), 700.0))
        result.update(characters=characters, words=words)
    return result


def _report(
    bundle, ids: np.ndarray, characters: int, words: int, device, how: EvaluateConfig | None
) -> dict:
    if len(ids) < 2:
        raise RecurError("the text to evaluate needs at least two tokens")
    how = how or EvaluateConfig()
    level = bundle.config.get("data", {}).get("level", "char")
    if how.dynamic and how.cache:
        raise RecurError("choose one of --dynamic and --cache")
    if how.dynamic:
        total, count = dynamic_loss(bundle.model, ids, how, level, device)
    elif how.cache:
        total, count = cache_loss(bundle.model, ids, how, device)
    else:
        total, count = stream_loss(bundle.model, ids, device)
    result = metrics(total, count, characters, words)
    result["level"] = level
    if how.dynamic or how.cache:
        result["method"] = "dynamic" if how.dynamic else "cache"
    # Unknown tokens are predicted as <unk>, which flatters a word model on foreign text.
    result["unknown_tokens"] = int(np.count_nonzero(np.asarray(ids) == bundle.tokenizer.unk_id))
    return result


def evaluate_text(bundle, text: str, device="cpu", how: EvaluateConfig | None = None) -> dict:
    """Metrics of ``bundle``'s language model on ``text`` read as one stream."""
    ids = bundle.tokenizer.encode_array(text)
    # Characters predicted: every one after the first token's.
    characters = len(text) - len(bundle.tokenizer.decode(ids[:1].tolist()))
    return _report(bundle, ids, characters, count_words(text), device, how)


def evaluate_path(
    bundle, path, encoding: str = "utf-8", device="cpu", how: EvaluateConfig | None = None
) -> dict:
    """Metrics on a file: plain text as one stream, or, for a document model, the file's
    documents framed as in training (same columns, --where and conditions)."""
    saved = bundle.config.get("data", {})
    if saved.get("documents", "none") in ("none", "auto"):
        return evaluate_text(bundle, read_text(Path(path), encoding), device, how)
    data = from_dict(
        DataConfig,
        {**saved, "paths": [str(path)], "encoding": encoding, "glob": "*", "corpus": None},
    )
    data.documents = (
        resolve_mode(data, [Path(path)]) if saved["documents"] == "rows" else saved["documents"]
    )
    documents = read_documents(data, data.documents)
    columns = split_names(data.condition_column)
    for values in documents.conditions:
        for column in columns:
            if bundle.tokenizer.condition_id(condition_token(column, values[column])) is None:
                raise RecurError(f"{path}: {column} {values[column]!r} was not in training")
    ids = frame_documents(
        bundle.tokenizer, documents.texts, documents.conditions, columns, data.condition_every_line
    )
    characters = sum(len(text) + 1 for text in documents.texts)
    words = sum(count_words(text) for text in documents.texts)
    return _report(bundle, ids, characters, words, device, how)
