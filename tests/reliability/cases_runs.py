"""Bad-input cases for run directories: corrupt, truncated, mismatched and hostile ones (a
pickle where weights belong), and hand-edited JSON."""

from __future__ import annotations

from tests.reliability.cases import (
    RESUME,
    Case,
    T,
    _flip_byte,
    _json_edit,
    _put,
    _remove,
    _truncate,
    data,
    hostile_pickle,
    usage,
)


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
