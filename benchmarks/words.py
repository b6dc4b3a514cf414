"""Word-level perplexity at equal budget: recur's word preset against the pytorch/examples
word_language_model recipe, both trained in this process, on Penn Treebank and WikiText-2.

    python -m benchmarks.words                    # 10 CPU-minutes each, 2 threads (about 45 min)
    python -m benchmarks.words --budget 30s       # a short rehearsal
    python -m benchmarks.words --dry-run          # a few steps on a tiny corpus (the test suite)

Both recipes see the same tokens: recur trains on all of train.txt (``--level word``; the corpora
are already tokenized, so ``--split-punctuation auto`` splits them at spaces only) and validates on
valid.txt (``--validation-file``, so its vocabulary is the corpus's own), and the peer is trained on
the ids of that run's tokenizer, with valid.txt deciding its learning-rate annealing, as
pytorch/examples does. Both are scored by
the same function (recur's one-stream ``stream_loss``) on valid.txt and test.txt, and both budgets
count training time only. The peer, written here from its description: a 2x200 tied LSTM, dropout
0.2, weights uniform in +-0.1, plain SGD at lr 20 divided by 4 when validation (at each epoch's
end) stops improving, batch 20, 35 steps of BPTT, gradient norm clipped at 0.25.

The table goes between the ``words:start`` / ``words:end`` markers of docs/benchmarks.md
(``--dry-run`` writes nowhere); ``make bench`` runs it after the speed and quality rows.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

import recur
from recur.config.fields import parse_duration
from recur.config.options import DataConfig
from recur.lm.corpus import prepare_corpus
from recur.lm.evaluate import stream_loss

from .report import cpu_name

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
CORPORA = {"ptb": "ptb/ptb.{}.txt", "wikitext-2": "wikitext-2/{}.txt"}
PAGE = ROOT / "docs" / "benchmarks.md"
MARKERS = ("<!-- words:start -->", "<!-- words:end -->")
PEER = dict(hidden_size=200, num_layers=2, dropout=0.2, lr=20.0, batch_size=20, bptt=35, clip=0.25)


class PeerLM(nn.Module):
    """pytorch/examples' RNNModel (LSTM, tied), with recur's forward contract so the same
    evaluation scores it: forward(ids (B, T), state, targets) -> (logits or mean loss, state)."""

    def __init__(self, vocab_size: int, size: int, layers: int, dropout: float):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(vocab_size, size)
        self.rnn = nn.LSTM(size, size, layers, dropout=dropout, batch_first=True)
        self.decoder = nn.Linear(size, vocab_size)
        self.decoder.weight = self.encoder.weight  # tied
        nn.init.uniform_(self.encoder.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)

    def forward(self, ids, state=None, targets=None):
        out, state = self.rnn(self.drop(self.encoder(ids)), state)
        logits = self.decoder(self.drop(out))  # (B, T, V)
        if targets is None:
            return logits, state
        return nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten()), state


def train_peer(train_ids, val_ids, vocab_size: int, seconds: float, peer: dict) -> PeerLM:
    """The recipe for ``seconds`` of training steps; returns the weights of its best validation
    (checked at every epoch's end and when the budget runs out, as the example saves its best)."""
    torch.manual_seed(0)
    model = PeerLM(vocab_size, peer["hidden_size"], peer["num_layers"], peer["dropout"])
    data = batchify(torch.from_numpy(np.asarray(train_ids, dtype=np.int64)), peer["batch_size"])
    lr, best, best_state, elapsed, steps = peer["lr"], math.inf, None, 0.0, 0
    while elapsed < seconds:
        state = None
        model.train()
        for start in range(0, data.shape[1] - 1, peer["bptt"]):
            tick = time.perf_counter()
            x = data[:, start : start + peer["bptt"]]
            y = data[:, start + 1 : start + 1 + x.shape[1]]
            x = x[:, : y.shape[1]]
            state = None if state is None else tuple(s.detach() for s in state)
            loss, state = model(x, state, y)
            model.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), peer["clip"])
            with torch.no_grad():
                for p in model.parameters():
                    p.add_(p.grad, alpha=-lr)
            elapsed, steps = elapsed + time.perf_counter() - tick, steps + 1
            if elapsed >= seconds or steps >= peer.get("max_steps", math.inf):
                elapsed = seconds  # the budget ends the epoch early
                break
        total, count = stream_loss(model, val_ids)
        if total / count < best:
            best, best_state = total / count, {k: v.clone() for k, v in model.state_dict().items()}
        else:
            lr /= 4.0
    model.load_state_dict(best_state or model.state_dict())
    return model


def perplexities(model, tokenizer, files: dict) -> dict:
    """Perplexity of ``model`` on each named file, one stream (recur evaluate's measure)."""
    result = {}
    for name, path in files.items():
        ids = np.asarray(tokenizer.encode(Path(path).read_text(encoding="utf-8")))
        total, count = stream_loss(model, ids)
        result[name] = math.exp(total / count)
    return result


def batchify(ids: torch.Tensor, batch_size: int) -> torch.Tensor:
    """The example's layout: the ids cut into ``batch_size`` contiguous streams, (B, N)."""
    length = len(ids) // batch_size
    return ids[: length * batch_size].view(batch_size, length)


def run_corpus(name: str, files: dict, budget: str, threads: int, out: Path, dry: bool) -> list:
    """Both rows of one corpus: recur's word preset, then the peer on the same ids and budget."""
    options = dict(level="word", threads=threads, samples=0, seed=0, validation_file=files["valid"])
    options.update(DRY_RECUR if dry else {"time": budget})
    model = recur.train(files["train"], out=str(out / name), quiet=True, **options)
    tokenizer, scored = model.bundle.tokenizer, {k: v for k, v in files.items() if k != "train"}
    rows = [
        {"corpus": name, "recipe": "recur", **perplexities(model.bundle.model, tokenizer, scored)}
    ]
    data = DataConfig(
        paths=[files["train"]],
        level="word",
        split_punctuation=False,
        validation_file=files["valid"],
    )
    corpus = prepare_corpus(data, tokenizer)  # the run's own split, the run's own ids
    torch.set_num_threads(threads)
    peer = {**PEER, **(DRY_PEER if dry else {})}
    network = train_peer(
        corpus.train_ids, corpus.val_ids, tokenizer.vocab_size, parse_duration(budget), peer
    )
    rows.append({"corpus": name, "recipe": "peer", **perplexities(network, tokenizer, scored)})
    return rows


# --dry-run: a tiny model for a few steps on a tiny corpus, every code path once.
DRY_RECUR = dict(steps=3, hidden_size=16, embedding_size=16, batch_size=4, seq_length=8)
DRY_PEER = dict(hidden_size=16, batch_size=4, bptt=8, max_steps=3)


def table(rows: list, budget: str, threads: int) -> str:
    """The markdown table of ``rows`` (both recipes per corpus) and what it measured."""
    names = {
        "recur": "recur's word preset (`--level word`)",
        "peer": "pytorch/examples word_language_model (2x200 tied LSTM, SGD lr 20)",
    }
    lines = [
        f"Written by `python -m benchmarks.words --budget {budget} --threads {threads}` on "
        f"{time.strftime('%Y-%m-%d')} ({cpu_name()}): each recipe trained {budget} (training "
        "time only) in the same run, on the same tokens; perplexity of the whole file, one "
        "stream.",
        "",
        "| corpus | recipe | valid perplexity | test perplexity |",
        "|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['corpus']} | {names[row['recipe']]} | {row['valid']:.1f} | {row['test']:.1f} |"
        )
    return "\n".join(lines)


def write_page(text: str, page: Path = PAGE) -> None:
    """``text`` between the markers of docs/benchmarks.md (the rest of the page unchanged)."""
    start, end = MARKERS
    old = page.read_text(encoding="utf-8")
    if start not in old or end not in old:
        raise SystemExit(f"{page} has no {start} ... {end} markers")
    head, rest = old.split(start, 1)
    page.write_text(
        head + start + "\n" + text + "\n" + end + rest.split(end, 1)[1], encoding="utf-8"
    )


def dry_corpus(folder: Path) -> dict:
    """train / valid / test files of a tiny generated word corpus."""
    words = "the cat sat on a mat and dog ran to big red house".split()
    generator = np.random.default_rng(0)
    files = {}
    for name, lines in (("train", 400), ("valid", 40), ("test", 40)):
        text = "\n".join(" ".join(generator.choice(words, 8)) for _ in range(lines)) + "\n"
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
        files[name] = str(folder / f"{name}.txt")
    return files


def main(argv: list[str] | None = None) -> list:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", default="10m", help="training time of each recipe")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--corpora", nargs="+", default=list(CORPORA), choices=list(CORPORA))
    parser.add_argument("--out", default=None, help="run directories (default: a temp folder)")
    parser.add_argument("--dry-run", action="store_true", help="tiny corpus, a few steps")
    args = parser.parse_args(argv)
    rows: list = []
    with tempfile.TemporaryDirectory() as temp:
        out = Path(args.out or temp)
        out.mkdir(parents=True, exist_ok=True)
        for name in ["dry"] if args.dry_run else args.corpora:
            if args.dry_run:
                files = dry_corpus(out)
            else:
                files = {s: str(DATA / CORPORA[name].format(s)) for s in ("train", "valid", "test")}
                if not Path(files["train"]).is_file():
                    print(f"skipping {name}: {files['train']} is absent")
                    continue
            rows += run_corpus(name, files, args.budget, args.threads, out, args.dry_run)
    text = table(rows, args.budget, args.threads)
    print(text)
    print(json.dumps(rows))
    if rows and not args.dry_run:
        write_page(text)
    return rows


if __name__ == "__main__":
    main()
