"""The language-model task (kind "lm", or "music" over MIDI events): what the one ``Trainer``
asks of a language-model run.

Stateful truncated BPTT over B parallel streams per rank (data/streams.py): the hidden state is
carried from one chunk to the next and dropped when a new epoch lays out new streams. Validation
is the loss over the validation stream (capped at ``--max-val-tokens``), lower is better; after
each one a few short samples are printed. Exact resume keeps each rank's carried hidden state and
a fingerprint of the training ids, which catches changed data.
"""

from __future__ import annotations

import functools
import time

import torch

from recur.config.options import DataConfig, ModelConfig, SampleConfig, TrainConfig, to_dict
from recur.data.streams import StreamBatches, line_end_id
from recur.errors import RecurError
from recur.generate.conditions import start_rows
from recur.generate.loop import generate
from recur.lm.corpus import Corpus
from recur.lm.evaluate import metrics, sliced_loss
from recur.models.language_model import build_model
from recur.runs.logbook import peak_memory_mb
from recur.runs.trainer_state import fingerprint
from recur.training.distributed import Group
from recur.training.task import Score

HIDDEN_TENSORS = 3  # an LSTM carries (h, c); a conditioned model also its condition rows


class LanguageModelTask:
    """A language model trained on a ``Corpus``."""

    higher_is_better = False
    auto_eval = "progress"

    def __init__(self, configs: dict, corpus: Corpus, group: Group):
        self.data: DataConfig = configs["data"]
        self.train: TrainConfig = configs["train"]
        self.model_config: ModelConfig = configs["model"]
        self.corpus, self.tokenizer = corpus, corpus.tokenizer
        self.kind = "music" if self.data.midi else "lm"
        self.tags: dict = {}
        self.batches = StreamBatches(
            corpus.train_ids,
            self.data.batch_size,
            self.data.seq_length,
            self.train.seed,
            group.rank,
            group.world_size,
        )
        self.hidden: tuple | None = None
        self.device = torch.device("cpu")

    def build_model(self) -> torch.nn.Module:
        return build_model(self.model_config)

    def lr_scales(self, model) -> dict:
        return {}  # one learning rate for every parameter

    def start(self, trainer) -> None:
        self.device = trainer.device

    def config_dict(self) -> dict:
        return {
            "kind": self.kind,
            "model": to_dict(self.model_config),
            "data": to_dict(self.data),
            "train": to_dict(self.train),
        }

    def batch_count(self, epoch: int) -> int:
        return self.batches.chunks_per_epoch(epoch)

    def batch(self, epoch: int, index: int) -> tuple:
        x, y = self.batches.chunk(epoch, index)
        return x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)

    def new_epoch(self) -> None:
        self.hidden = None  # new streams

    def loss(self, network, batch: tuple, step: int) -> tuple[torch.Tensor, int]:
        x, y = batch
        if self.hidden is not None:
            self.hidden = tuple(h.detach() for h in self.hidden)  # truncate BPTT here
        loss, hidden = network(x, self.hidden, targets=y)  # mean over (B, T)
        # carried in fp32; condition rows (integers) stay
        self.hidden = tuple(h.float() if h.is_floating_point() else h for h in hidden)
        return loss, y.numel()

    def validate(self, trainer) -> Score | None:
        if len(self.corpus.val_ids) < 2:
            return None
        ids, characters = self.validation_slice
        total, count = sliced_loss(trainer.model, ids, trainer.device, self.train.val_streams)
        result = metrics(total, count, characters)
        unit = "event" if self.kind == "music" else "char"
        record = {
            "tokens": trainer.tokens,
            "time": round(trainer.elapsed, 3),
            "val_loss": result["loss"],
            "val_perplexity": result["perplexity"],
            "val_bits_per_char": result["bits_per_char"],
        }
        text = (
            f"step {trainer.step}: validation loss {result['loss']:.4f} "
            f"(perplexity {result['perplexity']:.2f}, {result['bits_per_char']:.3f} bits/{unit})"
        )
        return Score(result["loss"], record, text)

    @functools.cached_property
    def validation_slice(self) -> tuple:
        """The validation ids (capped at ``max_val_tokens``) and the characters they predict;
        worked out once, at the first validation."""
        ids, limit = self.corpus.val_ids, self.train.max_val_tokens
        if not limit or len(ids) <= limit:
            return ids, self.corpus.val_characters
        ids = ids[:limit]
        return ids, len(self.tokenizer.decode(ids[1:].tolist()))

    def after_validation(self, trainer, score: Score, improved: bool) -> bool:
        if self.train.samples > 0:
            for text in self.samples(trainer.model):
                trainer.log.say("  | " + text.strip().replace("\n", "\n  | ")[:600])
        return False

    def samples(self, model) -> list[str]:
        starts, refresh = None, None
        if self.data.documents not in ("none", "auto"):  # documents start at <bos>
            generator = torch.Generator().manual_seed(0)
            starts = start_rows(
                self.tokenizer, self.data.conditions, {}, self.train.samples, generator
            )[0]
            if self.data.condition_every_line and self.data.conditions:
                refresh = line_end_id(self.tokenizer)
        return generate(
            model,
            self.tokenizer,
            SampleConfig(length=160, num_samples=self.train.samples, seed=self.train.seed),
            device=self.device,
            end_at_eos=starts is not None,
            starts=starts,
            refresh=refresh,
        ).texts

    def finish(self, trainer, finished: bool) -> None:
        peak = peak_memory_mb()
        trainer.log.say(
            f"done: {trainer.step} steps, {trainer.tokens:,} tokens in {trainer.elapsed:.1f} s "
            f"of training ({time.perf_counter() - trainer.started:.1f} s of wall time in this "
            f"session); last step loss {trainer.last_loss:.6f}; best validation loss "
            f"{trainer.best:.4f}"
            + (f"; peak memory {peak:,.0f} MB" if peak else "")
            + (f"; GPU peak {gpu_peak:,.0f} MB" if (gpu_peak := self.gpu_peak_mb()) else "")
        )

    def gpu_peak_mb(self) -> float | None:
        if self.device.type != "cuda":
            return None
        return torch.cuda.max_memory_allocated(self.device) / 2**20

    def rank_state(self) -> dict:
        return {f"hidden.{i}": h.detach().cpu() for i, h in enumerate(self.hidden or ())}

    def restore_rank_state(self, tensors: dict | None) -> None:
        names = [f"hidden.{i}" for i in range(HIDDEN_TENSORS)]
        hidden = [tensors[name] for name in names if name in tensors] if tensors else []
        self.hidden = tuple(h.to(self.device) for h in hidden) or None

    @functools.cached_property
    def data_fingerprint(self) -> str:
        """The training ids' fingerprint: computed once, saved with every ``last/``."""
        return fingerprint(self.corpus.train_ids)

    def extra_state(self) -> tuple[dict, dict]:
        return {"data_fingerprint": self.data_fingerprint}, {}

    def restore_extra_state(self, scalars: dict, tensors: dict) -> None:
        if scalars["data_fingerprint"] != self.data_fingerprint:
            raise RecurError(
                "the training data changed since this run started; resume needs the "
                "same files (or start a new run)"
            )
