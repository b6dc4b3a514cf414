"""``--optimizer muon``: Muon (Jordan et al. 2024) on the recurrent layers' weight matrices and
AdamW on the rest (embeddings, output layers, biases), in one optimizer the trainer, the loss
scaler and the resume state treat as any other.

Muon replaces each matrix's momentum by its nearest semi-orthogonal matrix
(``--newton-schulz-steps`` iterations in bf16) before the step. A recurrent layer's stacked gate
matrices (3 for a GRU, 4 for an LSTM) are orthogonalised gate by gate, as Muon's authors treat a
transformer's stacked query, key and value. The step is scaled by 0.2 x sqrt(the larger side) so
that AdamW's learning rate and weight decay carry over (Liu et al. 2025, "Muon is Scalable for
LLM Training").
"""

from __future__ import annotations

import math
from typing import cast

import torch

# The quintic Newton-Schulz coefficients of Muon's reference implementation: they maximise the
# slope at zero, so five steps bring every singular value near 1 (``--newton-schulz-steps``).
NEWTON_SCHULZ = (3.4445, -4.7750, 2.0315)
MOMENTUM = 0.95


def orthogonalise(blocks: torch.Tensor, steps: int) -> torch.Tensor:
    """The approximate nearest semi-orthogonal matrix of each (rows, columns) block of ``blocks``
    (G, rows, columns) after ``steps`` iterations, computed in bf16 and returned in fp32."""
    a, b, c = NEWTON_SCHULZ
    x = blocks.bfloat16()
    tall = x.size(1) > x.size(2)
    if tall:
        x = x.transpose(1, 2)
    # Frobenius norm >= spectral norm: every singular value starts at most 1.
    x = x / x.norm(dim=(1, 2), keepdim=True).clamp(min=1e-7)
    for _ in range(steps):
        gram = x @ x.transpose(1, 2)
        poly = torch.baddbmm(gram, gram, gram, beta=b, alpha=c)
        x = torch.baddbmm(x, poly, x, beta=a)
    if tall:
        x = x.transpose(1, 2)
    return x.float()


class MuonAdamW(torch.optim.Optimizer):
    """Muon on the groups marked ``muon`` (each with ``gates``: how many stacked blocks its
    matrices hold), a fused AdamW on the others; one ``state`` and one list of groups, so
    ``state_dict``/``load_state_dict`` and the learning-rate schedule work unchanged."""

    def __init__(
        self,
        groups: list[dict],
        lr: float,
        betas: tuple[float, float],
        lr_scale: float,
        newton_schulz_steps: int,
        fused: bool | None = None,
    ):
        self.lr_scale = lr_scale
        self.newton_schulz_steps = newton_schulz_steps
        adam_groups = [group for group in groups if not group.get("muon")]
        self.adamw = (
            torch.optim.AdamW(adam_groups, lr=lr, betas=betas, fused=fused) if adam_groups else None
        )
        defaults = {"lr": lr, "weight_decay": 0.0, "muon": False, "gates": 1}
        super().__init__(adam_groups + [g for g in groups if g.get("muon")], defaults)
        self.link()

    def link(self) -> None:
        # The inner AdamW steps the same group dicts and writes into the same state.
        if self.adamw is not None:
            self.adamw.param_groups = [group for group in self.param_groups if not group["muon"]]
            self.adamw.state = self.state

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        self.link()

    @torch.no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        if self.adamw is not None:
            self.adamw.step()
        for group in self.param_groups:
            if group["muon"]:
                for param in group["params"]:
                    if param.grad is not None:
                        self.muon_update(param, group)
        return loss

    def muon_update(self, param: torch.Tensor, group: dict) -> None:
        grad = cast(torch.Tensor, param.grad)
        state = self.state[param]
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = torch.zeros_like(param)
        buffer = state["momentum_buffer"]
        buffer.lerp_(grad, 1 - MOMENTUM)
        update = grad.lerp(buffer, MOMENTUM)  # Nesterov
        gates = group["gates"]
        blocks = update.reshape(gates, param.size(0) // gates, param.size(1))
        update = orthogonalise(blocks, self.newton_schulz_steps).reshape_as(param)
        scale = 0.2 * math.sqrt(max(blocks.size(1), blocks.size(2))) * self.lr_scale
        param.mul_(1 - group["lr"] * group["weight_decay"])
        param.add_(update, alpha=-group["lr"] * scale)
