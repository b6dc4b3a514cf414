"""The adaptive softmax's training loss with its products in the autocast's dtype.

``nn.AdaptiveLogSoftmaxWithLoss.forward`` cannot run under a bf16 autocast (its ``index_copy_``
would mix a bf16 cluster log-probability into an fp32 output), so recur used to run it in fp32
throughout. ``adaptive_loss`` computes the same loss from the module's own parameters: the head
and tail products as autocast runs them (bf16 operands under ``--precision bf16``), every
log-softmax, gather and sum in fp32, and no in-place writes. Outside an autocast it gives the
module's numbers (tests/models/test_bf16_word_loss.py). Under one, each cluster's rows are padded
to a multiple of ``ROW_MULTIPLE`` (oneDNN compiles a bf16 kernel for every new shape, and a
cluster's row count changes every step; the padded rows' outputs are dropped).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# Under an autocast each cluster's rows are padded to a multiple of this: the bf16 products'
# kernels are built per shape (tens of ms each), and the row count changes every step.
ROW_MULTIPLE = 64


def adaptive_loss(
    decoder: nn.AdaptiveLogSoftmaxWithLoss, hidden: torch.Tensor, targets: torch.Tensor
) -> torch.Tensor:
    """Mean negative log-likelihood of ``targets`` (N,) given ``hidden`` (N, H): the loss of
    ``decoder(hidden, targets)``."""
    if targets.numel() and (int(targets.min()) < 0 or int(targets.max()) >= decoder.n_classes):
        raise RuntimeError(f"Target values should be in [0, {decoder.n_classes - 1}]")
    low = torch.is_autocast_enabled(hidden.device.type)
    shortlist = decoder.shortlist_size
    edges = [shortlist, *decoder.cutoffs[1:]]
    cluster = torch.bucketize(targets, torch.tensor(edges, device=targets.device), right=True)
    # the head's column for each row: the word itself, or its cluster's entry after the shortlist
    column = torch.where(cluster == 0, targets, shortlist + cluster - 1)
    head = F.log_softmax(decoder.head(hidden).float(), dim=-1)
    total = -head.gather(1, column[:, None]).sum()
    for index, tail in enumerate(decoder.tail, start=1):
        rows = (cluster == index).nonzero().squeeze(1)
        if rows.numel() == 0:
            continue
        local = targets.index_select(0, rows) - edges[index - 1]
        count = rows.numel()
        if low:  # a few row counts, not one per step: oneDNN builds a kernel per new shape
            rows = F.pad(rows, (0, -count % ROW_MULTIPLE))  # padded with row 0, then dropped
        logits = tail(hidden.index_select(0, rows))[:count]
        logp = F.log_softmax(logits.float(), dim=-1)
        total = total - logp.gather(1, local[:, None]).sum()
    return total / max(targets.numel(), 1)
