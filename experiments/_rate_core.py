"""rate-sweep, the measurement: one (target family, d) as one batched program.

Members are (n, seed) pairs — times the ε multipliers in validation mode — all
trained at once: every seed draws n_max noisy samples, a member with n samples
uses the first n of its seed's draw (sample weight 1 on those rows, 0 beyond),
and its width N(n) is a prefix mask of the widest member. Baselines (kNN,
Nadaraya–Watson) see exactly the same draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from hjexp import baselines, ensemble
from hjexp.data import targets as T
from hjexp.data.manifolds import uniform_box
from hjexp.fast import train_adam_fast

PRED_ELEMENTS = 1 << 22  # [E, rows, N] elements per prediction chunk


def width(n: int, d: int, c: float) -> int:
    """N = ⌈c · n^(d/(d+2))⌉, at most n (atoms start on distinct training points)."""
    return int(min(n, max(1, math.ceil(c * n ** (d / (d + 2))))))


def viscosity(n: int, d: int, c: float) -> float:
    """ε = c · n^(−1/(d+2))."""
    return c * n ** (-1.0 / (d + 2))


@dataclass
class Draw:
    """One (family, d): the target and every seed's samples."""

    target: object
    x: Tensor  # [S, n_max, d] training inputs
    y: Tensor  # [S, n_max] noisy labels
    x_test: Tensor  # [S, m, d] fresh test inputs
    y_test: Tensor  # [S, m] noiseless target there


def draw(p, family: str, d: int, gen: torch.Generator, dtype, device) -> Draw:
    kw = dict(generator=gen, dtype=dtype, device=device)
    q = p.target
    spread, pieces = (q.cone_spread, q.n_cones) if family == "hj-solution" else (q.ridge_spread, q.n_ridges)
    target = T.make_target(family, d, t=p.t, lip=q.lip, n_pieces=pieces, spread=spread,
                           value_range=q.value_range, **kw)
    S, n_max = p.n_seeds, max(p.n_grid)
    x = uniform_box((S, n_max), d, -1.0, 1.0, **kw)
    y = T.noisy(target(x), p.sigma, generator=gen)
    x_test = uniform_box((S, p.n_test), d, -1.0, 1.0, **kw)
    return Draw(target, x, y, x_test, target(x_test))


def predict(model: ensemble.Ensemble, x: Tensor) -> Tensor:
    """model.predict in row chunks (the [E, m, N, d] distance tensor stays bounded).  [E, m]."""
    E, N = model.params["y"].shape[:2]
    rows = max(1, PRED_ELEMENTS // max(1, E * N * x.shape[-1]))
    with torch.no_grad():
        return torch.cat([model.predict(x[..., s : s + rows, :]) for s in range(0, x.shape[-2], rows)], -1)


def _rmse(pred: Tensor, truth: Tensor) -> Tensor:
    return ((pred - truth) ** 2).mean(-1).sqrt()


def train_hj(ctx, p, dr: Draw, d: int, label: str, shrink_t: bool = False
             ) -> tuple[pd.DataFrame, ensemble.Ensemble, pd.DataFrame]:
    """Train the Hopf–Cole members of one (family, d).  Returns (chosen rows, model, all members).

    ``shrink_t``: member time t_n = t·(n/n_min)^(−1/(d+2)) instead of a fixed t. Since
    |x − y|²/4t_n = |x/s − y/s|²/4t with s = √(t_n/t), a member with time t_n is a member
    with time t on inputs scaled by 1/s, so one batched model (scalar t) still serves all.
    """
    m = p.model
    S, ns = p.n_seeds, list(p.n_grid)
    mults = list(m.eps_grid) if m.eps_mode == "validation" else [1.0]
    grid = [(n, s, k) for n in ns for s in range(S) for k in mults]
    mem = pd.DataFrame(grid, columns=["n", "seed", "eps_mult"])
    # validation mode: the last val_fraction of a member's n samples scores ε, the rest trains
    mem["n_train"] = [n if m.eps_mode != "validation" else max(2, n - math.ceil(m.val_fraction * n)) for n in mem.n]
    mem["N"] = [width(n, d, m.c_width) for n in mem.n_train]
    mem["eps"] = [k * viscosity(n, d, m.eps_const) for n, k in zip(mem.n_train, mem.eps_mult)]
    mem["t"] = [p.t * (n / min(ns)) ** (-1.0 / (d + 2)) if shrink_t else p.t for n in mem.n]
    scale = ctx.tensor((mem.t / p.t).pow(-0.5).tolist()).view(-1, 1, 1)  # [E, 1, 1] input scale 1/s
    seed = torch.tensor(mem.seed.tolist(), device=ctx.device)  # [E]
    rows = torch.arange(dr.x.shape[1], device=ctx.device)  # [n_max]
    n_tr = torch.tensor(mem.n_train.tolist(), device=ctx.device)[:, None]
    n_all = torch.tensor(mem.n.tolist(), device=ctx.device)[:, None]
    w_train = (rows < n_tr).to(ctx.dtype)  # [E, n_max]
    w_val = ((rows >= n_tr) & (rows < n_all)).to(ctx.dtype)
    N_max = int(mem.N.max())
    Ns = torch.tensor(mem.N.tolist(), device=ctx.device)
    mask = torch.arange(N_max, device=ctx.device)[None, :] < Ns[:, None]  # [E, N_max] prefix masks
    x, y = dr.x[seed] * scale, dr.y[seed]  # [E, n_max, d], [E, n_max]
    # training as a search over initial data: start the atoms on the member's own first
    # N samples with their noisy labels as values, then move both
    model = ensemble.init_hopf_cole(x[:, :N_max], y[:, :N_max], ctx.tensor(mem.eps.tolist()), p.t, mask)
    with ctx.progress(f"{label}: {len(mem)} Hopf–Cole members", m.steps) as advance:
        loss = train_adam_fast(model, x, y, steps=m.steps, lr=m.lr, weight=w_train, progress=advance)
    mem["train_rmse"] = loss.sqrt().cpu().numpy()
    mem["val_rmse"] = np.nan
    if m.eps_mode == "validation":
        fit = predict(model, x)  # [E, n_max]
        val = ((fit - y) ** 2 * w_val).sum(-1) / w_val.sum(-1).clamp_min(1)
        mem["val_rmse"] = val.sqrt().cpu().numpy()
    mem["rmse"] = _rmse(predict(model, dr.x_test[seed] * scale), dr.y_test[seed]).cpu().numpy()
    mem["scale"] = scale.flatten().cpu().numpy()
    mem["member"] = np.arange(len(mem))
    chosen = mem.loc[mem.groupby(["n", "seed"]).val_rmse.idxmin()] if m.eps_mode == "validation" else mem
    out = chosen.assign(estimator="hj", k=np.nan, bandwidth=np.nan)
    return out, model, mem


def run_baselines(ctx, p, dr: Draw, d: int) -> tuple[pd.DataFrame, Tensor]:
    """kNN (k ~ n^(2/(d+2))) and Nadaraya–Watson (h ~ n^(−1/(d+2))) on all n samples of each member."""
    S, ns = p.n_seeds, list(p.n_grid)
    mem = pd.DataFrame([(n, s) for n in ns for s in range(S)], columns=["n", "seed"])
    seed = torch.tensor(mem.seed.tolist(), device=ctx.device)
    mask = torch.arange(dr.x.shape[1], device=ctx.device)[None] < torch.tensor(mem.n.tolist(), device=ctx.device)[:, None]
    k = torch.as_tensor([baselines.knn_k(n, d, p.knn_const) for n in mem.n], device=ctx.device)
    h = ctx.tensor([baselines.nw_bandwidth(n, d, p.nw_const) for n in mem.n])
    x, y, xt = dr.x[seed], dr.y[seed], dr.x_test[seed]
    knn = _rmse(baselines.knn_predict(x, y, xt, k, mask=mask), dr.y_test[seed]).cpu().numpy()
    nw = _rmse(baselines.nadaraya_watson(x, y, xt, h, mask=mask), dr.y_test[seed]).cpu().numpy()
    frames = [mem.assign(estimator="knn", rmse=knn, k=k.cpu().numpy(), bandwidth=np.nan),
              mem.assign(estimator="nw", rmse=nw, k=np.nan, bandwidth=h.cpu().numpy())]
    return pd.concat(frames, ignore_index=True), k


def curves_d1(ctx, p, dr: Draw, model: ensemble.Ensemble, hj_rows: pd.DataFrame,
              family: str) -> pd.DataFrame:
    """Seed-0 fitted functions on a fine grid at three n (smallest, middle, largest), d = 1."""
    ns = sorted(set(p.n_grid))
    picks = sorted({ns[0], ns[len(ns) // 2], ns[-1]})
    grid = torch.linspace(-1, 1, 401, dtype=ctx.dtype, device=ctx.device)[:, None]  # [G, 1]
    truth = dr.target(grid).cpu().numpy()
    out = []
    for n in picks:
        row = hj_rows[(hj_rows.n == n) & (hj_rows.seed == 0)].iloc[0]
        hj = predict(model.member(int(row.member)), grid[None] * float(row.scale))[0].cpu().numpy()
        knn = baselines.knn_predict(dr.x[:1, :n], dr.y[:1, :n], grid[None],
                                    torch.tensor([baselines.knn_k(n, 1, p.knn_const)]))[0].cpu().numpy()
        xs = grid[:, 0].cpu().numpy()
        for kind, v in (("target", truth), ("hj", hj), ("knn", knn)):
            out.append(pd.DataFrame(dict(family=family, n=n, kind=kind, x=xs, value=v)))
        out.append(pd.DataFrame(dict(family=family, n=n, kind="sample", x=dr.x[0, :n, 0].cpu().numpy(),
                                     value=dr.y[0, :n].cpu().numpy())))
    return pd.concat(out, ignore_index=True)


def noiseless_floor(ctx, p, dr: Draw, d: int, label: str) -> dict:
    """What the model class reaches at this t with no noise: twice the widest member's atoms,
    its smallest ε, trained the same way on the noiseless target at seed 0's n_max points.

    Its test RMSE bounds from below what more data can buy (approximation + optimisation):
    ≈ 0 for a target in the class, a floor for one outside it.
    """
    n_max = max(p.n_grid)
    N = min(n_max, 2 * width(n_max, d, p.model.c_width))
    eps = viscosity(n_max, d, p.model.eps_const)
    x, truth = dr.x[:1], dr.target(dr.x[:1])  # [1, n_max, d], [1, n_max]
    model = ensemble.init_hopf_cole(x[:, :N], truth[:, :N], ctx.tensor([eps]), p.t)
    with ctx.progress(f"{label}: noiseless fit, N = {N}", p.model.steps) as advance:
        train_adam_fast(model, x, truth, steps=p.model.steps, lr=p.model.lr, progress=advance)
    rmse = _rmse(predict(model, dr.x_test[:1]), dr.y_test[:1]).item()
    return dict(N=N, eps=eps, t=p.t, rmse=rmse)
