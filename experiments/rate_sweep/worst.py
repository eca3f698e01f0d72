"""rate-sweep, the worst case over the Lipschitz class: RMSE's supremum over a grid of bump families.

A minimax rate bounds sup over the class of the risk, so one construction at one critical scale
h_n cannot discriminate estimators (there the constant predictor's error, the bumps' RMS, falls
exactly as fast as the rate). Here every estimator meets a whole grid of members of the class —
random-sign pyramids of side h = 2/m, m ∈ params.worst.cells (coarse, h = 1, to below
n^(−1/(d+2)) at the largest n) and height a·L·h/2, a ∈ params.worst.amplitudes, all L-Lipschitz —
and is judged by its supremum over that grid at each n. The constant predictor's supremum is the
coarsest bumps' RMS, which no n reduces: the negative control that must fail.

Every seed draws its own inputs, noise and test points once; all members of a seed share them
(common random numbers) and differ only in their signs, scale and amplitude, so the kNN and
Nadaraya–Watson weights are computed once per (n, seed) and applied to every member's labels
(hjexp.baselines.smoothers_many), and all Hopf–Cole members of a d train as one batched program.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import torch

from hjexp import baselines
from hjexp.context import RunContext
from hjexp.data import targets as T
from hjexp.data.manifolds import uniform_box

from .contract import Family, Model
from .draws import Draw
from .measure import _rmse, train_hj
from .schedules import baseline_schedule, viscosity, width

COLUMNS = ["model", "d", "n", "seed", "cells", "h", "amp", "rmse", "N", "eps", "t", "n_train", "val_rmse",
           "train_rmse", "steps", "converged", "k", "bandwidth"]


def scales(w, d: int) -> list[int]:
    """Cells per axis m of the grid (h = 2/m), those with m^d ≤ max_cells."""
    return sorted(m for m in set(w.cells) if m**d <= w.max_cells)


def family(ctx: RunContext, p, d: int) -> tuple[Draw, pd.DataFrame]:
    """The draws of one d: one label set per family member g = (scale, amplitude), shared inputs and noise.
    Returns the Draw (y [G, S, n_max], f_test [G, S, m]) and the members' table (label, cells, h, amp)."""
    w = p.worst
    gen = ctx.generator(7000 + d)
    kw = dict(generator=gen, dtype=ctx.dtype, device=ctx.device)
    S, n_max = w.n_seeds, max(w.n_grid)
    x = uniform_box((S, n_max), d, -1.0, 1.0, **kw)
    noise = p.sigma * torch.randn(S, n_max, **kw)
    x_test = uniform_box((S, w.n_test), d, -1.0, 1.0, **kw)
    ms, amps = scales(w, d), [float(a) for a in w.amplitudes]
    # unit-amplitude pyramids (L-Lipschitz at a = 1), one sign pattern per (scale, seed), scaled by each a
    bumps = [T.random_bumps(Family.MINIMAX_HARD, d, 2.0 / m, lip=w.lip, t=p.t, batch=(S,), **kw) for m in ms]
    a = ctx.tensor(amps)[:, None, None, None]  # [A, 1, 1, 1]
    f_train = (a * torch.stack([b(x) for b in bumps])[None]).flatten(0, 1)  # [G = A·M, S, n_max], g = i_a·M + i_m
    f_test = (a * torch.stack([b(x_test) for b in bumps])[None]).flatten(0, 1)
    members = pd.DataFrame([(i * len(ms) + j, m, 2.0 / m, amp) for i, amp in enumerate(amps) for j, m in enumerate(ms)],
                           columns=["label", "cells", "h", "amp"])
    return Draw([], x, f_train + noise, f_train, x_test, f_test), members


def run_baselines(ctx: RunContext, p, dr: Draw, members: pd.DataFrame, d: int) -> pd.DataFrame:
    """kNN, Nadaraya–Watson (the minimax-hard schedules) and the constant predictor on every member."""
    S, out = p.worst.n_seeds, []
    y, ft = dr.y.permute(1, 2, 0), dr.f_test.permute(1, 2, 0)  # [S, n_max, G], [S, m, G]
    for n in sorted(set(p.worst.n_grid)):
        k_n, bw_n = baseline_schedule(Family.MINIMAX_HARD, n, d, p)
        knn, nw = baselines.smoothers_many(dr.x[:, :n], y[:, :n], dr.x_test, torch.full((S,), k_n),
                                           ctx.tensor([bw_n] * S))
        const = y[:, :n].mean(1, keepdim=True).expand_as(ft)
        for model, pred, extra in ((Model.KNN, knn, dict(k=k_n)), (Model.NW, nw, dict(bandwidth=bw_n)),
                                   (Model.CONSTANT, const, {})):
            r = _rmse(pred.transpose(1, 2), ft.transpose(1, 2)).cpu().numpy()  # [S, G]
            out.append(pd.DataFrame(dict(model=model, n=n, seed=np.repeat(np.arange(S), len(members)),
                                         label=np.tile(members.label, S), rmse=r.flatten(), **extra)))
    return pd.concat(out, ignore_index=True)


def hj_members(p, d: int, members: pd.DataFrame) -> pd.DataFrame:
    """hj_fixed_t: the paper's model at the fixed t with the plain schedule N ~ n^(d/(d+2)), ε ~ n^(−1/(d+2));
    hj_selected: (N, ε, t) from params.worst.select, trained on 1 − val_fraction of the n samples and
    scored on the rest (judge keeps the best per data set)."""
    w, m = p.worst, p.model
    rows = []
    for n in sorted(set(w.n_grid)):
        N, eps = width(n, d, 1, m.c_width, n), viscosity(n, d, 1, m.eps_const)
        rows.append(dict(model=Model.HJ_FIXED_T, n=n, n_train=n, N=N, eps=eps, t=float(p.t)))
        n_train = max(2, n - math.ceil(p.selection.val_fraction * n))
        for N_f in w.select.width_factors:
            for e_f in w.select.eps_factors:
                for t in w.select.t:
                    rows.append(dict(model=Model.HJ_SELECTED, n=n, n_train=n_train,
                                     N=int(min(n_train, max(1, round(N_f * width(n, d, 1, m.c_width, n))))),
                                     eps=e_f * eps, t=float(t)))
    grid = pd.DataFrame(rows)
    seeds = pd.DataFrame(dict(seed=range(w.n_seeds)))
    return grid.merge(seeds, how="cross").merge(members[["label"]], how="cross")


def unit(ctx: RunContext, p, d: int) -> dict:
    """One d of the worst-case part: every member of the grid against every estimator; plain data for ctx.cached."""
    start = time.perf_counter()
    dr, members = family(ctx, p, d)
    base = run_baselines(ctx, p, dr, members, d)
    mem = hj_members(p, d, members[members.amp.isin([float(a) for a in p.worst.hj_amplitudes])])
    hj = train_hj(ctx, p, dr, mem, f"worst d={d}")[0] if len(mem) else mem
    if len(hj) and (hj.model == Model.HJ_SELECTED).any():
        grid = hj[hj.model == Model.HJ_SELECTED]
        chosen = grid.loc[grid.groupby(["n", "seed", "label"]).val_rmse.idxmin()]
        hj = pd.concat([hj[hj.model != Model.HJ_SELECTED], chosen], ignore_index=True)
    rows = pd.concat([base, hj], ignore_index=True).merge(members, on="label").assign(d=d)
    ctx.log(f"worst d={d}: {len(members)} family members, {len(mem)} Hopf–Cole members, "
            f"{time.perf_counter() - start:.1f} s")
    return dict(rows=rows.reindex(columns=COLUMNS))


def measure_worst(ctx: RunContext) -> None:
    p = ctx.params
    units = [ctx.cached(f"worst_d{d}", lambda d=d: unit(ctx, p, d)) for d in p.worst.dims]
    ctx.save_table("worst", pd.concat([u["rows"] for u in units], ignore_index=True))
