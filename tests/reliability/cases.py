"""The table of bad inputs: one row per case, run against ``recur.cli.main``.

A case is argv with placeholders: {tmp} (the case's own folder), {lm}, {documents}, {music},
{classifier} (copies of tests/fixtures/runs), {run} (a copy of a freshly trained tiny run with
best/, last/ and checksums). ``files`` are written under {tmp} first; ``edit`` changes a copied
run before the command. A new command's cases (serve, export, inspect) are one more row each.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

USAGE, DATA = 2, 1
MARKER = "PWNED"  # the file the hostile pickle would create if it were ever run


@dataclass
class Case:
    name: str
    argv: str
    code: int
    fragment: str
    files: dict = field(default_factory=dict)
    edit: Callable[[Path], None] | None = None  # called with {tmp}


def usage(name, argv, fragment, **extra) -> Case:
    return Case(name, argv, USAGE, fragment, **extra)


def data(name, argv, fragment, **extra) -> Case:
    return Case(name, argv, DATA, fragment, **extra)


class Hostile:
    """Unpickling this runs a command that creates {tmp}/PWNED."""

    def __init__(self, target: str):
        self.target = target

    def __reduce__(self):
        return (exec, (f"open({self.target!r}, 'w').write('ran')",))


def hostile_pickle(tmp: Path) -> bytes:
    return pickle.dumps(Hostile(str(tmp / MARKER)))


def _put(relative: str, content) -> Callable[[Path], None]:
    def edit(tmp: Path) -> None:
        path = tmp / relative
        if callable(content):
            path.write_bytes(content(tmp))
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")

    return edit


def _json_edit(relative: str, change: Callable[[dict], object]) -> Callable[[Path], None]:
    def edit(tmp: Path) -> None:
        path = tmp / relative
        config = json.loads(path.read_text(encoding="utf-8"))
        result = change(config)
        path.write_text(json.dumps(config if result is None else result), encoding="utf-8")

    return edit


def _truncate(relative: str, keep: float) -> Callable[[Path], None]:
    def edit(tmp: Path) -> None:
        path = tmp / relative
        content = path.read_bytes()
        path.write_bytes(content[: int(len(content) * keep)])

    return edit


def _flip_byte(relative: str) -> Callable[[Path], None]:
    def edit(tmp: Path) -> None:
        path = tmp / relative
        content = bytearray(path.read_bytes())
        content[len(content) // 2] ^= 0xFF
        path.write_bytes(bytes(content))

    return edit


def _remove(relative: str) -> Callable[[Path], None]:
    return lambda tmp: (tmp / relative).unlink()


TEXT = "the cat sat on the mat.\n" * 40
CSV = "text,label\n" + "".join(f"{w} is here,{'ab'[i % 2]}\n" for i, w in enumerate(TEXT.split()))
TINY = "--hidden-size 8 --embedding-size 8 --num-layers 1 --steps 2 --threads 1 --samples 0 --quiet"
TRAIN = f"train {{tmp}}/t.txt --out {{tmp}}/out {TINY}"
T = {"t.txt": TEXT}
RESUME = "--steps 6 --threads 1 --samples 0 --quiet"
MIDI_BROKEN = b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\x10\x00\x90\x3c"


def option_cases() -> list[Case]:
    """Every numeric (and named) option of train and generate, out of range: usage errors."""
    train = [
        ("hidden-size", "0"),
        ("hidden-size", "-4"),
        ("num-layers", "0"),
        ("embedding-size", "0"),
        ("dropout", "1.5"),
        ("dropout", "-0.1"),
        ("lr", "0"),
        ("lr", "-1"),
        ("lr", "nan"),
        ("batch-size", "0"),
        ("seq-length", "0"),
        ("val-fraction", "1.5"),
        ("val-fraction", "-0.1"),
        ("steps", "-3"),
        ("epochs", "0"),
        ("time", "soon"),
        ("time", "-5m"),
        ("grad-clip", "-1"),
        ("weight-decay", "-1"),
        ("warmup-steps", "-1"),
        ("min-lr-ratio", "2"),
        ("log-every", "0"),
        ("eval-every", "often"),
        ("threads", "-1"),
        ("max-vocab", "-1"),
        ("min-count", "-1"),
        ("quantize", "0"),
        ("transpose", "up"),
        ("precision", "fp7"),
        ("cell", "banana"),
        ("level", "syllable"),
        ("documents", "pages"),
        ("samples", "-1"),
        ("size", "huge"),
        ("stop-after", "later"),
        ("max-val-tokens", "-5"),
        ("val-streams", "0"),
        ("vocab-size", "0"),
        ("adaptive-softmax", "x,y"),
        ("tracks", "piano"),
    ]
    cases = [
        usage(f"train --{flag} {value}", f"{TRAIN} --{flag} {value}", flag, files=T)
        for flag, value in train
    ]
    generate = [
        ("temperature", "-1"),
        ("temperature", "nan"),
        ("top-k", "-1"),
        ("top-p", "0"),
        ("top-p", "1.5"),
        ("length", "-5"),
        ("num-samples", "0"),
        ("beam", "-1"),
        ("no-repeat-ngram", "-2"),
        ("min-words", "-1"),
        ("guidance", "-1"),
        ("precision", "fp7"),
    ]
    cases += [
        usage(
            f"generate --{flag} {value}",
            f"generate {{lm}} --{flag} {value}",
            "-n" if flag == "num-samples" else flag,
        )
        for flag, value in generate
    ]
    cases.append(usage("generate --tempo 0", "generate {music} --tempo 0", "tempo"))
    cases.append(
        usage("generate --prime-seconds -1", "generate {music} --prime-seconds -1", "prime-seconds")
    )
    return cases


def input_cases() -> list[Case]:
    """Bad data files for train, evaluate and predict: data errors."""
    latin = "café au lait\n".encode("latin-1") * 20
    return [
        data("train empty file", TRAIN, "empty", files={"t.txt": ""}),
        data("train binary file", TRAIN, "binary", files={"t.txt": bytes(range(256)) * 8}),
        data("train latin-1 file", TRAIN, "--encoding", files={"t.txt": latin}),
        data("train one character", TRAIN, "add text", files={"t.txt": "a"}),
        data("train missing file", TRAIN, "no such file", files={}),
        data("train unknown encoding", f"{TRAIN} --encoding klingon", "klingon", files=T),
        data(
            "train empty folder",
            f"train {{tmp}}/empty --out {{tmp}}/out {TINY}",
            "empty",
            edit=lambda tmp: (tmp / "empty").mkdir(),
        ),
        data(
            "train glob matches nothing",
            f"{TRAIN} --glob '*.md'".replace("t.txt", ""),
            "--glob",
            files=T,
        ),
        data(
            "train csv missing text column",
            f"train {{tmp}}/d.csv --out {{tmp}}/o --text-column lyrics {TINY}",
            "lyrics",
            files={"d.csv": CSV},
        ),
        data(
            "train csv header only",
            f"train {{tmp}}/d.csv --out {{tmp}}/o {TINY}",
            "d.csv",
            files={"d.csv": "text,label\n"},
        ),
        data(
            "train csv broken quoting",
            f"train {{tmp}}/d.csv --out {{tmp}}/o {TINY}",
            "d.csv",
            files={"d.csv": 'text,label\n"never closed,a\nmore,b\n'},
        ),
        data(
            "train jsonl broken json",
            f"train {{tmp}}/d.jsonl --out {{tmp}}/o {TINY}",
            "line 2",
            files={"d.jsonl": '{"text": "a b c"}\n{"text": \n'},
        ),
        data(
            "train jsonl not objects",
            f"train {{tmp}}/d.jsonl --out {{tmp}}/o {TINY}",
            "line 1",
            files={"d.jsonl": "[1, 2]\n"},
        ),
        data(
            "train jsonl NaN text",
            f"train {{tmp}}/d.jsonl --out {{tmp}}/o --text-column text {TINY}",
            "every row was empty",
            files={"d.jsonl": '{"text": NaN}\n' * 20},
        ),
        data(
            "train condition column missing",
            f"train {{tmp}}/d.csv --out {{tmp}}/o --text-column text --condition-column genre "
            f"{TINY}",
            "genre",
            files={"d.csv": CSV},
        ),
        data(
            "train where column missing",
            f"train {{tmp}}/d.csv --out {{tmp}}/o --text-column text --where genre=pop {TINY}",
            "genre",
            files={"d.csv": CSV},
        ),
        usage(
            "train where without =",
            f"train {{tmp}}/d.csv --out {{tmp}}/o --text-column text --where genre {TINY}",
            "COLUMN=VALUE",
            files={"d.csv": CSV},
        ),
        data(
            "classifier one class",
            f"train {{tmp}}/d.csv --label-column label --out {{tmp}}/o {TINY}",
            "one class",
            files={"d.csv": "text,label\n" + "a b c,x\n" * 30},
        ),
        data(
            "classifier empty labels",
            f"train {{tmp}}/d.csv --label-column label --out {{tmp}}/o {TINY}",
            "label",
            files={"d.csv": "text,label\n" + "a b c,\n" * 30},
        ),
        data(
            "classifier label column missing",
            f"train {{tmp}}/d.csv --label-column genre --out {{tmp}}/o {TINY}",
            "genre",
            files={"d.csv": CSV},
        ),
        data(
            "classifier NaN labels",
            f"train {{tmp}}/d.jsonl --label-column label --out {{tmp}}/o {TINY}",
            "label",
            files={"d.jsonl": '{"text": "a b", "label": NaN}\n' * 30},
        ),
        data(
            "midi corrupt file",
            f"train {{tmp}}/s.mid --out {{tmp}}/o {TINY}",
            "s.mid",
            files={"s.mid": MIDI_BROKEN},
        ),
        data(
            "midi text posing as midi",
            f"train {{tmp}}/s.mid --out {{tmp}}/o {TINY}",
            "s.mid",
            files={"s.mid": TEXT},
        ),
        data(
            "midi folder without midi",
            f"train {{tmp}}/songs --midi --out {{tmp}}/o {TINY}",
            "songs",
            files={"songs/readme.txt": TEXT},
        ),
        usage("unknown corpus", f"train --corpus atlantis --out {{tmp}}/o {TINY}", "atlantis"),
        data("config file missing", f"{TRAIN} --config {{tmp}}/nope.json", "nope.json", files=T),
        data(
            "config file broken json",
            f"{TRAIN} --config {{tmp}}/c.json",
            "c.json",
            files={**T, "c.json": "{model: }"},
        ),
        data(
            "config file unknown option",
            f"{TRAIN} --config {{tmp}}/c.json",
            "colour",
            files={**T, "c.json": '{"model": {"colour": "red"}}'},
        ),
        usage(
            "config file wrong type",
            f"{TRAIN} --config {{tmp}}/c.json",
            "dropout",
            files={**T, "c.json": '{"model": {"dropout": "lots"}}'},
        ),
        data(
            "config file not an object",
            f"{TRAIN} --config {{tmp}}/c.json",
            "c.json",
            files={**T, "c.json": "[1, 2]"},
        ),
        data("resume nothing there", f"train --resume {{tmp}}/none {TINY}", "none"),
        data(
            "resume a folder without last",
            f"train --resume {{tmp}}/empty {TINY}",
            "empty",
            edit=lambda tmp: (tmp / "empty").mkdir(),
        ),
        data(
            "train into an existing run",
            f"{TRAIN.replace('{tmp}/out', '{run}')}",
            "--resume",
            files=T,
        ),
        data("evaluate empty file", "evaluate {lm} {tmp}/t.txt", "empty", files={"t.txt": ""}),
        data(
            "evaluate binary file",
            "evaluate {lm} {tmp}/t.txt",
            "binary",
            files={"t.txt": b"\x00\x01\x02" * 100},
        ),
        data("evaluate missing file", "evaluate {lm} {tmp}/none.txt", "none.txt"),
        data(
            "evaluate one character",
            "evaluate {lm} {tmp}/t.txt",
            "two tokens",
            files={"t.txt": "a"},
        ),
        data(
            "evaluate group-by on lm",
            "evaluate {lm} {tmp}/t.txt --group-by year",
            "classifier",
            files=T,
        ),
        data(
            "evaluate classifier missing label",
            "evaluate {classifier} {tmp}/d.csv",
            "genre",
            files={"d.csv": "lyrics\nla la\n"},
        ),
        data(
            "evaluate classifier missing text",
            "evaluate {classifier} {tmp}/d.csv",
            "lyrics",
            files={"d.csv": "words,genre\nla la,pop\n"},
        ),
        data(
            "evaluate classifier broken jsonl",
            "evaluate {classifier} {tmp}/d.jsonl",
            "line 1",
            files={"d.jsonl": "{oops\n"},
        ),
        data(
            "evaluate music corrupt midi",
            "evaluate {music} {tmp}/s.mid",
            "s.mid",
            files={"s.mid": MIDI_BROKEN},
        ),
        data(
            "predict with a language model",
            "predict {lm} {tmp}/d.csv --out {tmp}/p.csv",
            "classifier",
            files={"d.csv": CSV},
        ),
        data(
            "predict missing file",
            "predict {classifier} {tmp}/none.csv --out {tmp}/p.csv",
            "none.csv",
        ),
        data(
            "predict missing text column",
            "predict {classifier} {tmp}/d.csv --out {tmp}/p.csv",
            "lyrics",
            files={"d.csv": CSV},
        ),
        data(
            "predict out under a file",
            "predict {classifier} {tmp}/d.csv --out {tmp}/d.csv/p.csv",
            "d.csv",
            files={"d.csv": "lyrics\nla la\n"},
        ),
        data(
            "predict out is a folder",
            "predict {classifier} {tmp}/d.csv --out {tmp}",
            "a folder",
            files={"d.csv": "lyrics\nla la\n"},
        ),
    ]


def generate_cases() -> list[Case]:
    return [
        data("generate no such run", "generate {tmp}/none", "none"),
        data("generate run is a file", "generate {tmp}/t.txt", "t.txt", files=T),
        data(
            "generate empty folder",
            "generate {tmp}/e",
            "not a run",
            edit=lambda tmp: (tmp / "e").mkdir(),
        ),
        data("generate with a classifier", "generate {classifier}", "classifier"),
        data(
            "generate prime unseen characters", "generate {lm} --prime 日本語 --length 5", "prime"
        ),
        data("generate unknown condition", "generate {documents} --condition mood=sad", "mood"),
        data(
            "generate unknown condition value",
            "generate {documents} --condition genre=jazz",
            "jazz",
        ),
        usage("generate malformed condition", "generate {documents} --condition genre", "genre"),
        data("generate condition on plain lm", "generate {lm} --condition genre=pop", "condition"),
        data("generate cuda without cuda", "generate {lm} --device cuda:7", "--device cuda:7"),
        usage("generate condition on music", "generate {music} --condition genre=pop", "music"),
        data("info no such run", "info {tmp}/none", "none"),
        usage("corpora extra argument", "corpora extra", "unrecognized"),
        usage("no command", "", "command"),
        usage("unknown command", "frobnicate", "invalid choice"),
        usage("train non-number", f"{TRAIN} --hidden-size big", "hidden-size", files=T),
        usage("predict without --out", "predict {classifier} {tmp}/d.csv", "--out"),
    ]


def run_dir_cases() -> list[Case]:
    """Corrupt, truncated, mismatched and hostile run directories."""
    lm, run = "lm", "run/best"
    return [
        data(
            "config broken json",
            "generate {lm}",
            "config.json",
            edit=_put(f"{lm}/config.json", "{"),
        ),
        data(
            "config not an object",
            "generate {lm}",
            "config.json",
            edit=_put(f"{lm}/config.json", "[]"),
        ),
        data(
            "config missing model",
            "generate {lm}",
            "model",
            edit=_json_edit(f"{lm}/config.json", lambda c: c.pop("model")),
        ),
        data(
            "config wrong type",
            "generate {lm}",
            "hidden-size",
            edit=_json_edit(f"{lm}/config.json", lambda c: c["model"].update(hidden_size="big")),
        ),
        data(
            "config mismatched width",
            "generate {lm}",
            "model.safetensors",
            edit=_json_edit(f"{lm}/config.json", lambda c: c["model"].update(hidden_size=64)),
        ),
        data(
            "config unknown kind",
            "generate {lm}",
            "kind",
            edit=_json_edit(f"{lm}/config.json", lambda c: c.update(kind="alien")),
        ),
        data(
            "config unknown cell",
            "generate {lm}",
            "cell",
            edit=_json_edit(f"{lm}/config.json", lambda c: c["model"].update(cell="banana")),
        ),
        data(
            "config not utf-8",
            "generate {lm}",
            "config.json",
            edit=_put(f"{lm}/config.json", b"\xff\xfe{\x00}"),
        ),
        data("info broken config", "info {lm}", "config.json", edit=_put(f"{lm}/config.json", "{")),
        data(
            "tokenizer broken json",
            "generate {lm}",
            "tokenizer.json",
            edit=_put(f"{lm}/tokenizer.json", "{"),
        ),
        data(
            "tokenizer unknown type",
            "generate {lm}",
            "tokenizer.json",
            edit=_json_edit(f"{lm}/tokenizer.json", lambda t: t.update(type="klingon")),
        ),
        data(
            "tokenizer missing",
            "generate {lm}",
            "tokenizer.json",
            edit=_remove(f"{lm}/tokenizer.json"),
        ),
        data(
            "tokenizer vocabulary removed",
            "generate {lm}",
            "tokenizer.json",
            edit=_json_edit(f"{lm}/tokenizer.json", lambda t: {"type": t.get("type", "char")}),
        ),
        data(
            "weights missing",
            "generate {lm}",
            "model.safetensors",
            edit=_remove(f"{lm}/model.safetensors"),
        ),
        data(
            "weights empty",
            "generate {lm}",
            "model.safetensors",
            edit=_put(f"{lm}/model.safetensors", b""),
        ),
        data(
            "weights truncated",
            "generate {lm}",
            "model.safetensors",
            edit=_truncate(f"{lm}/model.safetensors", 0.5),
        ),
        data(
            "weights random bytes",
            "generate {lm}",
            "model.safetensors",
            edit=_put(f"{lm}/model.safetensors", bytes(range(256)) * 64),
        ),
        data(
            "weights are a pickle",
            "generate {lm}",
            "pickle",
            edit=_put(f"{lm}/model.safetensors", hostile_pickle),
        ),
        data(
            "weights of another run",
            "generate {lm}",
            "model.safetensors",
            edit=lambda tmp: (tmp / lm / "model.safetensors").write_bytes(
                (tmp / "music" / "model.safetensors").read_bytes()
            ),
        ),
        data(
            "evaluate with pickled weights",
            "evaluate {lm} {tmp}/t.txt",
            "pickle",
            files=T,
            edit=_put(f"{lm}/model.safetensors", hostile_pickle),
        ),
        data(
            "predict with pickled weights",
            "predict {classifier} {tmp}/d.csv --out {tmp}/p.csv",
            "pickle",
            files={"d.csv": "lyrics\nla\n"},
            edit=_put("classifier/model.safetensors", hostile_pickle),
        ),
        data(
            "classifier linear truncated",
            "predict {classifier} {tmp}/d.csv --out {tmp}/p.csv",
            "linear",
            files={"d.csv": "lyrics\nla\n"},
            edit=_truncate("classifier/linear.safetensors", 0.3),
        ),
        data(
            "changed tokenizer is caught",
            "generate {run}",
            "tokenizer.json",
            edit=_json_edit(f"{run}/tokenizer.json", lambda t: t.update(edited=True)),
        ),
        data(
            "flipped weight byte is caught",
            "generate {run}",
            "model.safetensors",
            edit=_flip_byte(f"{run}/model.safetensors"),
        ),
        data(
            "manifest broken", "generate {run}", "manifest", edit=_put(f"{run}/manifest.json", "{")
        ),
        data(
            "resume with broken trainer state",
            f"train --resume {{run}} {RESUME}",
            "trainer_state",
            edit=_put("run/last/trainer_state.json", "{"),
        ),
        data(
            "resume with pickled trainer state",
            f"train --resume {{run}} {RESUME}",
            "trainer_state",
            edit=_put("run/last/trainer_state.safetensors", hostile_pickle),
        ),
        usage(
            "resume with conflicting width",
            f"train --resume {{run}} --hidden-size 64 {RESUME}",
            "hidden",
        ),
        data(
            "config data not an object",
            "generate {documents}",
            "'data'",
            edit=_json_edit("documents/config.json", lambda c: c.update(data=[1])),
        ),
        data(
            "config conditions not an object",
            "generate {documents}",
            "conditions",
            edit=_json_edit("documents/config.json", lambda c: c["data"].update(conditions=5)),
        ),
        data(
            "config huge width",
            "generate {lm}",
            "holds",
            edit=_json_edit(f"{lm}/config.json", lambda c: c["model"].update(hidden_size=10**7)),
        ),
        data(
            "info empty folder", "info {tmp}/e", "not a run", edit=lambda tmp: (tmp / "e").mkdir()
        ),
    ]


def serve_export_inspect_cases() -> list[Case]:
    """The commands that landed after the table: serve (checked before it listens), export and
    inspect."""
    return [
        usage("serve port out of range", "serve {lm} --port 70000", "--port 70000"),
        usage("serve no streams", "serve {lm} --max-streams 0", "--max-streams 0"),
        usage("serve negative time", "serve {lm} --request-seconds -1", "--request-seconds"),
        usage("serve unknown precision", "serve {lm} --precision fp8", "--precision"),
        data("serve missing run", "serve {tmp}/nothing", "not a run directory"),
        usage("export unknown format", "export {lm} --out {tmp}/x --format tflite", "tflite"),
        usage("export zero tolerance", "export {lm} --out {tmp}/x --tolerance 0", "--tolerance"),
        data("export missing run", "export {tmp}/nothing --out {tmp}/x", "not a run directory"),
        data("export over a run", "export {lm} --out {lm}", "no export folder"),
        data("inspect empty text", "inspect {lm} ''", "empty"),
        data("inspect music without midi", "inspect {music} hello", "MIDI"),
        usage("inspect no units", "inspect {lm} hello --top-units 0", "--top-units 0"),
        usage(
            "evaluate cache weight", "evaluate {lm} {tmp}/t.txt --cache-lambda 2", "--cache-lambda"
        ),
    ]


CASES: list[Case] = (
    option_cases()
    + input_cases()
    + generate_cases()
    + run_dir_cases()
    + serve_export_inspect_cases()
)
