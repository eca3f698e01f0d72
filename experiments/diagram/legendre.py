"""diagram, legendre: the discrete Legendre–Fenchel conjugate by the linear-time Legendre transform.

For data φ_j at points y_j (φ = +∞ elsewhere), φ*(p) = max_j [p·y_j − φ_j]. The fast transform
(Lucet 1997) never forms the N × m table of that max: after sorting the y_j it builds the lower convex
hull of the points (y_j, φ_j) (monotone chain, linear in N), whose edge slopes c_k increase; the
conjugate at slope p is then attained at the hull vertex k with c_{k−1} ≤ p ≤ c_k, found by a merge
of the sorted slopes (here torch.searchsorted). Cost O(N + m) per transform after the sort, against
O(N·m) for the direct max — which is the tropical corner, so the two are independent computations.

In d = 2 the transform is separable: φ*(p₁, p₂) = max over y₁ of [p₁y₁ − ψ(y₁; p₂)] with
ψ(y₁; p₂) = min over y₂ of [φ(y₁, y₂) − p₂y₂]. On the product grid of the atoms' coordinates each row
y₁ = y_{j1} holds one finite value, so the inner pass is one affine function per row and the outer pass
is a 1-D transform per p₂ row. For d ≥ 3 a slope grid resolving the layer has m^d nodes (10^8 at d = 8
with only 10 per axis): the grid transform is infeasible there and is not attempted.

The hull is a stack, built point by point (its pops depend on earlier pops); the loop runs over the N
sorted points with every batch row (replicate × slope row) advanced at once.
"""

from __future__ import annotations

import torch
from torch import Tensor


def lower_hull(y: Tensor, phi: Tensor) -> tuple[Tensor, Tensor]:
    """Lower convex hull of (y_i, φ_i), y sorted ascending along the last axis.  y, φ: [B, N].

    Returns (idx [B, N], size [B]): the hull vertices' indices, left to right, in idx[:, :size].
    """
    B, N = phi.shape
    rows = torch.arange(B, device=phi.device)
    stack = torch.zeros(B, N, dtype=torch.long, device=phi.device)
    top = torch.zeros(B, dtype=torch.long, device=phi.device)
    for i in range(N):
        yi, pi = y[:, i], phi[:, i]
        while True:  # pop while the last two vertices and point i do not turn left
            o = stack[rows, (top - 2).clamp_min(0)]
            a = stack[rows, (top - 1).clamp_min(0)]
            yo, ya = y[rows, o], y[rows, a]
            po, pa = phi[rows, o], phi[rows, a]
            cross = (ya - yo) * (pi - po) - (pa - po) * (yi - yo)
            pop = (top >= 2) & (cross <= 0)
            if not bool(pop.any()):
                break
            top = top - pop.long()
        stack[rows, top] = i
        top = top + 1
    return stack, top


def conjugate_1d(y: Tensor, phi: Tensor, p: Tensor) -> Tensor:
    """φ*(p) = max_j [p y_j − φ_j] by the hull and a merge.  y, φ: [B, N] (any order); p: [B, m] -> [B, m]."""
    y, order = torch.sort(y, dim=-1)
    phi = phi.gather(-1, order)
    idx, size = lower_hull(y, phi)
    hy, hphi = y.gather(-1, idx), phi.gather(-1, idx)  # hull vertices (padded past size)
    slopes = (hphi[:, 1:] - hphi[:, :-1]) / (hy[:, 1:] - hy[:, :-1])  # [B, N − 1], increasing on the hull
    beyond = torch.arange(slopes.shape[-1], device=y.device) >= (size - 1)[:, None]
    slopes = slopes.masked_fill(beyond, float("inf"))
    k = torch.searchsorted(slopes.contiguous(), p.contiguous())  # vertex whose slope interval holds p
    return p * hy.gather(-1, k) - hphi.gather(-1, k)


def conjugate_2d(y: Tensor, phi: Tensor, p1: Tensor, p2: Tensor) -> Tensor:
    """φ* on the slope grid p1 × p2, separably.  y: [R, N, 2], φ: [R, N], p1: [m1], p2: [m2] -> [R, m2, m1]."""
    R, N, _ = y.shape
    m1, m2 = len(p1), len(p2)
    psi = phi[:, None, :] - p2[None, :, None] * y[:, None, :, 1]  # inner pass: one affine value per row  [R, m2, N]
    y1 = y[:, None, :, 0].expand(R, m2, N).reshape(R * m2, N)
    out = conjugate_1d(y1, psi.reshape(R * m2, N), p1.expand(R * m2, m1))
    return out.reshape(R, m2, m1)
