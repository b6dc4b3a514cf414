"""Training speed of the word preset on real Penn Treebank / WikiText-2 ids, for whichever
``recur`` is first on ``PYTHONPATH`` (so one copy of this script times two trees, alternately).

``python -m benchmarks.word_speed TEXT --threads 2 --precision auto --steps 8`` prints one
line: tokens/s over ``--steps`` timed training steps (after two untimed ones) of the word preset
(``WORD_DEFAULTS``: tied 2x400 LSTM, locked dropout, weight drop, batch 32x35, AdamW, clipping)
on the text's words split at spaces (one ``<eos>`` per line), ids in order of frequency as
recur's tokenizer gives them, so an adaptive softmax sees Zipf's law, not uniform ids. The
vocabulary is the file's (WikiText-2: 33,278 words, adaptive from 20,000) or 10,000 for smaller
ones (PTB). ``--profile`` prints the PyTorch profiler's table of the timed steps instead;
``--no-adaptive-input`` times the untied full embedding beside the adaptive softmax, and
``--adaptive-div-value D`` narrows its clusters by D instead of the preset's value.
"""

from __future__ import annotations

import argparse
import collections
import time

import torch

from recur.config.options import ModelConfig, TrainConfig
from recur.config.presets import WORD_DEFAULTS
from recur.models.language_model import build_model
from recur.training.optimizer import autocast, build_optimizer, resolve_precision

BATCH, LENGTH, PTB_VOCAB = 32, 35, 10_000
# The profile's operators (self time) by the part of the step they belong to.
PARTS = {
    "LSTM forward (oneDNN)": ("aten::mkldnn_rnn_layer",),
    "LSTM backward (oneDNN)": ("aten::mkldnn_rnn_layer_backward",),
    "decoder products (forward and backward)": ("aten::mm", "aten::addmm", "aten::addmm_"),
    "log-softmax, exp, gathers (loss element-wise)": (
        "aten::_log_softmax",
        "aten::_log_softmax_backward_data",
        "aten::logsumexp",
        "aten::exp_",
        "aten::exp",
        "aten::sub",
        "aten::sub_",
        "aten::amax",
        "aten::gather",
        "aten::div_",
        "aten::sum",
        "aten::scatter_add_",
        "aten::index_put_",
    ),
    "dtype casts (fp32 <-> bf16)": ("aten::copy_", "aten::_to_copy"),
    "dropout masks (weight drop, locked dropout)": ("aten::bernoulli_", "aten::mul"),
    "zero fills (embedding gradient, gathers' backward)": ("aten::fill_", "aten::zero_"),
    "embedding gradient (index_add)": ("aten::embedding_dense_backward", "aten::index_add_"),
    "AdamW (fused)": ("aten::_fused_adamw_",),
    "gradient clipping": ("aten::linalg_vector_norm", "aten::mul_", "aten::stack"),
}


def word_ids(path: str, limit: int = 400_000) -> tuple[torch.Tensor, int]:
    """The first ``limit`` words of ``path`` as frequency-ordered ids (4 specials first)."""
    words = open(path, encoding="utf-8").read().replace("\n", " <eos> ").split()
    order = [word for word, _ in collections.Counter(words).most_common()]
    vocab = len(order) + 4 if len(order) > 12_000 else PTB_VOCAB
    index = {word: i + 4 for i, word in enumerate(order)}
    ids = torch.tensor([index[word] for word in words[:limit]]).clamp(max=vocab - 1)
    return ids, vocab


def print_parts(profiler, steps: int) -> None:
    """The profiled steps' self CPU time by PARTS: ms per step and share of the step."""
    times = {
        event.key: event.self_cpu_time_total / 1e3 / steps for event in profiler.key_averages()
    }
    total = sum(times.values())
    rows = {part: sum(times.get(op, 0.0) for op in ops) for part, ops in PARTS.items()}
    rows["everything else (Python, autograd, small operators)"] = total - sum(rows.values())
    print(f"{total:.0f} ms of operator time per step")
    for part, ms in rows.items():
        print(f"| {part} | {ms:.0f} | {100 * ms / total:.0f}% |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("text")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--profile", action="store_true")
    # the adaptive input's clusters shared with the softmax (ModelConfig's default when not given)
    parser.add_argument("--adaptive-input", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--adaptive-div-value", type=float, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    ids, vocab = word_ids(args.text)
    fields = {k: v for k, v in WORD_DEFAULTS.items() if k in ModelConfig.__dataclass_fields__}
    if args.adaptive_input is not None:
        fields["adaptive_input"] = args.adaptive_input
    if args.adaptive_div_value is not None:
        fields["adaptive_div_value"] = args.adaptive_div_value
    torch.manual_seed(0)
    model = build_model(ModelConfig(vocab_size=vocab, adaptive_softmax="auto", **fields)).train()
    optimizer = build_optimizer(model, TrainConfig(lr=3e-3))
    device = torch.device("cpu")
    precision = resolve_precision(args.precision, device, model)
    streams = ids[: (len(ids) // BATCH) * BATCH].view(BATCH, -1)
    state = None

    def step(i: int):
        at = (i * LENGTH) % (streams.shape[1] - LENGTH - 1)
        x, y = streams[:, at : at + LENGTH], streams[:, at + 1 : at + LENGTH + 1]
        with autocast(device, precision):
            loss, new = model(x, state, targets=y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        optimizer.step()
        return tuple(s.detach().float() for s in new), loss.item()

    for i in range(2):
        state, _ = step(i)
    profiler = torch.profiler.profile() if args.profile else None
    tick = time.perf_counter()
    with profiler or torch.autograd.profiler.record_function("timed"):
        for i in range(args.steps):
            state, loss = step(2 + i)
    rate = args.steps * BATCH * LENGTH / (time.perf_counter() - tick)
    if profiler is not None:
        print_parts(profiler, args.steps)
    print(
        f"precision {precision} vocabulary {vocab} adaptive {model.adaptive} adaptive input "
        f"{type(model.embedding).__name__ == 'AdaptiveInput'} div {model.decoder.div_value} "
        f"threads "
        f"{args.threads}: {rate:.0f} tokens/s (last loss {loss:.3f})"
    )


if __name__ == "__main__":
    main()
