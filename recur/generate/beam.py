"""Beam search: the most likely completion of a prime, with length normalisation.

K hypotheses advance together through ``Stepper`` (the state is carried, never re-fed). Each step
scores every live hypothesis + next token by summed log-probability and keeps the K best. In
document models every live hypothesis may also end with ``<eos>`` at every step: that finished
document is ranked by its log-probability divided by its length in tokens (``<eos>`` included),
so short endings do not win just by being short. Without ``<eos>`` every hypothesis has the
same length and the sum decides.
"""

from __future__ import annotations

import torch

from recur.errors import RecurError
from recur.generate.loop import Generation
from recur.generate.starts import banned_ids, mark_lines, start_rows
from recur.generate.stepper import stepper_for


@torch.no_grad()
def beam_search(
    model,
    tokenizer,
    prime: str = "",
    beam: int = 4,
    length: int = 100,
    num_samples: int = 1,
    end_at_eos: bool = False,
    starts: list | None = None,
    device="cpu",
    refresh: int | None = None,
    precision: str = "fp32",
) -> Generation:
    """The ``num_samples`` best completions (most likely first) found with ``beam`` beams;
    ``refresh`` (a line-end id) feeds the condition tokens after each line end, as in training."""
    if beam < 1 or num_samples > beam:
        raise RecurError("--beam must be >= 1 and at least -n")
    was_training = model.training
    model.eval()
    rows, hidden = start_rows(tokenizer, prime, 1, starts)
    marks = starts[0][1:] if refresh is not None and starts and len(starts[0]) > 1 else None
    if marks and refresh is not None:
        rows = [mark_lines(rows[0], hidden, refresh)]
    logits, state = model(torch.tensor(rows, device=device), None)
    banned = banned_ids(tokenizer, end_at_eos, device)
    stepper = stepper_for(model, precision)
    layers = stepper.to_layers(state)
    logp = _log_probs(logits[:, -1], banned)  # (K, V)
    live: list[list[int]] = [[]]
    scores, finished = torch.zeros(1, device=device), []
    for _ in range(length):
        total = scores[:, None] + logp  # (K, V)
        if end_at_eos:  # every hypothesis may end here; the live ones go on without <eos>
            ends = total[:, tokenizer.eos_id].tolist()
            finished += [
                (end / (len(hypothesis) + 1), hypothesis)
                for end, hypothesis in zip(ends, live)
                if end > float("-inf")
            ]
            total[:, tokenizer.eos_id] = float("-inf")
        parents, tokens, kept = _best_extensions(total, live, beam)
        if not kept:
            break
        index = torch.tensor(parents, device=device)
        layers = [s.index_select(0, index) for s in layers]
        live = [hypothesis for _, hypothesis in kept]
        scores = torch.tensor([score for score, _ in kept], device=device)
        fed = torch.tensor(tokens, device=device)
        last, layers = stepper(fed, layers)
        if marks and refresh is not None:
            repeated = torch.tensor([marks] * len(tokens), device=device)  # (K, C)
            last, layers = stepper.refresh(fed == refresh, repeated, last, layers)
        logp = _log_probs(last, banned)
    model.train(was_training)
    ranked = sorted(finished, key=lambda item: -item[0]) if end_at_eos else []
    if len(ranked) < num_samples:  # unfinished hypotheses fill in, best sums first
        ranked += [(s / max(len(h), 1), h) for s, h in zip(scores.tolist(), live)]
    best = ranked[:num_samples]
    texts = [tokenizer.decode(rows[0][hidden:] + tokens) for _, tokens in best]
    return Generation(texts, 0, [end_at_eos and i < len(finished) for i in range(len(best))])


def _best_extensions(total: torch.Tensor, live: list, beam: int) -> tuple[list, list, list]:
    """The ``beam`` best (hypothesis, token) pairs of the (K, V) scores ``total``: their parent
    rows, their tokens and (score, extended hypothesis); impossible ones are left out."""
    top = torch.topk(total.flatten(), min(total.numel(), beam))
    parents, tokens, kept = [], [], []
    for score, flat in zip(top.values.tolist(), top.indices.tolist()):
        if score == float("-inf"):
            break
        parent, token = divmod(flat, total.shape[1])
        parents.append(parent)
        tokens.append(token)
        kept.append((score, live[parent] + [token]))
    return parents, tokens, kept


def _log_probs(logits: torch.Tensor, banned: torch.Tensor) -> torch.Tensor:
    return logits.float().index_fill(-1, banned, float("-inf")).log_softmax(-1)
