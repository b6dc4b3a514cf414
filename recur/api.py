"""The Python API, mirroring the CLI: ``recur.train(...)``, ``recur.load(run)``, and the loaded
model's ``.generate(...)`` and ``.evaluate(...)`` (a classifier's ``.predict(...)``,
``.evaluate(path)`` and ``.predict_file(...)``). ``label_column=`` makes ``train`` fit a
classifier; ``target=`` or ``forecast=`` a numeric-sequence run (``series.use.SeriesModel``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from recur.config.options import MusicConfig, SampleConfig, from_dict
from recur.config.presets import CLASSIFIER, FORECAST, SERIES
from recur.errors import RecurError, UsageError
from recur.runs.configs import build_configs, classifier_configs, resume_configs, train_configs

__all__ = ["build_configs", "classifier_configs", "load", "resume_configs", "train", "Model"]


def train(
    *paths: str,
    resume: str | None = None,
    config: str | None = None,
    quiet: bool = False,
    **options,
) -> Model:
    """Train a language model on files/folders (or ``corpus=NAME``) and return it loaded.

    Options are the fields of ModelConfig, DataConfig and TrainConfig (``hidden_size=256``,
    ``time="3m"``, ...). ``config`` names a JSON file with "model"/"data"/"train" sections.
    """
    from recur.lm.fit import fit

    if paths:
        options["paths"] = [str(p) for p in paths]
    kind, configs = train_configs(options, config, resume, gpu=_on_gpu(options))
    if kind == CLASSIFIER:
        return load(_fit_classifier(configs, resume, quiet))
    if kind in (SERIES, FORECAST):
        from recur.series.fit import fit_series

        return load(fit_series(configs, resume=resume, quiet=quiet))
    run_dir = fit(configs["data"], configs["model"], configs["train"], resume=resume, quiet=quiet)
    return load(run_dir)


def _on_gpu(options: dict) -> bool:
    """Whether the run trains on a CUDA device (``device`` as given, auto by default)."""
    from recur.runs.devices import device_name

    return device_name(options.get("device", "auto")).startswith("cuda")


def _fit_classifier(configs: dict, resume, quiet: bool):
    from recur.classify.fit import fit_classifier

    return fit_classifier(configs, resume=resume, quiet=quiet)


def load(run, device: str = "auto"):
    """Load a run directory (its best/ checkpoint, else last/), a checkpoint directory or an
    export folder (``recur export``'s, run through onnxruntime): a ``Model`` for a language model
    or music (kinds "lm", "music"), a ``classify.use.Classifier`` for a classifier (kind
    "classifier"); see runs/kinds.py. ``device``: cpu, cuda, cuda:N or auto (a GPU when PyTorch
    sees one; runs/devices.py)."""
    from recur.export.runtime import is_export, load_export
    from recur.runs.checkpoint import load as load_bundle
    from recur.runs.devices import device_name

    if is_export(run):  # recur export's folder runs through onnxruntime, on the CPU
        bundle, device = load_export(run), "cpu"
    else:
        device = device_name(device)
        bundle = load_bundle(run, device)
    if bundle.kind == "classifier":
        from recur.classify.use import Classifier

        return Classifier(bundle, device)
    if bundle.kind == "series":
        from recur.series.use import SeriesModel

        return SeriesModel(bundle, device)
    return Model(bundle, device)


class Model:
    """A trained language model with its tokenizer and config."""

    def __init__(self, bundle, device="cpu"):
        self.bundle, self.device = bundle, device

    @property
    def path(self) -> Path:
        return self.bundle.path

    def generate(self, prime: str = "", **options) -> list[str]:
        """Samples as strings; options are SampleConfig's fields (``num_samples``, ``top_p``...)."""
        return self.generate_full(prime=prime, **options).texts

    def generate_full(self, **options):
        """A ``Generation``: texts, seed, and for document models the conditions used and the
        novelty report (share of outputs not found among the training documents)."""
        from recur.generate.documents import generate_for_run

        sample = from_dict(SampleConfig, options)
        unknown = set(options) - {f.name for f in dataclasses.fields(SampleConfig)}
        if unknown:
            raise RecurError(f"unknown generation option(s): {', '.join(sorted(unknown))}")
        return generate_for_run(self.bundle, sample, self.device)

    @property
    def kind(self) -> str:
        """The run's kind: lm or music (runs/kinds.py)."""
        return self.bundle.kind

    @property
    def is_music(self) -> bool:
        return self.kind == "music"

    def generate_midi(self, out: str | None = None, **options) -> list[dict]:
        """Write sampled pieces as MIDI (+ piano-roll PNG); options are SampleConfig's and
        MusicConfig's fields. Returns one dict per piece (paths, events, notes, seed)."""
        from recur.music.compose import generate_midi

        if not self.is_music:
            raise RecurError(f"{self.path}: not a MIDI run; --out and --prime-midi are for music")
        music_names = {f.name for f in dataclasses.fields(MusicConfig)}
        if options.get("condition"):
            raise UsageError(f"--condition: {self.path} is a music run; it has no conditions")
        music = from_dict(MusicConfig, {"out": out, **options})
        sample = {k: v for k, v in options.items() if k not in music_names}
        unknown = set(sample) - {f.name for f in dataclasses.fields(SampleConfig)}
        if unknown:
            raise RecurError(f"unknown generation option(s): {', '.join(sorted(unknown))}")
        sample = dataclasses.asdict(from_dict(SampleConfig, sample))
        # Music samples whole pieces of events: the document options (conditions, word bounds,
        # beam search) do not apply.
        music_sample = (
            "prime",
            "length",
            "num_samples",
            "temperature",
            "top_k",
            "top_p",
            "seed",
            "precision",
        )
        return generate_midi(self.bundle, {k: sample[k] for k in music_sample}, music, self.device)

    def evaluate(
        self,
        text: str | None = None,
        path: str | None = None,
        encoding: str = "utf-8",
        **options,
    ) -> dict:
        """Loss and perplexity per token, perplexity per word and bits per character on ``text``
        or the file at ``path`` (a document model reads a CSV/JSONL file's documents); for a MIDI
        run, loss per event on MIDI files (``path``: a file or folder) and the unigram baseline.
        ``options``: EvaluateConfig's fields (dynamic=True, cache=True and their settings)."""
        from recur.config.evaluate_options import EvaluateConfig
        from recur.config.fields import from_dict
        from recur.lm.evaluate import evaluate_path, evaluate_text

        unknown = sorted(set(options) - {f.name for f in dataclasses.fields(EvaluateConfig)})
        if unknown:
            raise RecurError(f"unknown evaluation option {unknown[0]!r}; see recur evaluate --help")
        how = from_dict(EvaluateConfig, options)
        if (text is None) == (path is None):
            raise RecurError("give exactly one of text= or path=")
        if self.is_music:
            from recur.music.compose import evaluate_midi

            if path is None:
                raise RecurError("a MIDI run evaluates MIDI files: give path=")
            return evaluate_midi(self.bundle, path, self.device)
        if text is None:
            return evaluate_path(self.bundle, path, encoding, self.device, how)
        return evaluate_text(self.bundle, text, self.device, how)
