"""benchmarks/words.py's dry run: recur's word preset and the pytorch/examples recipe, both
trained a few steps on a tiny corpus and scored by the same function on valid and test."""

import math

import torch

from benchmarks import words


def test_the_dry_run_scores_both_recipes(tmp_path):
    rows = words.main(["--dry-run", "--threads", "1", "--out", str(tmp_path)])
    assert [row["recipe"] for row in rows] == ["recur", "peer"]
    recur_row, peer_row = rows
    # the vocabulary has ~17 ids: recur's 3 AdamW steps stay near uniform, the peer's 3 SGD
    # steps at lr 20 may overshoot it, but neither diverges
    assert 1 < recur_row["valid"] < 25 and 1 < recur_row["test"] < 25
    assert 1 < peer_row["valid"] < 80 and 1 < peer_row["test"] < 80
    assert "| dry | pytorch/examples" in words.table(rows, "10m", 2)


def test_the_peer_is_the_examples_model():
    model = words.PeerLM(50, 8, 2, 0.2)
    assert model.decoder.weight is model.encoder.weight  # tied
    assert model.rnn.num_layers == 2 and model.rnn.dropout == 0.2
    assert model.encoder.weight.abs().max() <= 0.1  # uniform(-0.1, 0.1)
    ids = torch.randint(0, 50, (3, 7))
    loss, state = model(ids, None, ids)
    assert math.isfinite(loss.item()) and state[0].shape == (2, 3, 8)
    assert words.batchify(torch.arange(10), 3).tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
