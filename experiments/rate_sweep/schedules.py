"""rate-sweep, who is trained: schedules of width N, viscosity ε and time t per variant.

Smoothness s = 1 for the Lipschitz families (hj-solution, lipschitz, minimax-hard) and s = 2
for semiconcave-hard. Balancing approximation N^(−s/d) against estimation √(N/n) gives

    N = ⌈c_width · n^(d/(d+2s))⌉,   ε = eps_const · n^(−s/(d+2s)),

the rate n^(−s/(d+2s)); the baselines get the matching classical schedules
k = ⌈knn_const · n^(2s/(d+2s))⌉ and bandwidth nw_const · n^(−1/(d+2s)).

Variants (``model`` column): ``hj`` the schedule model; ``hj_shrink_t`` (lipschitz) with
t_n = t·(n/n_min)^(−1/(d+2)); ``hj_selected`` tries every (N, ε) of a fixed, n-independent grid
at the fixed t, trains on the first 1 − val_fraction of its n samples and keeps the member with
the smallest error on the rest, so no schedule sets its slope.

Bump families: a minimum of parabolas of curvature 1/(2t) rises by ≈ (δ/2)²/(4t) midway between
atoms δ apart, so the model is only as flat as its atoms are dense. ``hj`` therefore spaces its
atoms in units of the cell side: N = ⌈(2/(spacing·h_n))^d⌉ (≤ n, ≤ max_width), still ∝ n^(d/(d+2s)), with the
constant set by the cell grid rather than by c_width.
- minimax-hard: ``hj`` runs at t_n = τ·h_n/L. At time t a convex kink of slope jump 2L is missed
  by ≈ t·L²/2, so t_n ∝ h_n/L keeps that a fixed fraction τ of the bump height L·h_n/2; the rise
  between atoms one cell apart is then ≈ L·h_n/(16τ). ``hj_fixed_t`` (fixed t, the plain
  schedule) is the contrast: it cannot bend into the pits.
- semiconcave-hard: ``hj`` at the fixed t; bumps of height h²/(4π²t) need spacing ≲ 0.6 cells for
  the rise (spacing·h)²/(16t) to stay below them.
"""

from __future__ import annotations

import math

import pandas as pd

from hjexp import baselines
from hjexp.data.targets import HARD

from .contract import Family, Model


def smoothness(family: str) -> int:
    return 2 if family == Family.SEMICONCAVE_HARD else 1


def width(n: int, d: int, s: int, c: float, cap: int) -> int:
    """N = ⌈c · n^(d/(d+2s))⌉ in [1, cap] (atoms start on distinct training points)."""
    return int(min(cap, max(1, math.ceil(c * n ** (d / (d + 2 * s))))))


def viscosity(n: int, d: int, s: int, c: float) -> float:
    """ε = c · n^(−s/(d+2s))."""
    return c * n ** (-s / (d + 2 * s))


def baseline_schedule(family: str, n: int, d: int, p) -> tuple[int, float]:
    """(k of kNN, Nadaraya–Watson bandwidth) for n samples, at the family's smoothness."""
    s = smoothness(family)
    return baselines.knn_k(n, d, p.knn_const, s), baselines.nw_bandwidth(n, d, p.nw_const, s)


def variants(p, family: str) -> list[str]:
    out = [Model.HJ]
    if family == Family.LIPSCHITZ and p.shrink_t:
        out.append(Model.HJ_SHRINK_T)
    if family == Family.MINIMAX_HARD:
        out.append(Model.HJ_FIXED_T)
    if family in p.selection.families:
        out.append(Model.HJ_SELECTED)
    return out


def _time(p, family: str, model: str, n: int, d: int, hs: dict) -> float:
    if family == Family.MINIMAX_HARD and model == Model.HJ:
        return p.hard.tau * hs[n] / p.hard.lip
    if model == Model.HJ_SHRINK_T:
        return p.t * (n / min(p.n_grid)) ** (-1.0 / (d + 2))
    return p.t


def hj_members(p, family: str, d: int, hs: dict) -> pd.DataFrame:
    """One row per Hopf–Cole member: model, n, seed, n_train, N, eps, t."""
    s, m, q = smoothness(family), p.model, p.selection
    rows = []
    for model in variants(p, family):
        for n in sorted(set(p.n_grid)):
            t = _time(p, family, model, n, d, hs)
            if model == Model.HJ_SELECTED:
                n_train = max(2, n - math.ceil(q.val_fraction * n))
                grid = [(N, e) for N in sorted({min(int(N), n_train) for N in q.widths}) for e in q.eps]
            elif family in HARD and model == Model.HJ:
                n_train = n
                spacing = p.hard.minimax_spacing if family == Family.MINIMAX_HARD else p.hard.semiconcave_spacing
                N = min(n, p.hard.max_width, math.ceil((2 / (spacing * hs[n])) ** d))
                grid = [(N, viscosity(n, d, s, m.eps_const))]
            else:
                n_train = n
                grid = [(width(n, d, s, m.c_width, n), viscosity(n, d, s, m.eps_const))]
            rows += [dict(model=model, n=n, seed=seed, n_train=n_train, N=N, eps=float(e), t=t)
                     for N, e in grid for seed in range(p.n_seeds)]
    return pd.DataFrame(rows)
