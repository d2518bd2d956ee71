"""What the adversarial methods (ACMR, UCAL, AGAH) share: the gradient reversal layer.

Ganin & Lempitsky (ICML 2015): identity in the forward pass, the gradient multiplied by -λ in the
backward pass. Placed between an embedding and a *modality classifier* D, one backward pass trains
D to tell audio from visual embeddings (min over D of L_adv) while pushing the projectors to make
them indistinguishable (max over the projectors of L_adv): the minimax of ACMR's eq. (L_emb − L_adv)
in a single step. Methods whose paper alternates the two players use ordinary steps instead.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class _ReverseGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, lambd: float) -> torch.Tensor:
        ctx.lambd = lambd
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.lambd * grad, None


def reverse_gradient(x: torch.Tensor, lambd: float = 1.0) -> torch.Tensor:
    """Identity forward; gradient × (−λ) backward."""
    out: torch.Tensor = _ReverseGradient.apply(x, float(lambd))
    return out


class GradientReversal(nn.Module):
    """:func:`reverse_gradient` as a layer (λ fixed at construction, settable between steps)."""

    def __init__(self, lambd: float = 1.0) -> None:
        super().__init__()
        self.lambd = float(lambd)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return reverse_gradient(x, self.lambd)
