"""Bad-input cases for the data a command reads: empty, binary, wrongly encoded, tiny and huge
files; CSV and JSONL with missing columns, broken quoting or JSON, bad labels; corrupt MIDI."""

from __future__ import annotations

from tests.reliability.cases import (
    CSV,
    MIDI_BROKEN,
    TEXT,
    TINY,
    TRAIN,
    Case,
    T,
    data,
    usage,
)


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
