"""The Python API, mirroring the CLI: ``recur.train(...)``, ``recur.load(run)``, and the loaded
model's ``.generate(...)`` and ``.evaluate(...)`` (a classifier's ``.predict(...)``,
``.evaluate(path)`` and ``.predict_file(...)``). ``label_column=`` makes ``train`` fit a
classifier."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from recur.config.options import (
    CHARACTER_DEFAULTS,
    CONDITIONAL_DEFAULTS,
    LONG_BUDGET_DEFAULTS,
    LONG_BUDGET_SECONDS,
    SAVED_MODEL_FALLBACKS,
    ClassifierConfig,
    DataConfig,
    ModelConfig,
    MusicConfig,
    SampleConfig,
    TrainConfig,
    from_dict,
    parse_duration,
)
from recur.errors import RecurError

SECTIONS = {"model": ModelConfig, "data": DataConfig, "train": TrainConfig}
CLASSIFIER_SECTIONS = {**SECTIONS, "classifier": ClassifierConfig}
FIXED_ON_RESUME = ("model", "data", "classifier")
# Music runs start from the model that met the music bars (10 of 10 valid pieces on the Final
# Fantasy set and the Bach chorales after 10 minutes); options the user gives still win. Text
# defaults (a GRU 2x256) overfit the small MIDI sets and repeated notes more often (8 of 10).
MUSIC_DEFAULTS = {"cell": "lstm", "hidden_size": 384, "embedding_size": 384, "lr": 4e-3}
# Classifiers start from what met the classification bars: words seen twice or more (case kept:
# it is worth 0.978 -> 0.993 accuracy on click-bait headlines),
# one bidirectional GRU layer with max pooling, dropout, 10 epochs with early stopping. GRU rather
# than LSTM: lyrics3, --ensemble 3 --time 10m, 2 threads, test macro-F1 on three splits 0.7639,
# 0.7513, 0.7621 against 0.7556, 0.7429, 0.7516; AG News (--ensemble 10 recipe) 0.8111 against
# 0.8124; click-bait 0.9944 against 0.9952.
CLASSIFIER_DEFAULTS = {
    "level": "word",
    "min_count": 2,
    "cell": "gru",
    "num_layers": 1,
    "hidden_size": 256,
    "embedding_size": 128,
    "dropout": 0.3,
    "lr": 3e-3,
    "warmup_steps": 20,
    "epochs": 10.0,
}


def _field_section(name: str, sections: dict = CLASSIFIER_SECTIONS) -> str:
    for section, cls in sections.items():
        if name in {f.name for f in dataclasses.fields(cls)}:
            return section
    raise RecurError(f"unknown training option {name!r}")


def build_configs(options: dict, base: dict | None = None, sections: dict = SECTIONS) -> dict:
    """Dataclass configs from defaults < ``base`` (a config file's or a run's dict) < ``options``."""
    values = {section: dict((base or {}).get(section, {})) for section in sections}
    for name, value in options.items():
        section = _field_section(name)
        if section not in sections:
            flag = "--" + name.replace("_", "-")
            raise RecurError(f"{flag} is for classifiers (give --label-column)")
        values[section][name] = value
    return {section: from_dict(cls, values[section]) for section, cls in sections.items()}


def resume_configs(run_dir, options: dict) -> dict:
    """The saved run's configs; a model or data option that differs from them is an error."""
    path = Path(run_dir) / "last" / "config.json"
    if not path.is_file():
        raise RecurError(f"{run_dir}: nothing to resume (no last/config.json)")
    saved = json.loads(path.read_text(encoding="utf-8"))
    saved["train"]["stop_after"] = None  # a pause point belongs to one invocation
    sections = CLASSIFIER_SECTIONS if saved.get("task") == "classify" else SECTIONS
    saved["model"] = {**SAVED_MODEL_FALLBACKS, **saved["model"]}
    for name, value in options.items():
        section = _field_section(name, sections)
        old = saved[section].get(name)
        if section in FIXED_ON_RESUME and value != old and not (name == "paths" and not value):
            flag = "--" + name.replace("_", "-")
            raise RecurError(
                f"{flag} {value} conflicts with the run's saved {name} = {old}; "
                "drop the flag to resume, or start a new run"
            )
    options = {k: v for k, v in options.items() if _field_section(k) == "train"}
    return build_configs(options, saved, sections)


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
    if resume:
        configs = resume_configs(resume, options)
        if "classifier" in configs:
            return load(_fit_classifier(configs, resume, quiet))
    elif _is_classifier(options, config):
        configs = classifier_configs(options, config)
        return load(_fit_classifier(configs, None, quiet))
    else:
        base = json.loads(Path(config).read_text()) if config else None
        configs = build_configs(options, base)
        defaults = _kind_defaults(configs["data"], configs["train"])
        if defaults:
            chosen = set(options) | {k for section in (base or {}).values() for k in section}
            kind = {k: v for k, v in defaults.items() if k not in chosen}
            configs = build_configs({**kind, **options}, base)
    run_dir = fit(configs["data"], configs["model"], configs["train"], resume=resume, quiet=quiet)
    return load(run_dir)


def classifier_configs(options: dict, config: str | None = None) -> dict:
    """The configs of a new classifier run: CLASSIFIER_DEFAULTS under the options given and the
    sections of the ``config`` file."""
    base = json.loads(Path(config).read_text()) if config else None
    chosen = set(options) | {
        k for section in (base or {}).values() if isinstance(section, dict) for k in section
    }
    # --steps replaces the default epoch count; --time keeps it as a cap, so the schedule
    # still decays when a small set needs less than the budget (--patience used to stop
    # such runs at a high learning rate: AG News, ensemble of five, 0.7400 -> 0.7575).
    if "steps" in chosen:
        chosen.add("epochs")
    defaults = {k: v for k, v in CLASSIFIER_DEFAULTS.items() if k not in chosen}
    return build_configs({**defaults, **options}, base, CLASSIFIER_SECTIONS)


def _is_classifier(options: dict, config: str | None) -> bool:
    """A label column, a labelled built-in corpus, or a config file with a classifier section."""
    if options.get("label_column"):
        return True
    if options.get("corpus"):
        from recur.data.corpora import get_corpus

        return get_corpus(options["corpus"]).kind == "labelled"
    if config:
        return bool(json.loads(Path(config).read_text()).get("classifier", {}).get("label_column"))
    return False


def _fit_classifier(configs: dict, resume, quiet: bool):
    from recur.classify.fit import fit_classifier

    return fit_classifier(configs, resume=resume, quiet=quiet)


def _kind_defaults(data, train) -> dict:
    """Starting values for a kind of run, under the options given: music, conditional
    documents of characters or words (see config.CONDITIONAL_DEFAULTS), a character model
    with a long time budget (config.LONG_BUDGET_DEFAULTS), or any other character model
    (config.CHARACTER_DEFAULTS)."""
    if _is_music(data):
        return MUSIC_DEFAULTS
    if data.condition_column and data.level in ("char", "word"):
        return CONDITIONAL_DEFAULTS
    if (
        data.level == "char"
        and train.time
        and train.steps is None
        and train.epochs is None
        and _seconds(train.time) >= LONG_BUDGET_SECONDS
    ):
        return LONG_BUDGET_DEFAULTS
    if data.level == "char":
        return CHARACTER_DEFAULTS
    return {}


def _seconds(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError:
        return 0.0  # make_plan reports the bad duration


def _is_music(data) -> bool:
    from recur.music.runs import is_music

    return is_music(data)


def load(run, device: str = "cpu"):
    """Load a run directory (its best/ checkpoint, else last/) or a checkpoint directory: a
    ``Model`` for a language model or music (kinds "lm", "music"), a ``classify.use.Classifier``
    for a classifier (kind "classifier"); see runs/kinds.py."""
    from recur.runs.checkpoint import load as load_bundle

    bundle = load_bundle(run, device)
    if bundle.kind == "classifier":
        from recur.classify.use import Classifier

        return Classifier(bundle, device)
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
        from recur.music.runs import generate_midi

        if not self.is_music:
            raise RecurError(f"{self.path}: not a MIDI run; --out and --prime-midi are for music")
        music_names = {f.name for f in dataclasses.fields(MusicConfig)}
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
        self, text: str | None = None, path: str | None = None, encoding: str = "utf-8"
    ) -> dict:
        """Loss and perplexity per token, perplexity per word and bits per character on ``text``
        or the file at ``path`` (a document model reads a CSV/JSONL file's documents); for a MIDI
        run, loss per event on MIDI files (``path``: a file or folder) and the unigram baseline."""
        from recur.lm.evaluate import evaluate_path, evaluate_text

        if (text is None) == (path is None):
            raise RecurError("give exactly one of text= or path=")
        if self.is_music:
            from recur.music.runs import evaluate_midi

            if path is None:
                raise RecurError("a MIDI run evaluates MIDI files: give path=")
            return evaluate_midi(self.bundle, path, self.device)
        if text is None:
            return evaluate_path(self.bundle, path, encoding, self.device)
        return evaluate_text(self.bundle, text, self.device)
