"""torchrun with one process: the group of one runs the same collectives and DDP as many ranks
(gloo on the CPU, NCCL on a GPU, where the collectives move CPU tensors to the GPU and back)."""

import socket
import subprocess
import sys

import pytest
import torch
from safetensors import safe_open
from torch.nn.parallel import DistributedDataParallel

import recur
from recur.training import distributed
from tests.conftest import ONE_THREAD, tiny_text
from tests.cuda import DEVICES
from tests.cuda.test_cuda_training import TINY


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def torchrun_of_one(monkeypatch):
    """The environment torchrun gives its one process."""
    env = {"WORLD_SIZE": "1", "RANK": "0", "LOCAL_RANK": "0", "TORCHELASTIC_RUN_ID": "test"}
    env.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port()))
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_without_torchrun_there_is_no_group(monkeypatch):
    for name in ("WORLD_SIZE", "TORCHELASTIC_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
    group, device = distributed.setup("auto")
    assert not group.joined and device == "auto"
    assert group.agree([1.5]) == [1.5]


@pytest.mark.parametrize("device", DEVICES)
def test_a_group_of_one_runs_the_collectives(torchrun_of_one, device):
    group, name = distributed.setup(device)
    try:
        assert group.joined and not group.active and group.world_size == 1
        backend = torch.distributed.get_backend()
        assert backend == ("nccl" if device == "cuda" else "gloo")
        assert name == ("cuda:0" if device == "cuda" else "cpu")
        assert group.agree([3.25, 1e-300]) == [3.25, 1e-300]  # float64 survives the trip
        state = torch.get_rng_state()  # a CPU uint8 tensor, as the resume state gathers
        (gathered,) = group.gather(state)
        assert gathered.device.type == "cpu" and torch.equal(gathered, state)
        model = torch.nn.Linear(3, 2).to(name)
        wrapped = distributed.wrap(model, group, torch.device(name))
        assert isinstance(wrapped, DistributedDataParallel)
        wrapped(torch.ones(4, 3, device=name)).sum().backward()  # all-reduces the gradients
        assert model.weight.grad is not None
    finally:
        distributed.teardown(group)
    assert not torch.distributed.is_initialized()


@pytest.mark.parametrize("device", DEVICES)
def test_one_process_torchrun_trains_and_resumes(tmp_path, device):
    data = tmp_path / "tiny.txt"
    data.write_text(tiny_text(), encoding="utf-8")
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=1"]
    command = [*launch, "-m", "recur", "train", str(data), "--out", str(tmp_path / "run")]
    for name, value in {**TINY, "steps": 12, "device": device}.items():
        command += ["--" + name.replace("_", "-"), str(value)]

    command += ["--stop-after", "6"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, env=ONE_THREAD)
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    assert f"on {device}" in log
    with safe_open(str(tmp_path / "run" / "last" / "trainer_state.safetensors"), "pt") as saved:
        names = set(saved.keys())
    assert {"rng.cpu", "hidden.0", "hidden.1"} <= names  # one rank: the names of a plain run
    # ... so a run without torchrun resumes it, and ends where a plain run of 12 steps ends.
    recur.train(resume=str(tmp_path / "run"), quiet=True)
    options = {**TINY, "steps": 12, "device": device}
    recur.train(data, out=str(tmp_path / "plain"), quiet=True, **options)
    a, b = (recur.load(tmp_path / run / "last", device="cpu") for run in ("run", "plain"))
    pairs = zip(a.bundle.model.state_dict().values(), b.bundle.model.state_dict().values())
    for p, q in pairs:
        torch.testing.assert_close(
            p, q, rtol=0 if device == "cpu" else 1e-4, atol=0 if device == "cpu" else 1e-5
        )
