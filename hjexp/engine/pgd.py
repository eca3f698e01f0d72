"""One restart of PGD on LSE classifiers with no host sync inside a step (a GPU's form of
eps-robustness's torch PGD loop, experiments/eps_robustness/attacks._attack_rows).

That loop compacts the rows still under attack after every step (``hit.any()``, boolean indexing,
and ``int(counts.max())`` for the per-member padding): five host syncs a step. Here the rows stay
where they are: a row whose iterate is adversarial is marked found, its distance kept, and it is
not moved again (its iterate is selected back, so it stays exactly where it was found); the
per-member padded layout is computed once per call; the host reads whether any row is left once
every ``READ_EVERY`` steps to end early. Same start, same step sizes, same projections, so the same
examples are found (to the roundoff of the products, which see other rows alongside).

The classifier is given as its tensors: W [E, C, N, k], b [E, C, N], ε [E], the PCA mean μ [D] and
components P [D, k] (z_c(x) = ε log Σ_j exp((w_cj·u + b_cj)/ε), u = (x − μ)P).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

READ_EVERY = 10  # steps between the host's reads of "any row left" (the loop's only sync)


def layout(member: Tensor, E: int) -> tuple[Tensor, int]:
    """(slot [P]: each row's place in the [E, width] padded block, width) for rows of members
    ``member`` (ascending). One host read (the width), once per call."""
    counts = torch.bincount(member, minlength=E)
    width = int(counts.max()) if len(member) else 0
    start = torch.cumsum(counts, 0) - counts
    return member * width + torch.arange(len(member), device=member.device) - start[member], width


def objective(W: Tensor, b: Tensor, eps: Tensor, mean: Tensor, comps: Tensor, x: Tensor, member: Tensor,
              y: Tensor, loss: str, slot: Tensor, width: int, grad: bool = True) -> tuple[Tensor, Tensor | None]:
    """Margins z_y − max_{j≠y} z_j [P] and ∇_x of the attack objective [P, D] (cross-entropy, or the
    negated margin), in closed form: ∇_x z_c = P E_{π_c}[w_c]."""
    E, C, N, k = W.shape
    P = len(y)

    def padded(v: Tensor) -> Tensor:  # [P, m] -> [E, width, m]
        return v.new_zeros(E * width, v.shape[1]).index_copy_(0, slot, v).view(E, width, v.shape[1])

    u = (x - mean) @ comps  # [P, k]
    flat_w = W.reshape(E, C * N, k)
    a = torch.baddbmm(b.reshape(E, 1, C * N), padded(u), flat_w.transpose(1, 2))
    e = eps[member][:, None, None]
    s = a.view(E * width, C, N)[slot] / e  # [P, C, N]
    z = e[..., 0] * torch.logsumexp(s, -1)  # [P, C]
    zy = z.gather(1, y[:, None])
    rival = z.scatter(1, y[:, None], -math.inf).argmax(1, keepdim=True)
    gap = (zy - z.gather(1, rival))[:, 0]
    if not grad:
        return gap, None
    dz = torch.softmax(z, 1) if loss == "ce" else torch.zeros_like(z).scatter_(1, rival, 1.0)
    dz.scatter_add_(1, y[:, None], -torch.ones_like(zy))
    q = dz[..., None] * torch.softmax(s, -1)  # [P, C, N]
    g_u = torch.bmm(padded(q.view(P, C * N)), flat_w).view(E * width, k)[slot]
    return gap, g_u @ comps.T


def row_norm(v: Tensor) -> Tensor:
    """‖v_i‖₂ of each row.  v [P, D] -> [P, 1]."""
    return v.norm(dim=1, keepdim=True)


def start(x0: Tensor, radius: Tensor, norm: str, generator) -> Tensor:
    """A uniform random point of the ℓ∞ ball, or a random direction at a uniform fraction of the ℓ2 radius."""
    kw = dict(generator=generator, dtype=x0.dtype, device=x0.device)
    if norm == "linf":
        return x0 + radius * (2 * torch.rand(x0.shape, **kw) - 1)
    d = torch.randn(x0.shape, **kw)
    return x0 + radius * torch.rand(len(x0), 1, **kw) * d / row_norm(d).clamp_min(1e-30)


def _moved(xa: Tensor, g: Tensor, x0: Tensor, alpha: Tensor, radius: Tensor, norm: str, lo: Tensor | None,
           hi: Tensor | None, box) -> Tensor:
    """The projected ascent step from xa (a new tensor; g is overwritten)."""
    if norm == "linf":
        return torch.clamp(xa.addcmul(g.sign_(), alpha), lo, hi)  # the ball ∩ box is a box
    out = xa.addcmul(g, alpha / row_norm(g).clamp_min(1e-30)).sub_(x0)  # δ
    out.mul_((radius / row_norm(out).clamp_min(1e-30)).clamp_max(1.0)).add_(x0)
    return out if box is None else out.clamp_(*box)


def attack_rows(W: Tensor, b: Tensor, eps: Tensor, mean: Tensor, comps: Tensor, x0: Tensor, y: Tensor,
                member: Tensor, radius: Tensor, *, norm: str, loss: str, steps: int, generator, box,
                progress=None) -> tuple[Tensor, Tensor]:
    """One restart on P rows (pairs; ``member`` ascending); step t of T has size r·(2(1 − t/T) + 1/T).
    Returns (found [P] bool, ℓ2 distance of the example found [P], inf where none).
    ``progress(1)`` is called after each step (it lets a recorder split the loop into steps)."""
    P = len(y)
    found = torch.zeros(P, dtype=torch.bool, device=x0.device)
    dist = torch.full((P,), math.inf, dtype=x0.dtype, device=x0.device)
    radius = radius[:, None]
    lo = hi = None
    if norm == "linf":
        lo, hi = x0 - radius, x0 + radius
        if box is not None:
            lo.clamp_(min=box[0])
            hi.clamp_(max=box[1])
    xa = start(x0, radius, norm, generator)
    if box is not None:
        xa.clamp_(*box)
    slot, width = layout(member, len(eps))
    for t in range(steps + 1):
        last = t == steps
        alpha = radius * (2 * (1 - t / steps) + 1 / steps)
        gap, g = objective(W, b, eps, mean, comps, xa, member, y, loss, slot, width, grad=not last)
        hit = (gap < 0) & ~found
        dist = torch.where(hit, (xa - x0).norm(dim=1), dist)
        found |= hit
        if not last:
            xa = torch.where(found[:, None], xa, _moved(xa, g, x0, alpha, radius, norm, lo, hi, box))
        stop = last or ((t + 1) % READ_EVERY == 0 and bool(found.all()))
        if progress is not None:
            progress(1)
        if stop:
            break
    return found, dist
