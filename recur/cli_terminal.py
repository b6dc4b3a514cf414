"""``recur generate`` at the terminal: one sample printed as it is made (``stream_to``), and
``--interactive``, a prompt loop (type a prime, read the continuation). Both use
generate/streaming.py's ``stream_text``, the generator the server's step loop is built on."""

from __future__ import annotations

import dataclasses
import sys

from recur.config.sample_options import SampleConfig
from recur.errors import RecurError

# Options that need whole samples (documents resampled, beams compared): these print at the end.
WHOLE = ("beam", "min_words", "max_words", "unique", "condition", "guidance", "no_repeat_ngram")


def add_output_flags(generate) -> None:
    """``recur generate``'s --json and --interactive."""
    generate.add_argument("--json", action="store_true", help="print JSON instead of text")
    generate.add_argument(
        "--interactive",
        action="store_true",
        help="a prompt loop: type a prime, read its continuation as it is made",
    )


def print_as_made(model, options: dict, interactive: bool, as_json: bool) -> bool:
    """Print ``recur generate``'s output as it is made where it can be; False: not handled."""
    if interactive:
        if not streamable(model, options):
            raise RecurError(
                "--interactive prints one plain sample of a text model: leave out -n, --beam, "
                "the document and condition options"
            )
        interactive_loop(model, options)
        return True
    if as_json or not streamable(model, options):
        return False
    seed = stream_to(model, options)
    print(f"(seed {seed})", file=sys.stderr)
    return True


def streamable(model, options: dict) -> bool:
    """One plain sample of a text model: it can be printed token by token."""
    data = model.bundle.config.get("data", {})
    documents = data.get("documents", "none") not in ("none", "auto")
    return (
        not documents
        and options.get("num_samples", 1) == 1
        and not any(options.get(name) for name in WHOLE)
    )


def stream_to(model, options: dict, out=None) -> int:
    """Print one sample as it is made; returns its seed (reported like ``generate``'s)."""
    import torch  # the command line imports torch only when a command runs

    from recur.generate.streaming import stream_text

    out = out or sys.stdout
    sample = SampleConfig(**options)
    if sample.seed is None:
        sample = dataclasses.replace(sample, seed=int(torch.randint(0, 2**31 - 1, ()).item()))
    bundle = model.bundle
    for piece in stream_text(bundle.model, bundle.tokenizer, sample, model.device):
        out.write(piece)
        out.flush()
    out.write("\n")
    return int(sample.seed or 0)


def interactive_loop(model, options: dict) -> None:
    """Read a prime, print its continuation as it is made; an empty line or end of input quits
    (Ctrl-C stops the continuation being printed, not the loop)."""
    print("type the start of a text and press Enter; an empty line quits", file=sys.stderr)
    while True:
        try:
            prime = input("> ")
        except EOFError:
            print(file=sys.stderr)
            return
        if not prime:
            return
        try:
            stream_to(model, {**options, "prime": prime})
        except KeyboardInterrupt:
            print("\n(stopped)", file=sys.stderr)
