"""Training throughput with several single-thread processes (DistributedDataParallel over gloo),
the way ``torchrun --standalone --nproc_per_node=N -m recur train --threads 1`` trains.

    python -m benchmarks.ddp_speed --cell lstm --hidden-size 512 --batch-size 128 --processes 2

``--batch-size`` is the global batch: each of the N ranks trains batch/N streams, as recur's
torchrun training does. Prints one JSON line: tokens per second of the whole group. On a CPU,
one thread per process avoids the OpenMP barrier between the two threads of one process (the
threads wait for each other at every small matrix product of the recurrence).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys

import torch
import torch.multiprocessing as mp


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _worker(rank: int, world_size: int, port: int, args, queue) -> None:
    import torch.nn.functional as F
    from torch.nn.parallel import DistributedDataParallel

    from recur.config.options import ModelConfig
    from recur.kernels.allocator import keep_freed_memory
    from recur.models.language_model import build_model

    from .speed import median_time

    torch.set_num_threads(1)
    keep_freed_memory()  # as each rank of `recur train` does on CPU
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.distributed.init_process_group("gloo", rank=rank, world_size=world_size)
    config = ModelConfig(
        cell=args.cell,
        hidden_size=args.hidden_size,
        embedding_size=128,
        num_layers=2,
        vocab_size=65,
    )
    torch.manual_seed(0)
    model = DistributedDataParallel(build_model(config))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    batch = args.batch_size // world_size
    x = torch.randint(0, 65, (batch, args.seq_length))
    y = torch.randint(0, 65, (batch, args.seq_length))

    def run():
        state = None
        for _ in range(args.steps):
            if state is not None:
                state = tuple(s.detach() for s in state)
            logits, state = model(x, state)
            loss = F.cross_entropy(logits.reshape(-1, 65), y.reshape(-1))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()

    seconds = median_time(run, args.repeats)
    if rank == 0:
        queue.put(args.steps * batch * world_size * args.seq_length / seconds)
    torch.distributed.destroy_process_group()


def measure(
    cell: str,
    hidden_size: int,
    batch_size: int,
    processes: int = 2,
    seq_length: int = 128,
    steps: int = 6,
    repeats: int = 3,
) -> float:
    """Tokens per second of ``processes`` single-thread ranks training one model together."""
    args = argparse.Namespace(
        cell=cell,
        hidden_size=hidden_size,
        batch_size=batch_size,
        seq_length=seq_length,
        steps=steps,
        repeats=repeats,
    )
    context = mp.get_context("spawn")
    queue = context.SimpleQueue()
    mp.start_processes(
        _worker,
        args=(processes, _free_port(), args, queue),
        nprocs=processes,
        join=True,
        start_method="spawn",
    )
    return queue.get()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", default="lstm")
    parser.add_argument("--hidden-size", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args(argv)
    rate = measure(args.cell, args.hidden_size, args.batch_size, args.processes)
    print(json.dumps({**vars(args), "tokens_per_second": rate}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
