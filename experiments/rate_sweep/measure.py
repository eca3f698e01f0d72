"""rate-sweep, measure: one (target family, d) as one batched program; rows only, judge.py decides.

Every seed draws a fresh target (cones, ridges, or bump signs) and n_max noisy samples; a member
with n samples uses the first n of its seed's draw (sample weight 1 on those rows, 0 beyond),
and its width N is a prefix mask of the widest member. The bump families' target depends on n
(cell side h(n)), so their labels are drawn per n on the same inputs and noise. All Hopf–Cole
variants of one (family, d) — schedule, other times t, the held-out grid — train at once;
kNN, Nadaraya–Watson and the constant predictor see exactly the same draws.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from hjexp import baselines, engine
from hjexp.context import RunContext

from .contract import Kind, Model
from .draws import Draw, draw
from .schedules import baseline_schedule, hj_members

COLUMNS = ["family", "model", "d", "n", "seed", "rmse", "N", "eps", "t", "h", "n_train", "train_rmse", "val_rmse",
           "steps", "converged", "diverged", "k", "bandwidth"]


def _rmse(pred: Tensor, truth: Tensor) -> Tensor:
    return ((pred - truth) ** 2).mean(-1).sqrt()


def _index(ctx: RunContext, dr: Draw, mem: pd.DataFrame) -> tuple[Tensor, Tensor]:
    """(label set, seed) of each member: labels are per n for the bump families, or a member's own
    ``label`` column (the worst-case family: one label set per family member).  [E], [E]."""
    if "label" in mem:
        label = mem.label.tolist()
    else:
        label = [dr.n_index[n] for n in mem.n] if dr.per_n else [0] * len(mem)
    return (torch.tensor(label, device=ctx.device), torch.tensor(mem.seed.tolist(), device=ctx.device))


def train_hj(ctx: RunContext, p, dr: Draw, mem: pd.DataFrame, label: str) -> tuple[pd.DataFrame, engine.HopfCole]:
    """Train every Hopf–Cole member of one (family, d) to the convergence rule.

    Times differ between members (fixed t, t_n ∝ h_n/L, shrinking t): since
    |x − y|²/4t_m = |x/s − y/s|²/4t with s = √(t_m/t), a member with time t_m is a member with
    time t on inputs scaled by 1/s, so one batched model (scalar t) serves all of them.
    """
    c = p.train
    li, seed = _index(ctx, dr, mem)
    scale = ctx.tensor((mem.t / p.t).pow(-0.5).tolist()).view(-1, 1, 1)  # [E, 1, 1] input scale 1/s
    rows = torch.arange(dr.x.shape[1], device=ctx.device)  # [n_max]
    n_tr = torch.tensor(mem.n_train.tolist(), device=ctx.device)[:, None]
    n_all = torch.tensor(mem.n.tolist(), device=ctx.device)[:, None]
    w_train = (rows < n_tr).to(ctx.dtype)  # [E, n_max]
    w_val = ((rows >= n_tr) & (rows < n_all)).to(ctx.dtype)  # held-out rows (grid members only)
    Ns = torch.tensor(mem.N.tolist(), device=ctx.device)
    mask = torch.arange(int(mem.N.max()), device=ctx.device)[None, :] < Ns[:, None]  # [E, N_max] prefixes
    x, y = dr.x[seed] * scale, dr.y[li, seed]  # [E, n_max, d], [E, n_max]
    # training as a search over initial data: atoms start on the member's own first N samples
    # with their noisy labels as values, then both move
    N_max = mask.shape[1]
    model = engine.HopfCole(x[:, :N_max].clone(), y[:, :N_max].clone(), ctx.tensor(mem.eps.tolist()), p.t, mask)
    with ctx.progress(f"{label}: {len(mem)} Hopf–Cole members", c.max_steps) as advance:
        fit = engine.train(model, x, y, weight=w_train, lr=c.lr, max_steps=c.max_steps,
                           check_every=c.check_every, rel_tol=c.rel_tol, progress=advance)
    out = mem.assign(train_rmse=fit.loss.sqrt().cpu().numpy(), steps=fit.steps.cpu().numpy(),
                     converged=fit.converged.cpu().numpy(), diverged=fit.diverged.cpu().numpy())
    val = ((engine.predict(model, x) - y) ** 2 * w_val).sum(-1) / w_val.sum(-1).clamp_min(1)
    out["val_rmse"] = np.where(mem.n_train < mem.n, val.sqrt().cpu().numpy(), np.nan)
    out["rmse"] = _rmse(engine.predict(model, dr.x_test[seed] * scale), dr.f_test[li, seed]).cpu().numpy()
    out["scale"] = scale.flatten().cpu().numpy()
    out["member"] = np.arange(len(mem))
    return out, model


def run_baselines(ctx: RunContext, p, dr: Draw, family: str, d: int) -> pd.DataFrame:
    """kNN, Nadaraya–Watson and the constant predictor (training-label mean) on all n samples."""
    out = []
    for n in sorted(set(p.n_grid)):  # one batch per sample size, on its own first n rows (no masked tail)
        mem = pd.DataFrame([(n, s) for s in range(p.n_seeds)], columns=["n", "seed"])
        li, seed = _index(ctx, dr, mem)
        k_n, bw_n = baseline_schedule(family, n, d, p)
        k = torch.full((len(mem),), k_n, device=ctx.device)
        bw = ctx.tensor([bw_n] * len(mem))
        x, y, xt, ft = dr.x[seed, :n], dr.y[li, seed, :n], dr.x_test[seed], dr.f_test[li, seed]
        knn, nw = (_rmse(v, ft).cpu().numpy() for v in baselines.knn_and_nadaraya_watson(x, y, xt, k, bw))
        const = _rmse(y.mean(-1, keepdim=True).expand_as(ft), ft).cpu().numpy()
        out += [mem.assign(model=Model.KNN, rmse=knn, k=k_n), mem.assign(model=Model.NW, rmse=nw, bandwidth=bw_n),
                mem.assign(model=Model.CONSTANT, rmse=const)]
    return pd.concat(out, ignore_index=True)


def curves_d1(ctx: RunContext, p, dr: Draw, model: engine.HopfCole, hj: pd.DataFrame, family: str) -> pd.DataFrame:
    """Seed-0 fitted functions (schedule model, kNN) on a fine grid at three n, d = 1."""
    ns = sorted(set(p.n_grid))
    grid = torch.linspace(-1, 1, 801, dtype=ctx.dtype, device=ctx.device)[:, None]  # [G, 1]
    xs, out = grid[:, 0].cpu().numpy(), []
    for n in sorted({ns[0], ns[len(ns) // 2], ns[-1]}):
        truth = dr.target_of(n)(grid[None].expand(p.n_seeds, -1, -1))[0]  # targets carry a seed axis
        row = hj[(hj.model == Model.HJ) & (hj.n == n) & (hj.seed == 0)].iloc[0]
        fit = engine.predict(model.member(int(row.member)), grid[None] * float(row.scale))[0]
        li = dr.n_index[n] if dr.per_n else 0
        k, _ = baseline_schedule(family, n, 1, p)
        knn = baselines.knn_predict(dr.x[:1, :n], dr.y[li, :1, :n], grid[None], torch.tensor([k], device=ctx.device))[0]
        for kind, v in ((Kind.TARGET, truth), (Kind.HJ, fit), (Kind.KNN, knn)):
            out.append(pd.DataFrame(dict(family=family, n=n, kind=kind, x=xs, value=v.cpu().numpy())))
        out.append(pd.DataFrame(dict(family=family, n=n, kind=Kind.SAMPLE, x=dr.x[0, :n, 0].cpu().numpy(),
                                     value=dr.y[li, 0, :n].cpu().numpy())))
    return pd.concat(out, ignore_index=True)


def noiseless_floor(ctx: RunContext, p, dr: Draw, family: str, d: int) -> dict:
    """What the model class reaches at this t with no noise (seed 0's target, n_max points):
    twice the widest schedule width, the smallest schedule ε, trained to the same rule.
    ≈ 0 for a target in the class; a floor no n removes for one outside it."""
    sched = hj_members(p, family, d, {})
    top = sched[(sched.model == Model.HJ) & (sched.n == max(p.n_grid))].iloc[0]
    n_max, N = max(p.n_grid), min(max(p.n_grid), 2 * int(top.N))
    x, truth = dr.x[:1], dr.f_train[0, :1]  # [1, n_max, d], [1, n_max]
    model = engine.HopfCole(x[:, :N].clone(), truth[:, :N].clone(), ctx.tensor([float(top.eps)]), p.t)
    weight = torch.ones(1, n_max, dtype=ctx.dtype, device=ctx.device)
    with ctx.progress(f"{family} d={d}: noiseless fit, N = {N}", p.train.max_steps) as advance:
        fit = engine.train(model, x, truth, weight=weight, lr=p.train.lr, max_steps=p.train.max_steps,
                           check_every=p.train.check_every, rel_tol=p.train.rel_tol, progress=advance)
    steps, conv = fit.steps, fit.converged
    rmse = _rmse(engine.predict(model, dr.x_test[:1]), dr.f_test[0, :1]).item()
    return dict(family=family, d=d, N=N, eps=float(top.eps), t=p.t, rmse=rmse, steps=int(steps[0]),
                converged=bool(conv[0]))


def _unit(ctx: RunContext, p, family: str, d: int) -> dict:
    """One (family, d): draw, train, baselines; plain data so ctx.cached can save it."""
    start = time.perf_counter()
    dr = draw(ctx, p, family, d)
    mem = hj_members(p, family, d, dr.h)
    hj, model = train_hj(ctx, p, dr, mem, f"{family} d={d}")
    grid = hj[hj.model == Model.HJ_SELECTED]
    chosen = grid.loc[grid.groupby(["n", "seed"]).val_rmse.idxmin()] if len(grid) else grid
    picked = pd.concat([hj[hj.model != Model.HJ_SELECTED], chosen], ignore_index=True)
    rows = pd.concat([picked, run_baselines(ctx, p, dr, family, d)], ignore_index=True)
    rows = rows.assign(family=family, d=d, h=rows.n.map(dr.h).astype(float) if dr.per_n else math.nan)
    selection = grid.assign(family=family, d=d, chosen=grid.member.isin(chosen.member))
    curves = curves_d1(ctx, p, dr, model, hj, family) if d == 1 else None
    floor = None if dr.per_n else noiseless_floor(ctx, p, dr, family, d)
    ctx.log(f"{family} d={d}: {len(mem)} Hopf–Cole members, {time.perf_counter() - start:.1f} s")
    return dict(rows=rows, selection=selection, curves=curves, floor=floor)


def measure(ctx: RunContext) -> None:
    p = ctx.params
    units = [ctx.cached(f"{f}_d{d}", lambda f=f, d=d: _unit(ctx, p, f, d)) for f in p.families for d in p.dims]
    rows = pd.concat([u["rows"] for u in units], ignore_index=True)
    ctx.add_rows(rows.reindex(columns=COLUMNS))
    selection = pd.concat([u["selection"] for u in units], ignore_index=True)
    if len(selection):
        ctx.save_table("selection", selection.reindex(columns=["family", "d", "n", "seed", "N", "eps", "t", "n_train",
                                                               "val_rmse", "rmse", "steps", "converged", "chosen"]))
    curves = [u["curves"] for u in units if u["curves"] is not None]
    if curves:
        ctx.save_table("curves_d1", pd.concat(curves, ignore_index=True))
    floors = [u["floor"] for u in units if u["floor"] is not None]
    from .worst import measure_worst  # worst.py builds on train_hj above

    measure_worst(ctx)
    ctx.save_table("floors", pd.DataFrame(floors, columns=["family", "d", "N", "eps", "t", "rmse", "steps",
                                                           "converged"]))
