"""diagram, corners: the views of one LSE layer, each computed from its own data by its own formula.

    network   f_ε(x) = LSE_ε(Wx + b)                         from (W, b), max-shifted logsumexp
    tropical  f_0(x) = max_j (w_j·x + b_j)                    from (W, b), a plain max
    PDE       u_ε(x) = −ε log Σ_j exp(−(g_j + |x − y_j|²/4t)/ε), u_0 = min_j [...]   from the atoms, by distances
    convex    max over the simplex of ⟨p, z⟩ + ε H(p)         solver.py; its ε = 0 dual is legendre.py

The atoms (y_j, g_j) = (2t w_j, −b_j − t|w_j|²) are the map that makes these one object (THEORY.md §3);
the Legendre data are φ_j = g_j + |y_j|²/4t at y_j, whose conjugate at p = x/2t is f_0(x).
Shapes: R replicates, E viscosities, n points, N neurons, d inputs; members are (replicate, ε) pairs
flattened replicate-major into B = R·E.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from hjexp.engine import closed as L


def draw_layers(R: int, N: int, d: int, gen: torch.Generator, dtype, device) -> tuple[Tensor, Tensor]:
    """W ~ N(0, 1/d) [R, N, d], b ~ N(0, 1) [R, N] — the random layers of identity's random setup."""
    W = torch.randn(R, N, d, generator=gen, dtype=dtype, device=device) / math.sqrt(d)
    b = torch.randn(R, N, generator=gen, dtype=dtype, device=device)
    return W, b


def members(t: Tensor, E: int) -> Tensor:
    """Repeat each replicate's tensor once per ε: [R, ...] -> [R·E, ...]."""
    return t.repeat_interleave(E, dim=0)


def network(x: Tensor, W: Tensor, b: Tensor, eps: Tensor) -> Tensor:
    """f_ε at x.  x [R, n, d], W [R, N, d], b [R, N], eps [E] -> [R, E, n]."""
    E, R = len(eps), W.shape[0]
    z = members(L.logits(x, W, b), E)  # logits once per replicate, then one copy per ε  [R·E, n, N]
    return L.lse(z, eps.repeat(R)).reshape(R, E, -1)


def tropical(x: Tensor, W: Tensor, b: Tensor) -> Tensor:
    """f_0 = max_j (w_j·x + b_j).  -> [R, n]."""
    return torch.baddbmm(b[:, None, :], x, W.transpose(1, 2)).amax(-1)


def pde(x: Tensor, y: Tensor, g: Tensor, eps: Tensor, t: float) -> Tensor:
    """u_ε by Hopf–Cole from the atoms.  -> [R, E, n]."""
    E, R = len(eps), y.shape[0]
    # −(g_j + |x − y_j|²/4t) by distances, one replicate at a time (the differences are [n, N, d])
    a = members(torch.cat([L.atom_logits(x[r], y[r : r + 1], g[r : r + 1], t) for r in range(R)]), E)
    return (-L.lse(a, eps.repeat(R))).reshape(R, E, -1)  # the Hopf–Cole formula (closed.hopf_cole, ε-batched)


def hopf_lax(x: Tensor, y: Tensor, g: Tensor, t: float) -> Tensor:
    """u_0 = min_j [g_j + |x − y_j|²/4t] from the atoms by distances.  -> [R, n]."""
    return torch.cat([L.hopf_lax(x[r], y[r : r + 1], g[r : r + 1], t) for r in range(y.shape[0])])


def legendre_data(y: Tensor, g: Tensor, t: float) -> Tensor:
    """φ_j = g_j + |y_j|²/4t: the atoms' data whose conjugate at p = x/2t is the tropical layer.  [R, N]."""
    return g + (y * y).sum(-1) / (4.0 * t)


def tie_points(x: Tensor, W: Tensor, b: Tensor, sweeps: int = 4) -> tuple[Tensor, Tensor]:
    """Move each x onto the boundary of its cell: the set where its two largest logits tie.

    x' = x − (z₁ − z₂)/|w₁ − w₂|² · (w₁ − w₂) makes z₁ = z₂; a third logit may overtake, so the step is
    repeated with the new top two. Returns (points [R, n, d], tied [R, n] bool: the top two agree to
    1000 machine ε relative, i.e. the point lies on a tie set, where the ε → 0 gap is largest).
    """
    for _ in range(sweeps):
        z = torch.baddbmm(b[:, None, :], x, W.transpose(1, 2))  # [R, n, N]
        top, idx = z.topk(2, dim=-1)
        w1 = W.gather(1, idx[..., :1].expand(-1, -1, W.shape[-1]))  # [R, n, d]
        w2 = W.gather(1, idx[..., 1:].expand(-1, -1, W.shape[-1]))
        dw = w1 - w2
        x = x - ((top[..., 0] - top[..., 1]) / (dw * dw).sum(-1))[..., None] * dw
    z = torch.baddbmm(b[:, None, :], x, W.transpose(1, 2)).topk(2, dim=-1).values
    scale = 1.0 + z[..., 0].abs()
    return x, (z[..., 0] - z[..., 1]).abs() <= 1e3 * torch.finfo(x.dtype).eps * scale


def full_tie(W: Tensor, x0: Tensor, level: float = 0.5) -> Tensor:
    """Biases that make all N logits equal (to `level`) at x0: the worst case of the ε log N bound.  -> [R, N]."""
    return level - torch.einsum("rnd,rd->rn", W, x0)
