"""The terminal side (``recur generate`` prints one sample as it is made; ``--interactive``;
``recur serve --help``), the precision chosen at load, music cut to a length in seconds, and the
small synthesiser."""

import io
import json
import wave

import numpy as np
import pytest
import torch

from recur import api, cli
from recur.config.options import ModelConfig
from recur.models.language_model import RecurrentLM
from recur.music.compose import cut_notes, sample_pieces
from recur.music.synth import synthesize, wav_bytes
from recur.serve.precision import TOLERANCE, choose


def recur(capsys, *args, stdin=None, monkeypatch=None):
    """The command line in this process: (exit code, stdout, stderr)."""
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = cli.main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_generate_streams_the_sample_its_json_gives(runs, capsys):
    command = ("generate", runs["lm"], "--length", 80, "--seed", 9, "--prime", "the")
    _, printed, said = recur(capsys, *command)
    sample = json.loads(recur(capsys, *command, "--json")[1])["samples"][0]
    assert printed == sample + "\n" and "(seed 9)" in said


def test_interactive_continues_each_prime_until_an_empty_line(runs, capsys, monkeypatch):
    command = ("generate", runs["lm"], "--interactive", "--length", 20)
    code, out, _ = recur(capsys, *command, stdin="the cat\nthe dog\n\n", monkeypatch=monkeypatch)
    assert code == 0
    lines = [line.removeprefix("> ") for line in out.split("\n") if line.strip("> ")]
    assert lines[0].startswith("the cat") and lines[1].startswith("the dog")
    assert len(lines[0]) == len("the cat") + 20
    code, _, said = recur(capsys, *command, "-n", 2, stdin="x\n", monkeypatch=monkeypatch)
    assert code == 2 and "--interactive prints one plain sample" in said


def test_serve_help_shows_the_limits_and_their_defaults(capsys):
    with pytest.raises(SystemExit):
        cli.main(["serve", "--help"])
    out = capsys.readouterr().out
    assert "--max-streams" in out and "(default: 127.0.0.1)" in out and "0.5% of fp32" in out


def test_auto_precision_keeps_the_loss_within_half_a_percent(runs):
    bundle = api.load(runs["lm"]).bundle
    bundle.model = RecurrentLM(  # big enough for the bf16 and int8 products to take effect
        ModelConfig(cell="lstm", hidden_size=160, embedding_size=16, num_layers=1, vocab_size=27)
    ).eval()
    torch.manual_seed(0)
    choice = choose(bundle, "auto", 512)
    assert choice.source == "validation text" and set(choice.measured) >= {"fp32", "bf16"}
    base = choice.measured["fp32"]["loss"]
    assert choice.measured[choice.precision]["loss"] <= base * (1 + TOLERANCE)
    assert choose(bundle, "bf16", 512).precision == "bf16"


def test_music_is_cut_at_the_seconds_asked_for(runs):
    pytest.importorskip("pretty_midi")
    bundle = api.load(runs["music"]).bundle
    step = bundle.tokenizer.seconds_per_step(120.0)
    pieces, seed = sample_pieces(bundle, {"seed": 1}, 5.0, 120.0)
    events, notes = pieces[0]
    end = (notes[:, 0] + notes[:, 1]).max() * step
    assert 2.5 < end <= 5.0 + 1e-9 and events > 10 and seed == 1
    kept = cut_notes(np.array([[0, 8, 60, 90], [4, 8, 62, 90], [9, 2, 64, 90]]), 8)
    assert kept.tolist() == [[0, 8, 60, 90], [4, 4, 62, 90]]


def test_the_synthesiser_writes_a_playable_wav():
    notes = np.array([[0, 4, 60, 100], [4, 4, 64, 80]])
    samples = synthesize(notes, 0.125)
    assert abs(len(samples) / 22050 - 1.08) < 0.01 and np.abs(samples).max() <= 1
    with wave.open(io.BytesIO(wav_bytes(samples))) as audio:
        assert audio.getnframes() == len(samples) and audio.getframerate() == 22050
