"""Complete documents from document models: ``-n`` documents, each ended by ``<eos>``, within
``--min-words`` / ``--max-words``, optionally all different, plus the novelty report.

Samples are drawn in batches; a sample that runs out of ``--length`` tokens before ``<eos>``, or
falls outside the word bounds, is thrown away and another is drawn: documents are resampled,
never cut. The novelty report looks each output up in the fingerprints of the training documents
that ``recur train`` keeps in the run directory (``documents.json``).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch

from recur.data.documents import fingerprint, normalize
from recur.data.streams import line_end_id
from recur.errors import RecurError, UsageError
from recur.generate.beam import beam_search
from recur.generate.conditions import contrast_rows, parse_condition, start_rows
from recur.generate.loop import Generation, Guidance, generate
from recur.tokenizers import count_words

MAX_ROUNDS = 25


def check_bounds(min_words, max_words) -> None:
    if (min_words is not None and min_words < 0) or (max_words is not None and max_words < 1):
        raise RecurError("--min-words must be >= 0 and --max-words >= 1")
    if min_words is not None and max_words is not None and min_words > max_words:
        raise UsageError(f"--min-words {min_words} is above --max-words {max_words}")


def within(text: str, min_words, max_words) -> bool:
    words = count_words(text)
    return (min_words is None or words >= min_words) and (max_words is None or words <= max_words)


def generate_documents(
    model, tokenizer, counts: dict, sample, device="cpu", every_line: bool = False
) -> Generation:
    """``sample.num_samples`` complete documents that meet the bounds (see the module doc);
    ``every_line``: the run was trained with ``--condition-every-line``."""
    check_bounds(sample.min_words, sample.max_words)
    chosen = parse_condition(sample.condition, counts)
    seed = int(torch.randint(0, 2**31 - 1, ()).item()) if sample.seed is None else sample.seed
    conditions_rng = torch.Generator().manual_seed(seed)
    wanted, batch = sample.num_samples, min(max(2 * sample.num_samples, 16), 256)
    refresh = line_end_id(tokenizer) if every_line and counts else None
    texts: list[str] = []
    used, seen, tries = [], set(), 0
    for attempt in range(MAX_ROUNDS):
        if len(texts) == wanted:
            break
        starts, values = start_rows(tokenizer, counts, chosen, batch, conditions_rng)
        guidance = None
        if sample.guidance:
            contrasts = contrast_rows(starts, tokenizer, counts, chosen)
            guidance = Guidance(sample.guidance, 1 + len(contrasts) // batch)
            starts = starts + contrasts
        result = generate(
            model,
            tokenizer,
            dataclasses.replace(sample, num_samples=batch, seed=seed + attempt, stop=None),
            device=device,
            end_at_eos=True,
            starts=starts,
            refresh=refresh,
            guidance=guidance,
        )
        for text, finished, condition in zip(result.texts, result.finished, values):
            tries += 1
            key = normalize(text)
            if (
                not finished
                or not within(text, sample.min_words, sample.max_words)
                or (sample.unique and key in seen)
                or len(texts) == wanted
            ):
                continue
            seen.add(key)
            texts.append(text)
            used.append(condition)
    if len(texts) < wanted:
        raise RecurError(
            f"only {len(texts)} of {wanted} samples ended within --length "
            f"{sample.length} tokens and the word bounds after {tries} tries; widen "
            "--min-words/--max-words, raise --length, or train longer"
        )
    return Generation(texts, seed, [True] * wanted, used)


def run_directory(checkpoint: Path) -> Path:
    return checkpoint.parent if checkpoint.name in ("best", "last") else checkpoint


def novelty_report(texts: list, checkpoint: Path) -> dict | None:
    """How many outputs occur verbatim (after ``documents.normalize``) among the training
    documents; None when the run kept no fingerprints (not a document model)."""
    path = run_directory(Path(checkpoint)) / "documents.json"
    if not path.is_file():
        return None
    known = set(json.loads(path.read_text(encoding="utf-8"))["fingerprints"])
    copied = sum(fingerprint(text) in known for text in texts)
    return {
        "outputs": len(texts),
        "in_training": copied,
        "novel": len(texts) - copied,
        "novel_share": (len(texts) - copied) / max(len(texts), 1),
    }


def generate_for_run(bundle, sample, device="cpu") -> Generation:
    """Dispatch once on the run's kind: beam search, complete documents, or free-running text."""
    data = bundle.config.get("data", {})
    documents = data.get("documents", "none") not in ("none", "auto")
    counts = data.get("conditions", {}) or {}
    model, tokenizer = bundle.model, bundle.tokenizer
    if not documents:
        used = [
            flag
            for flag, value in (
                ("--min-words", sample.min_words),
                ("--max-words", sample.max_words),
                ("--unique", sample.unique or None),
                ("--condition", sample.condition),
                ("--guidance", sample.guidance or None),
            )
            if value is not None
        ]
        if used:
            raise RecurError(
                f"{', '.join(used)} need a document model (train on CSV/JSONL "
                "rows, or text with --documents lines/blocks)"
            )
    every_line = bool(data.get("condition_every_line")) and bool(counts)
    if sample.beam:
        if sample.guidance:
            raise RecurError("--beam does not support --guidance (it steers sampling)")
        chosen = parse_condition(sample.condition, counts)
        starts = (
            start_rows(
                tokenizer, counts, chosen, 1, torch.Generator().manual_seed(sample.seed or 0)
            )[0]
            if documents
            else None
        )
        return beam_search(
            model,
            tokenizer,
            sample.prime,
            sample.beam,
            sample.length,
            sample.num_samples,
            documents,
            starts,
            device,
            line_end_id(tokenizer) if every_line else None,
            sample.precision,
        )
    if documents:
        result = generate_documents(model, tokenizer, counts, sample, device, every_line)
        result.novelty = novelty_report(result.texts, bundle.path)
        return result
    return generate(model, tokenizer, sample, device=device)
