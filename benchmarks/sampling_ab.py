"""In-process A/B of one-stream sampling loops (2x512 LSTM, 65 characters, one thread):

    python -m benchmarks.sampling_ab [--precision int8] [--steps 400] [--rounds 7]

1. a Python loop over the (unscripted) step, drawing with ``torch.multinomial`` (the sampler
   before Gumbel-max draws);
2. the same loop drawing with ``TokenSampler`` (Gumbel noise drawn 16 steps at a time);
3. ``Stepper.draw``: 16 steps at a time inside the scripted step, no Python per token.

The variants alternate within each round, so a slow stretch of a shared host hits all of them;
the medians over the rounds are printed. Needs nothing outside the repository.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from recur.config.options import ModelConfig
from recur.generate.sampling import TokenSampler
from recur.generate.stepper import Stepper
from recur.models.language_model import build_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--precision", default="int8", choices=("fp32", "bf16", "int8"))
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = build_model(
        ModelConfig(cell="lstm", hidden_size=512, embedding_size=128, num_layers=2, vocab_size=65)
    ).eval()
    python, scripted = Stepper(model, args.precision, script=False), Stepper(model, args.precision)
    banned = torch.tensor([0])

    def loop(stepper, draw):
        def run():
            layers = stepper.to_layers(model.initial_state(1))
            token = torch.zeros(1, dtype=torch.long)
            for _ in range(args.steps):
                logits, layers = stepper(token, layers)
                token = draw(logits)

        return run

    def multinomial(logits):
        probabilities = (logits.index_fill(-1, banned, float("-inf")) / 0.8).softmax(-1)
        return torch.multinomial(probabilities, 1).squeeze(-1)

    def blocks():
        sampler = TokenSampler((1, 65), 0.8, 0, 1.0, None, banned)
        layers = scripted.to_layers(model.initial_state(1))
        last = torch.zeros(1, 65)
        for _ in range(args.steps // 16):
            _, last, layers, _ = scripted.draw(last, layers, sampler.noise(16), sampler=sampler)

    sampler = TokenSampler((1, 65), 0.8, 0, 1.0, None, banned)
    variants = {
        "Python loop, torch.multinomial": loop(python, multinomial),
        "Python loop, block noise": loop(python, sampler),
        "scripted draw, 16 steps a call": blocks,
    }
    times = {name: [] for name in variants}
    with torch.inference_mode():
        for run in variants.values():  # warm-up: TorchScript profiles its first calls
            run()
        for _ in range(args.rounds):
            for name, run in variants.items():
                start = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - start)
    for name, values in times.items():
        rate = (
            args.steps // 16 * 16 / statistics.median(values)
            if "scripted" in name
            else args.steps / statistics.median(values)
        )
        print(f"{name}: {rate:,.0f} tokens/s ({args.precision}, median of {args.rounds})")


if __name__ == "__main__":
    main()
