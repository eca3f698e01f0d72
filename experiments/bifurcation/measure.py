"""bifurcation, measure: critical points of H(x; ε) on each set over a log-spaced ε grid, by the
authors' per-ε multistart scan and by pseudo-arclength continuation, timed side by side; folds
located and refined; the points multistart finds off every traced branch are traced afterwards
(pass 2) so that the fold table and the diagram are complete. Rows and tables only.
"""

from __future__ import annotations

import math
import time

import pandas as pd
import torch

from hjexp.context import RunContext
from hjexp.errors import UserError

from . import continuation as C
from . import landscape as La
from . import tables as T
from . import tracking as Tr
from .contract import FoundBy, Method, Timed


def _match_branch(pts: Tr.Points, on: Tr.Points, tol: float) -> torch.Tensor:
    """Branch id of the point of ``on`` that coincides with each point (−1: none).  [P]."""
    out = torch.full_like(pts.k, -1)
    if len(on.x) and len(pts.x):
        close = (torch.cdist(pts.x, on.x) < tol) & (pts.k[:, None] == on.k[None, :])
        hit = close.any(-1)
        out[hit] = on.branch[close.float().argmax(-1)][hit]
    return out


def analyse(ctx: RunContext, p, name: str, y: torch.Tensor, g: torch.Tensor) -> dict[str, pd.DataFrame]:
    t, d, tol = float(p.t), y.shape[1], float(p.unique_tol)
    D = C.Derivatives(La.entropy_potential(y, g, t))
    resolved = La.resolved_mask(y, g, t, float(p.min_rel_weight))
    lo, hi = La.search_box(y, float(p.box_margin))
    starts = La.start_grid(lo, hi, int(p.starts_per_axis[str(d)]))
    lams = La.log_eps_grid(*p.log10_eps_range, p.n_eps, ctx.dtype, ctx.device)
    K = len(lams)
    seed_k = sorted(set(range(0, K, int(p.seed_every))) | {K - 1})
    settings = C.Settings(lam_range=(float(lams[0]), float(lams[-1])), box_lo=lo, box_hi=hi, resolved=resolved,
                          **p.continuation)

    clock = time.perf_counter()
    ms = Tr.multistart_scan(D, lams, starts, lo, hi, tol=tol, resolved=resolved)
    t_ms = time.perf_counter() - clock
    clock = time.perf_counter()
    cont = Tr.continue_branches(D, lams, seed_k, starts, lo, hi, settings, tol=tol)
    t_cont = time.perf_counter() - clock
    n_first = len(cont.traced.end_reason)

    # Pass 2: multistart points on no traced branch (isolas between seed slices, cut branches).
    clock = time.perf_counter()
    missed = ~Tr.covered(ms.x, ms.k, cont.points, tol)
    traced, folds = cont.traced, cont.folds
    if bool(missed.any()):
        extra = Tr.two_way_distinct(D, ms.x[missed], ms.k[missed], lams, settings, tol)
        traced = Tr.merge([cont.traced, extra])
        later = torch.arange(len(traced.end_reason), device=lams.device) >= n_first
        more = Tr.refine(D, Tr.subset(traced, later))
        folds = {k: torch.cat([folds[k], more[k]]) for k in folds}
    union = Tr.slice_at(D, traced, lams, torch.arange(K, device=lams.device), resolved)
    t_pass2 = time.perf_counter() - clock
    ms.branch = _match_branch(ms, union, tol)

    seed_eps = [math.exp(float(lams[k])) for k in seed_k]
    ms_df = T.points_table(D, ms, lams)
    cont_df = T.points_table(D, cont.points, lams)
    union_df = T.points_table(D, union, lams, multistart_found=Tr.covered(union.x, union.k, ms, tol).tolist())
    union_df["found_by"] = [FoundBy.CONTINUATION if b < n_first else FoundBy.MULTISTART_SEED for b in union_df.branch]
    branches = T.branch_table(D, traced, n_first)
    fold_df = T.fold_table(D, folds, y, g, t, n_first)
    diff = T.differences(ms_df, cont_df, branches, fold_df, seed_eps, d, tol, traced.end_reason)
    counts = T.count_table(K, lams, {Method.MULTISTART: ms_df, Method.CONTINUATION: cont_df, Method.UNION: union_df})
    timing = pd.DataFrame([
        dict(method=Timed.MULTISTART, wall_s=t_ms, work=f"{K} ε × {len(starts)} Newton starts"),
        dict(method=Timed.CONTINUATION, wall_s=t_cont,
             work=f"multistart seeds at {len(seed_k)} of {K} ε, {n_first} branches, {len(cont.traced.z)} points"),
        dict(method=Timed.PASS_2, wall_s=t_pass2,
             work=f"{len(traced.end_reason) - n_first} more branches")])
    ends = pd.DataFrame(dict(branch=range(len(traced.end_reason)), end=traced.end_reason))
    ctx.log(f"{name}: multistart {t_ms:.2f} s, continuation {t_cont:.2f} s, pass 2 {t_pass2:.2f} s; "
            f"{len(fold_df)} folds")
    atoms = pd.DataFrame(dict(j=range(len(g)), **{f"y{i}": y[:, i].tolist() for i in range(d)}, g=g.tolist(), t=t,
                              box_lo=[lo.tolist()] * len(g), box_hi=[hi.tolist()] * len(g)))
    return dict(multistart_points=ms_df, critical_points=union_df, branches=branches.merge(ends, on="branch"),
                folds=fold_df, count_differences=diff, counts=counts, timing=timing, atoms=atoms)


def measure(ctx: RunContext) -> None:
    if ctx.dtype != torch.float64:
        raise UserError(f"bifurcation solves ∇H = 0 to 1e-10 and folds to 1e-8, which needs dtype=float64 "
                        f"(got {str(ctx.dtype).removeprefix('torch.')}); run with dtype=float64 or dtype=auto")
    p = ctx.params
    out: dict[str, list[pd.DataFrame]] = {}
    with ctx.progress("sets", len(p.sets)) as advance:
        for i, name in enumerate(p.sets):
            y, g = La.make_set(p.catalogue[name], ctx.generator(10 + i), ctx.dtype, ctx.device)
            tables = ctx.cached(f"set_{name}", lambda y=y, g=g, name=name: analyse(ctx, p, name, y, g))
            for key, df in tables.items():
                out.setdefault(key, []).append(df.assign(set=name))
            advance(1)
    for key, frames in out.items():
        if key == "counts":
            ctx.add_rows(pd.concat(frames, ignore_index=True))
        else:
            ctx.save_table(key, pd.concat(frames, ignore_index=True))
