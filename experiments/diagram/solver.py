"""diagram, solver: the convex corner, max over the simplex of ⟨p, z⟩ + ε·H(p), by a generic method.

Mirror ascent with the entropy mirror map (exponentiated gradient): the solver sees the objective only
through its gradient ∇F(p) = z − ε(1 + log p); each step moves the dual variable log p along ∇F and
projects back onto the simplex in the KL geometry (a renormalisation). It never writes the maximiser
down: its fixed point is whatever the iteration converges to. It stops on a certificate that needs no
knowledge of the optimum — the Frank–Wolfe gap of a concave objective,

    F* − F(p) ≤ max_j ∇F_j(p) − ⟨p, ∇F(p)⟩,

so "converged to tol" means the value is within tol of the true maximum. Iterates are kept in log space
so that weights far below the floating-point range (z spread / ε up to 10^5) stay representable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class Solution:
    log_p: Tensor  # [B, n, N] the maximiser, in log space
    value: Tensor  # [B, n]    F(p) at the last iterate
    gap: Tensor  # [B, n]      certified F* − F(p) ≤ gap
    iterations: int


def entropic_objective(z: Tensor, eps: Tensor):
    """F(p) = ⟨p, z⟩ + ε H(p) and its gradient, as functions of log p.  z: [B, n, N], eps: [B]."""
    e = eps.reshape(-1, 1, 1)

    def value(log_p: Tensor) -> Tensor:
        return (log_p.exp() * (z - e * log_p)).sum(-1)  # Σ p z − ε Σ p log p

    def gradient(log_p: Tensor) -> Tensor:
        return z - e * (1.0 + log_p)

    return value, gradient


def mirror_ascent(value, gradient, shape: tuple[int, ...], eps: Tensor, *, step: float, tol: float,
                  max_iter: int, dtype: torch.dtype, device, check_every: int = 4) -> Solution:
    """Maximise a concave F on the simplex (last axis) from the uniform point.

    step: η·ε, the step in units of 1/ε (the entropic term is ε-smooth relative to the entropy, so
    η ≤ 1/ε is the classical safe range; step < 1 keeps it a genuine iteration). The error of log p
    then contracts by (1 − step) per iteration.
    """
    eta = (step / eps).reshape(-1, 1, 1)
    N = shape[-1]
    log_p = torch.full(shape, -math.log(N), dtype=dtype, device=device)
    for k in range(1, max_iter + 1):
        grad = gradient(log_p)
        if k % check_every == 0:
            gap = grad.amax(-1) - (log_p.exp() * grad).sum(-1)  # Frank–Wolfe certificate, ≥ 0
            if float(gap.max()) <= tol:
                break
        # A constant added to the gradient is removed by the projection; taking the largest one off keeps the
        # increments small near the optimum (∇F is constant there), so log p carries no (|z|/ε)-sized roundoff.
        log_p = log_p + eta * (grad - grad.amax(-1, keepdim=True))
        log_p = log_p - torch.logsumexp(log_p, -1, keepdim=True)  # KL projection onto the simplex
    grad = gradient(log_p)
    gap = grad.amax(-1) - (log_p.exp() * grad).sum(-1)
    return Solution(log_p, value(log_p), gap, k)
