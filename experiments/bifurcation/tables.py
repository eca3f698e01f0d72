"""bifurcation: tensors -> tidy tables (critical points, branch points, folds, count differences)."""

from __future__ import annotations

import math

import pandas as pd
import torch
from torch import Tensor

from . import continuation as C
from .contract import Counted, Direction, FoundBy, Side
from .landscape import gibbs_weights


def _coords(x: Tensor) -> dict[str, list[float]]:
    return {f"x{i}": x[:, i].tolist() for i in range(x.shape[1])}


def describe(D: C.Derivatives, x: Tensor, lam: Tensor) -> dict[str, list]:
    """Type, H, Hessian eigenvalues and the fold-conditioning ratio at points x [P, d], λ [P]."""
    if len(x) == 0:
        return dict(type=[], H=[], **{f"eig{i}": [] for i in range(x.shape[1])}, rel_min_eig=[])
    _, hxx, hxl = D.jacobian(x, lam)
    ev, code = C.classify(hxx)
    J = torch.cat([hxx, hxl[..., None]], -1)  # [P, d, d+1]
    rel = ev.abs().amin(-1) / torch.linalg.matrix_norm(J, ord=2)  # smallest |eigenvalue| / ‖J‖₂
    return dict(type=[C.TYPES[c] for c in code.tolist()], H=D.value(x, lam).tolist(),
                **{f"eig{i}": ev[:, i].tolist() for i in range(ev.shape[1])}, rel_min_eig=rel.tolist())


def points_table(D, pts, lams: Tensor, **extra) -> pd.DataFrame:
    lam = lams[pts.k]
    return pd.DataFrame(dict(k=pts.k.tolist(), eps=torch.exp(lam).tolist(), **_coords(pts.x),
                             **describe(D, pts.x, lam), branch=pts.branch.tolist(), **extra))


def branch_table(D, traced: C.Traced, n_first: int) -> pd.DataFrame:
    """Every accepted continuation point, in branch order (for the bifurcation diagram)."""
    order = traced.order()
    z, b = traced.z[order], traced.branch[order]
    info = describe(D, z[:, :-1], z[:, -1])
    return pd.DataFrame(dict(branch=b.tolist(), step=traced.step[order].tolist(), eps=torch.exp(z[:, -1]).tolist(),
                             **_coords(z[:, :-1]), type=info["type"], H=info["H"],
                             found_by=[FoundBy.CONTINUATION if v < n_first else FoundBy.MULTISTART_SEED
                                       for v in b.tolist()]))


def fold_table(D, folds: dict[str, Tensor], y: Tensor, g: Tensor, t: float, n_first: int) -> pd.DataFrame:
    """One row per fold: ε, location, the two types that met, direction, H, merged basins, checks."""
    z = folds["z"]
    if len(z) == 0:
        return pd.DataFrame(columns=["eps_fold", "lam_fold", "types", "direction", "H", "basins", "rel_min_eig",
                                     "rel_other_eig", "inertia_changed", "converged", "branch", "found_by"])
    x, lam = z[:, :-1], z[:, -1]
    at = describe(D, x, lam)
    # the eigenvalues besides the one that vanishes, relative to ‖J‖₂: the fold involves a minimum (merges
    # basins) iff all of them are > 0; one clearly < 0 means a saddle meets a maximum (or two saddles meet)
    _, h_at, hl_at = D.jacobian(x, lam)
    ev_at = torch.linalg.eigvalsh(h_at)  # [F, d] ascending
    keep = torch.ones_like(ev_at, dtype=torch.bool).scatter_(-1, ev_at.abs().argmin(-1, keepdim=True), False)
    norm = torch.linalg.matrix_norm(torch.cat([h_at, hl_at[..., None]], -1), ord=2)  # [F]
    other = torch.where(keep, ev_at, torch.inf).amin(-1) / norm  # [F]; +inf in d = 1 (no other eigenvalue)
    _, h_prev, _ = D.jacobian(folds["z_prev"][:, :-1], folds["z_prev"][:, -1])
    _, h_next, _ = D.jacobian(folds["z_next"][:, :-1], folds["z_next"][:, -1])
    (ev_p, c_p), (ev_n, c_n) = C.classify(h_prev), C.classify(h_next)
    neg_p, neg_n = (ev_p < 0).sum(-1), (ev_n < 0).sum(-1)  # Hessian inertia on either side
    pair = [" + ".join(sorted((C.TYPES[a], C.TYPES[b]))) for a, b in zip(c_p.tolist(), c_n.tolist())]
    # τ_λ from + to −: the branch turns back at its largest ε, so the pair exists below ε_fold
    born = folds["tl_prev"] < 0
    top2 = gibbs_weights(x, y, g, t, torch.exp(lam)).topk(2, dim=-1).indices
    return pd.DataFrame(dict(
        eps_fold=torch.exp(lam).tolist(), lam_fold=lam.tolist(), **_coords(x), types=pair,
        direction=[Direction.BORN if b else Direction.ANNIHILATE for b in born.tolist()], H=at["H"],
        basins=[f"{i}|{j}" for i, j in top2.tolist()], rel_min_eig=at["rel_min_eig"], rel_other_eig=other.tolist(),
        inertia_changed=(neg_p != neg_n).tolist(), converged=folds["converged"].tolist(),
        eps_secant=torch.exp(folds["z_secant"][:, -1]).tolist(), branch=folds["branch"].tolist(),
        found_by=[FoundBy.CONTINUATION if v < n_first else FoundBy.MULTISTART_SEED for v in folds["branch"].tolist()]))


def count_table(K: int, lams: Tensor, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Counts per grid ε, per method and type (tidy)."""
    rows = []
    for method, df in frames.items():
        for kind in (Counted.ALL, Counted.MIN, Counted.SADDLE, Counted.MAX, Counted.DEGENERATE):
            sel = df if kind == Counted.ALL else df[df.type == kind]
            n = sel.groupby("k").size().reindex(range(K), fill_value=0)
            rows += [dict(method=method, type=kind, k=k, eps=math.exp(float(lams[k])), count=int(c))
                     for k, c in n.items()]
    return pd.DataFrame(rows)


def differences(ms: pd.DataFrame, cont: pd.DataFrame, union_branches: pd.DataFrame, folds: pd.DataFrame,
                seed_eps: list[float], d: int, tol: float, reasons: list[str]) -> pd.DataFrame:
    """Points found by one method only at a grid ε, each with the reason it was missed."""
    cols = [f"x{i}" for i in range(d)]
    out = []
    for side, a, b in ((Side.MULTISTART_ONLY, ms, cont), (Side.CONTINUATION_ONLY, cont, ms)):
        for k, pa in a.groupby("k"):
            pb = b[b.k == k]
            # host-side bookkeeping on saved positions: explicitly CPU, whatever the run's device
            xa = torch.tensor(pa[cols].to_numpy(), device="cpu")
            xb = torch.tensor(pb[cols].to_numpy(), device="cpu") if len(pb) else torch.empty(0, d, dtype=xa.dtype, device="cpu")
            near = torch.cdist(xa, xb).amin(-1) if len(xb) else torch.full((len(xa),), math.inf, device="cpu")
            for (_, row), dist in zip(pa.iterrows(), near.tolist()):
                if dist < tol:
                    continue
                why, detail = _why(side, row, union_branches, folds, seed_eps, reasons)
                out.append(dict(row[["k", "eps", *cols, "type", "H", "rel_min_eig"]], side=side, why=why,
                                detail=detail))
    return pd.DataFrame(out)


def _why(side, row, branches, folds, seed_eps, reasons) -> tuple[str, str]:
    """(reason, detail) for a point found by one method only."""
    if side == Side.CONTINUATION_ONLY:
        if len(folds) and (abs(folds.lam_fold - math.log(row.eps))).min() < 0.02:
            return "within 0.02 in log ε of a fold: two close points with a near-singular Hessian", ""
        return f"no Newton start of the grid converged to this {row.type}", ""
    if row.branch < 0:
        return "not on any traced branch", ""
    b = branches[branches.branch == row.branch]
    lo, hi = b.eps.min(), b.eps.max()
    if not any(lo <= e <= hi for e in seed_eps):
        return "its branch lies between the continuation's seed slices", f"ε ∈ [{lo:.4g}, {hi:.4g}]"
    return "its branch was cut short", reasons[int(row.branch)]
