"""phase-diagram, Gibbs statistics over (ε × points × atoms) as one tensor program.

At a point x the atoms' logits are a_j(x) = −(g_j + |x − y_j|²/4t) (hjexp.engine.closed.atom_logits) and the
attribution weights π_j = softmax_j(a_j/ε). From them: the entropy H(π), the class probabilities
p_c = Σ_{j∈c} π_j, and the characteristic field ∇u = (x − E_π[y])/(2t) of u_ε = −ε log Σ_j e^{a_j/ε}.
Points are processed in chunks so that the [K, S, n, N] tensor stays below ``chunk_elements``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from hjexp.engine import closed as L


def _stats(x: Tensor, y: Tensor, g: Tensor, onehot: Tensor, eps: Tensor, t: float) -> dict[str, Tensor]:
    """x: [S, n, d]; y: [S, N, d]; g: [S, N]; onehot: [S, N, C]; eps: [K]."""
    a = L.atom_logits(x, y, g, t)  # [S, n, N]
    log_pi = torch.log_softmax(a[None] / eps[:, None, None, None], -1)  # [K, S, n, N]
    pi = log_pi.exp()
    mean_y = torch.matmul(pi, y[None])  # [K, S, n, d]
    return dict(H=-(pi * log_pi).sum(-1),  # [K, S, n]; log_softmax keeps 0·log 0 = 0 exact
                p=torch.matmul(pi, onehot[None]),  # [K, S, n, C]
                field=(x[None] - mean_y) / (2.0 * t))  # [K, S, n, d]


def evaluate(x: Tensor, y: Tensor, g: Tensor, cls: Tensor, n_classes: int, eps: Tensor, t: float,
             chunk_elements: int) -> dict[str, Tensor]:
    """H [K, S, n], class probabilities p [K, S, n, C] and field ∇u [K, S, n, d] at points x [S, n, d]."""
    K, (S, n, _), N = len(eps), x.shape, y.shape[1]
    onehot = torch.nn.functional.one_hot(cls, n_classes).to(y.dtype)  # [S, N, C]
    k_step = max(1, min(K, chunk_elements // (S * N)))  # ε values per chunk
    n_step = max(1, chunk_elements // (k_step * S * N))  # points per chunk
    rows = []
    for k in range(0, K, k_step):  # chunks, not points: each is one batched program
        parts = [_stats(x[:, i : i + n_step], y, g, onehot, eps[k : k + k_step], t) for i in range(0, n, n_step)]
        rows.append({q: torch.cat([p[q] for p in parts], 2) for q in parts[0]})
    return {q: torch.cat([r[q] for r in rows], 0) for q in rows[0]}


def entropy_at(x: Tensor, y: Tensor, g: Tensor, eps: Tensor, t: float) -> Tensor:
    """H(π(x; ε)) with one ε per member: x [S, d], eps [S] -> [S]."""
    a = L.atom_logits(x[:, None], y, g, t)[:, 0]  # [S, N]
    log_pi = torch.log_softmax(a / eps[:, None], -1)
    return -(log_pi.exp() * log_pi).sum(-1)


def crossing_eps(x: Tensor, y: Tensor, g: Tensor, t: float, level: Tensor, lo: float, hi: float,
                 iters: int = 60) -> Tensor:
    """The ε in [lo, hi] where H(π(x; ε)) = level, per member (bisection in log ε).  [S].

    H rises monotonically with ε (dH/dβ = −β Var_π(a) ≤ 0 at inverse temperature β = 1/ε), so
    the crossing is unique; NaN where [lo, hi] does not bracket it.
    """
    llo = torch.full_like(level, math.log(lo))
    lhi = torch.full_like(level, math.log(hi))
    bracketed = (entropy_at(x, y, g, llo.exp(), t) <= level) & (entropy_at(x, y, g, lhi.exp(), t) >= level)
    for _ in range(iters):  # each step one batched evaluation over all members
        mid = (llo + lhi) / 2
        below = entropy_at(x, y, g, mid.exp(), t) < level
        llo, lhi = torch.where(below, mid, llo), torch.where(below, lhi, mid)
    return torch.where(bracketed, ((llo + lhi) / 2).exp(), torch.full_like(level, math.nan))


def logit_gap_and_range(x: Tensor, y: Tensor, g: Tensor, t: float) -> tuple[Tensor, Tensor]:
    """At x [S, d]: the gap Δ between the two largest logits and the range R = max − min.  [S] each.

    They decide whether a scan end can reach a limit: H ≤ h(p) + (1 − p) log(N − 1) with
    p ≥ 1/(1 + (N − 1)e^{−Δ/ε}) (particle end, Fano), and log N − H ≤ (R/ε)²/8 (wave end: H = log N
    at β = 1/ε = 0 and dH/dβ = −β Var_π(a) with Var_π(a) ≤ R²/4).
    """
    a = L.atom_logits(x[:, None], y, g, t)[:, 0]  # [S, N]
    top = a.topk(2, -1).values
    return top[:, 0] - top[:, 1], a.amax(-1) - a.amin(-1)


def fano_bound(s: Tensor, n: int) -> Tensor:
    """Largest H when every other logit lies ≥ Δ = s·ε below the top: h(p) + (1 − p) log(N − 1),
    1 − p = (N − 1)e^{−s}/(1 + (N − 1)e^{−s}) (Fano's inequality).  Decreasing in s."""
    q = torch.sigmoid(math.log(n - 1) - s)  # 1 − p
    h = -(torch.xlogy(q, q) + torch.xlogy(1 - q, 1 - q))
    return h + q * math.log(n - 1)


def limit_eps(gap: Tensor, spread: Tensor, n: int, bound: float, iters: int = 80) -> tuple[Tensor, Tensor]:
    """Per member, the ε at which each limit is certified to within ``bound`` (in nats), from the logits alone.

    Particle end: the ε = Δ/s with fano_bound(s) = bound (bisection in s), so H(ε) ≤ bound for every smaller ε;
    NaN where Δ ≤ 1e-12·R (a tie: H tends to log m there, m the tied atoms, not to 0).
    Wave end: ε = R/√(8·bound), where log N − H ≤ (R/ε)²/8 = bound.
    """
    lo, hi = torch.zeros_like(gap), torch.full_like(gap, 1e3)
    for _ in range(iters):
        mid = (lo + hi) / 2
        above = fano_bound(mid, n) > bound
        lo, hi = torch.where(above, mid, lo), torch.where(above, hi, mid)
    tie = gap <= 1e-12 * spread
    return torch.where(tie, torch.nan, gap / hi), spread / math.sqrt(8 * bound)
