"""Batching for language models: a contiguous id array -> B parallel streams -> (B, T) chunks.

The training text is cut into B equal streams laid side by side, and each chunk of T steps
continues the one before it, so the hidden state can be carried (and detached) between chunks:

    ids:  a b c d e f g h i j k l m n o p q r s t u v w x      (B = 4 streams of L = 6)

          stream 0 | a b c | d e f |      chunk 0 = columns 0..2 (T = 3), chunk 1 = columns 3..5
          stream 1 | g h i | j k l |      targets are the same picture shifted by one id
          stream 2 | m n o | p q r |
          stream 3 | s t u | v w x |

Each epoch starts the streams at a new offset in [0, T) (epoch 0 at 0), so chunk boundaries move
and no text is always cut at the same place. The last chunk of an epoch is shorter than T when L is
not a multiple of T; it is used, not dropped. Only the final ``len % B`` ids (fewer than B) of an
epoch's streams are left out. Works on in-memory arrays and on ids read from disk (TokenFile).
"""

from __future__ import annotations

import numpy as np
import torch

from recur.errors import RecurError
from recur.tokenizers import condition_token


def split_ids(ids: np.ndarray, val_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Contiguous split: the last ``val_fraction`` of the ids is validation (as nanoGPT does)."""
    cut = int(len(ids) * (1.0 - val_fraction))
    return ids[:cut], ids[cut:]


def split_text(text: str, val_fraction: float) -> tuple[str, str]:
    cut = int(len(text) * (1.0 - val_fraction))
    return text[:cut], text[cut:]


class StreamBatches:
    """Chunks of B parallel streams for stateful truncated backpropagation through time."""

    def __init__(
        self,
        ids: np.ndarray,
        batch_size: int,
        seq_length: int,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ):
        # With several processes the text holds world_size * B streams; rank r reads its own B.
        streams = batch_size * world_size
        if len(ids) < streams * 2 + seq_length:
            raise RecurError(
                f"only {len(ids)} training tokens: too few for {streams} streams of "
                f"{seq_length}; lower --batch-size or --seq-length, or add text"
            )
        self.ids, self.batch_size, self.seq_length, self.seed = ids, batch_size, seq_length, seed
        self.rank, self.world_size = rank, world_size

    def offset(self, epoch: int) -> int:
        if epoch == 0:
            return 0
        return int(np.random.default_rng([self.seed, epoch]).integers(self.seq_length))

    def stream_length(self, epoch: int) -> int:
        return (len(self.ids) - self.offset(epoch) - 1) // (self.batch_size * self.world_size)

    def chunks_per_epoch(self, epoch: int = 0) -> int:
        return -(-self.stream_length(epoch) // self.seq_length)

    def chunk(self, epoch: int, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs and targets of chunk ``index`` of ``epoch``: two (B, T) int64 tensors."""
        start, length = self.offset(epoch), self.stream_length(epoch)
        begin = index * self.seq_length
        end = min(begin + self.seq_length, length)
        # Stream b holds ids[start + b*L : start + (b+1)*L]; one extra id gives the last target.
        # Reading B small slices (not one big view) also works on ids kept on disk.
        first = self.rank * self.batch_size
        rows = np.stack(
            [
                np.asarray(self.ids[start + b * length + begin : start + b * length + end + 1])
                for b in range(first, first + self.batch_size)
            ]
        )
        batch = torch.from_numpy(rows.astype(np.int64))
        return batch[:, :-1], batch[:, 1:]


def frame_documents(
    tokenizer, texts: list, conditions: list, columns: list, every_line: bool = False
) -> np.ndarray:
    """Documents -> one id stream, each framed ``<bos> <column=value>... text <eos>``; with
    ``every_line`` the condition tokens also follow every line end inside a document."""
    newline = line_end_id(tokenizer) if every_line and columns else None
    pieces = [
        frame_one(tokenizer, text, values, columns, newline)
        for text, values in zip(texts, conditions)
    ]
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int32)


def frame_one(tokenizer, text: str, values: dict, columns: list, newline) -> np.ndarray:
    """One document's ids, framed; the condition tokens repeat after each ``newline`` id."""
    marks = np.array(
        [tokenizer.condition_id(condition_token(c, values[c])) for c in columns], dtype=np.int32
    )
    body = tokenizer.encode_array(text)
    if newline is not None:
        parts = np.split(body, np.flatnonzero(body == newline) + 1)
        body = np.concatenate([parts[0]] + [np.concatenate([marks, p]) for p in parts[1:]])
    framed = [np.array([tokenizer.bos_id], dtype=np.int32), marks, body]
    return np.concatenate(framed + [np.array([tokenizer.eos_id], dtype=np.int32)])


def line_end_id(tokenizer) -> int | None:
    """The id of the line-end token (char and word levels; BPE merges line ends into others);
    None when the training text had no line ends (there is nothing to repeat the condition at)."""
    index = getattr(tokenizer, "index", None)
    if index is None:
        raise RecurError("--condition-every-line needs char or word level text with line ends")
    return index.get("\n")


def split_documents(count: int, val_fraction: float, seed: int = 0) -> tuple[list, list]:
    """Document indices for training and validation: a seeded shuffle, then the last fraction.

    Shuffling first keeps sorted files (all of one genre, then the next) from putting a whole
    class into validation."""
    order = np.random.default_rng(seed).permutation(count).tolist()
    held = int(round(count * val_fraction))
    if val_fraction > 0 and count > 1:
        held = min(max(held, 1), count - 1)
    return order[: count - held], order[count - held :]
