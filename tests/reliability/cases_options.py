"""Bad-input cases for options: every numeric option out of range, unknown choices, and the
options of generate and of the commands that landed later (serve, export, inspect, evaluate)."""

from __future__ import annotations

from tests.reliability.cases import (
    TRAIN,
    Case,
    T,
    data,
    usage,
)


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
