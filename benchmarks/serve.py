"""Continuous batching under load: tokens/s and time to first token at 1, 8 and 64 concurrent
streaming clients of one ``recur serve`` process, all in one run, over loopback only:

    python -m benchmarks.serve [--run RUN] [--tokens 200] [--clients 1,8,64,1] [--json out.json]

Without ``--run`` it first trains a 2x512 LSTM character model for a few steps on the built-in
Python-source text of tests/conftest.py (the speed of a step does not depend on the weights).
The server is a subprocess (``recur serve --port 0``); the clients are asyncio + httpx streams in
this process, each asking ``/v1/generate`` for ``--tokens`` tokens. The phases run one after the
other; the first one is run again at the end to show how much the shared host drifted. The bar:
64 clients together at least 8x the tokens/s of one client.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

STARTUP_SECONDS = 120


def train_run(folder: Path) -> Path:
    from tests.conftest import tiny_text

    text = folder / "text.txt"
    text.write_text(tiny_text(2000), encoding="utf-8")
    subprocess.run(
        [sys.executable, "-m", "recur", "train", str(text), "--out", str(folder / "run")]
        + "--cell lstm --hidden-size 512 --embedding-size 128 --num-layers 2 --steps 3 "
        "--samples 0 --batch-size 8 --seq-length 32".split(),
        check=True,
        capture_output=True,
    )
    return folder / "run"


def start_server(run: Path, extra: list[str]) -> tuple[subprocess.Popen, str, str]:
    server = subprocess.Popen(
        [sys.executable, "-m", "recur", "serve", str(run), "--port", "0", *extra],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines, deadline = [], time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        line = server.stdout.readline() if server.stdout else ""
        lines.append(line)
        if line.startswith("serving at "):
            return server, line.split()[2].rstrip("/"), "".join(lines)
        if server.poll() is not None:
            break
    server.kill()
    raise SystemExit("the server did not start:\n" + "".join(lines))


async def one_client(client: httpx.AsyncClient, url: str, body: dict) -> tuple[float, int, float]:
    """(seconds to the first token, tokens received, seconds to the end) of one stream."""
    started, first, tokens = time.perf_counter(), None, 0
    async with client.stream("POST", url + "/v1/generate", json=body) as response:
        response.raise_for_status()
        # each event holds one token's text; counted in the raw bytes, since parsing every
        # event would load the clients (on the server's cores) more than the server
        async for chunk in response.aiter_raw():
            count = chunk.count(b'"text": ')
            if count:
                first = first or time.perf_counter()
                tokens += count
    end = time.perf_counter()
    return (first or end) - started, tokens, end - started


async def phase(url: str, clients: int, tokens: int, seed: int) -> dict:
    limits = httpx.Limits(max_connections=clients + 4, max_keepalive_connections=clients + 4)
    async with httpx.AsyncClient(timeout=300, limits=limits) as client:
        bodies = [
            {"model": "run", "length": tokens, "seed": seed + i, "stream": True}
            for i in range(clients)
        ]
        started = time.perf_counter()
        results = await asyncio.gather(*(one_client(client, url, b) for b in bodies))
        wall = time.perf_counter() - started
    first = sorted(r[0] for r in results)
    received = sum(r[1] for r in results)
    return {
        "clients": clients,
        "tokens": received,
        "all_finished": all(r[1] == tokens for r in results),
        "seconds": round(wall, 3),
        "tokens_per_second": round(received / wall, 1),
        "ttft_median_ms": round(1000 * statistics.median(first), 1),
        "ttft_max_ms": round(1000 * first[-1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="run directory to serve (default: train a 2x512 LSTM)")
    parser.add_argument("--tokens", type=int, default=200, help="tokens each client asks for")
    parser.add_argument("--clients", default="1,8,64,1", help="concurrent clients per phase")
    parser.add_argument("--server-args", default="", help="extra flags for recur serve")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run = Path(args.run) if args.run else train_run(Path(folder))
        server, url, said = start_server(run, args.server_args.split())
        try:
            print(said.strip(), flush=True)
            asyncio.run(phase(url, 2, 20, 0))  # warm up: TorchScript profiles its first calls
            rows = []
            for index, clients in enumerate(int(c) for c in args.clients.split(",")):
                row = asyncio.run(phase(url, clients, args.tokens, 1000 * index))
                rows.append(row)
                print(json.dumps(row), flush=True)
        finally:
            server.terminate()
            server.wait(timeout=30)
    one = max(r["tokens_per_second"] for r in rows if r["clients"] == 1)
    most = max(rows, key=lambda r: r["clients"])
    ratio = most["tokens_per_second"] / one
    print(f"{most['clients']} clients: {ratio:.1f}x the tokens/s of one client (best single run)")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "ratio": ratio}, indent=2))


if __name__ == "__main__":
    main()
