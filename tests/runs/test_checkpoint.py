import json

import pytest
import torch

from recur.config.options import ModelConfig, to_dict
from recur.errors import RecurError
from recur.models.language_model import build_model
from recur.runs import checkpoint
from recur.tokenizers import CharTokenizer


def make(tie=True):
    torch.manual_seed(0)
    tokenizer = CharTokenizer().fit(["hello world"])
    config = ModelConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=8, embedding_size=8 if tie else 4
    )
    return build_model(config), tokenizer, {"model": to_dict(config)}


@pytest.mark.parametrize("tie", [True, False])
def test_save_then_load_gives_identical_logits(tmp_path, tie):
    model, tokenizer, config = make(tie)
    checkpoint.save(tmp_path / "best", model, tokenizer, config)
    bundle = checkpoint.load(tmp_path)  # a run dir resolves to best/
    ids = torch.tensor([tokenizer.encode("hello")])
    assert torch.equal(model(ids)[0], bundle.model(ids)[0])
    assert bundle.tokenizer.symbols == tokenizer.symbols
    assert sorted(p.name for p in (tmp_path / "best").iterdir()) == [
        "config.json",
        "manifest.json",
        "model.safetensors",
        "tokenizer.json",
    ]


def test_overwrite_is_atomic_and_leaves_no_temporaries(tmp_path):
    model, tokenizer, config = make()
    checkpoint.save(tmp_path / "last", model, tokenizer, config)
    with torch.no_grad():
        model.decoder.bias.add_(1.0)
    checkpoint.save(tmp_path / "last", model, tokenizer, config)
    assert [p.name for p in tmp_path.iterdir()] == ["last"]
    loaded = checkpoint.load(tmp_path / "last").model
    assert torch.equal(loaded.decoder.bias, model.decoder.bias)


def test_refuses_incomplete_or_non_run_directories(tmp_path):
    with pytest.raises(RecurError, match="not a run directory"):
        checkpoint.load(tmp_path)
    model, tokenizer, config = make()
    checkpoint.save(tmp_path / "best", model, tokenizer, config)
    (tmp_path / "best" / "model.safetensors").unlink()
    (tmp_path / "best" / "model.pt").write_bytes(b"pickle")
    with pytest.raises(RecurError, match="model.safetensors is missing"):
        checkpoint.load(tmp_path / "best")


def test_config_json_is_plain_json(tmp_path):
    model, tokenizer, config = make()
    checkpoint.save(tmp_path / "c", model, tokenizer, config)
    assert json.loads((tmp_path / "c" / "config.json").read_text())["model"]["hidden_size"] == 8
