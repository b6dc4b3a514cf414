"""``--device auto``: one rule (recur/runs/devices.py) for train, generate, evaluate and predict,
shown in --help; on a GPU, character runs take the GPU preset."""

import pytest
import torch

from recur import api
from recur.cli import _generation_threads, build_parser
from recur.config import presets
from recur.errors import RecurError
from recur.runs import configs as resolve
from recur.runs.devices import device_name, exact_fp32, resolve_device


@pytest.mark.parametrize("available, expected", [(False, "cpu"), (True, "cuda")])
def test_auto_is_cuda_when_a_gpu_is_present(available, expected, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)
    assert device_name("auto") == device_name(None) == expected
    assert device_name("cpu") == "cpu"


def test_cuda_without_a_gpu_and_a_bad_name_are_one_line_errors(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RecurError, match="--device cuda:1: no CUDA device"):
        device_name("cuda:1")
    with pytest.raises(RecurError, match="--device gpu: give cpu, cuda, cuda:N or auto"):
        resolve_device("gpu")


@pytest.mark.parametrize("command", ["generate", "evaluate", "predict"])
def test_every_command_defaults_to_auto_and_says_so(command, capsys):
    extra = {"generate": [], "evaluate": ["FILE"], "predict": ["FILE", "--out", "x.csv"]}
    args = build_parser().parse_args([command, "RUN", *extra[command]])
    assert args.device == "auto"
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    assert "auto: cuda when PyTorch sees a GPU" in " ".join(capsys.readouterr().out.split())


def test_train_help_shows_auto(capsys):
    with pytest.raises(SystemExit):
        build_parser(["train", "--help"]).parse_args(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "auto: cuda when PyTorch sees a GPU, else cpu) (default: auto)" in text


def test_sampling_threads_leave_a_gpu_alone(monkeypatch):
    args = build_parser().parse_args(["generate", "RUN"])
    monkeypatch.setattr(torch, "get_num_threads", lambda: 8)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert _generation_threads(args) == 1
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert _generation_threads(args) is None


@pytest.mark.parametrize("options", [{"device": "cuda"}, {"device": "cuda:0", "time": "10m"}])
def test_character_runs_on_a_gpu_take_the_gpu_preset(options):
    kind, configs = resolve.train_configs({"corpus": "kjv", **options})
    assert kind == presets.GPU_CHARACTER
    values = {k: v for c in configs.values() for k, v in vars(c).items()}
    assert {k: values[k] for k in presets.GPU_CHARACTER_DEFAULTS} == presets.GPU_CHARACTER_DEFAULTS
    # a flag still beats the preset, and a word-level run keeps its own kind
    _, configs = resolve.train_configs({"corpus": "kjv", "hidden_size": 64, **options})
    assert configs["model"].hidden_size == 64
    kind, _ = resolve.train_configs({"corpus": "kjv", "level": "word", **options})
    assert kind == presets.WORD


@pytest.mark.parametrize("available", [False, True])
def test_the_api_asks_for_the_gpu_preset_when_auto_finds_a_gpu(available, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)
    assert api._on_gpu({}) is available
    assert api._on_gpu({"device": "cpu"}) is False
    kind, _ = resolve.train_configs({"corpus": "kjv"}, gpu=api._on_gpu({}))
    assert (kind == presets.GPU_CHARACTER) is available


def test_exact_fp32_turns_tf32_off_in_cudnn_on_a_gpu_only():
    rnn = getattr(torch.backends.cudnn, "rnn", None)
    if rnn is None:  # an older PyTorch: the one cuDNN switch
        with exact_fp32(torch.device("cuda")):
            assert torch.backends.cudnn.allow_tf32 is False
        return
    before = rnn.fp32_precision
    with exact_fp32("cpu"):
        assert rnn.fp32_precision == before
    with exact_fp32(torch.device("cuda")):  # sets the flag even where no GPU is present
        assert rnn.fp32_precision == "ieee"
    assert rnn.fp32_precision == before


def test_train_help_with_device_cuda_shows_the_gpu_preset(capsys):
    argv = ["train", "--device", "cuda", "--help"]
    with pytest.raises(SystemExit):
        build_parser(argv).parse_args(argv)
    text = " ".join(capsys.readouterr().out.split())
    assert "Defaults shown: a character on a GPU run" in text
    assert "width of each recurrent layer (default: 1024)" in text
