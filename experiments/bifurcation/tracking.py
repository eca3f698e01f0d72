"""Critical points of a potential over a λ grid, two ways:

- ``multistart_scan``: the authors' protocol — at every λ of the grid, Newton from a grid of starts
  and keep the distinct converged points (all λ in one batch);
- ``continue_branches``: seed at a few λ only, trace every branch by pseudo-arclength continuation,
  read the critical points at each grid λ off the traced branches, and locate the folds.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from . import continuation as C


@dataclass
class Points:
    """Critical points: position x [P, d] at grid index k [P] (λ = lams[k]); branch [P] (−1: none)."""

    x: Tensor
    k: Tensor
    branch: Tensor


def _inside(x: Tensor, lo: Tensor, hi: Tensor) -> Tensor:
    return ((x >= lo) & (x <= hi)).all(-1)


def distinct(x: Tensor, k: Tensor, tol: float) -> Tensor:
    """Mask of the first point of every cluster closer than ``tol`` at the same k (rounding first,
    then exact distances within each k, so memory stays O(points per k)²)."""
    key = torch.cat([k[:, None].to(x.dtype), torch.round(x / tol)], -1)
    _, inverse = torch.unique(key, dim=0, return_inverse=True)
    first = torch.full((int(inverse.max()) + 1 if len(inverse) else 0,), len(x), device=x.device)
    first = first.scatter_reduce(0, inverse, torch.arange(len(x), device=x.device), "amin")
    keep = torch.zeros(len(x), dtype=torch.bool, device=x.device)
    keep[first] = True
    for kk in torch.unique(k[keep]).tolist():  # rounding can split one point in two: merge by distance
        idx = (keep & (k == kk)).nonzero().flatten()
        keep[idx] = C.unique_rows(x[idx], torch.zeros_like(idx), tol)
    return keep


def multistart_scan(D: C.Derivatives, lams: Tensor, starts: Tensor, lo: Tensor, hi: Tensor, *,
                    tol: float, resolved=None, chunk: int = 200_000) -> Points:
    """Newton from every start at every λ of ``lams`` [K]; distinct converged points inside the box."""
    K, S = len(lams), len(starts)
    xs, ks = [], []
    per = max(1, chunk // S)
    for k0 in range(0, K, per):  # chunks of whole λ slices bound the memory
        kk = torch.arange(k0, min(K, k0 + per), device=lams.device).repeat_interleave(S)
        x, ok = C.newton_critical(D, starts.repeat(len(kk) // S, 1), lams[kk])
        ok = ok & _inside(x, lo, hi)
        if resolved is not None:
            ok = ok & resolved(x, lams[kk])
        xs.append(x[ok])
        ks.append(kk[ok])
    x, k = torch.cat(xs), torch.cat(ks)
    keep = distinct(x, k, tol)
    return Points(x[keep], k[keep], torch.full_like(k[keep], -1))


def covered(seed_x: Tensor, seed_k: Tensor, on: Points, tol: float) -> Tensor:
    """Which seeds coincide with a point of ``on`` at the same grid index.  [S] bool."""
    if len(on.x) == 0 or len(seed_x) == 0:
        return torch.zeros(len(seed_x), dtype=torch.bool, device=seed_x.device)
    close = (torch.cdist(seed_x, on.x) < tol) & (seed_k[:, None] == on.k[None, :])
    return close.any(-1)


@dataclass
class Continuation:
    points: Points  # critical points on every grid λ, read off the branches
    traced: C.Traced  # the accepted continuation points of every kept branch
    folds: dict[str, Tensor]  # refined folds: z, converged, branch, tl_prev, tl_next, z_prev, z_next
    n_seeds: int


def merge(parts: list[C.Traced]) -> C.Traced:
    """Concatenate traced sets, renumbering branches so they stay distinct."""
    offset, out = 0, dict(branch=[], step=[], z=[], tau_lam=[], reason=[], folds={})
    for t in parts:
        out["branch"].append(t.branch + offset)
        out["step"].append(t.step)
        out["z"].append(t.z)
        out["tau_lam"].append(t.tau_lam)
        out["reason"] += t.end_reason
        for key, v in t.folds.items():
            out["folds"].setdefault(key, []).append(v + offset if key == "branch" else v)
        offset += len(t.end_reason)
    folds = {k: torch.cat(v) for k, v in out["folds"].items()}
    return C.Traced(torch.cat(out["branch"]), torch.cat(out["step"]), torch.cat(out["z"]),
                    torch.cat(out["tau_lam"]), out["reason"], folds)


def subset(t: C.Traced, keep: Tensor) -> C.Traced:
    """Only the branches with keep[branch] True (branch ids kept)."""
    m = keep[t.branch]
    fm = keep[t.folds["branch"]] if len(t.folds.get("branch", [])) else None
    folds = {k: (v[fm] if fm is not None else v) for k, v in t.folds.items()}
    return C.Traced(t.branch[m], t.step[m], t.z[m], t.tau_lam[m], t.end_reason, folds)


def continue_branches(D: C.Derivatives, lams: Tensor, seed_k: list[int], starts: Tensor, lo: Tensor, hi: Tensor,
                      settings: C.Settings, *, tol: float) -> Continuation:
    """Seeds by multistart at the grid indices ``seed_k`` only; the two end slices are traced
    inward, interior slices both ways, and only seeds not already on a traced branch are traced."""
    K = len(lams)
    ends = [k for k in seed_k if k in (0, K - 1)]
    inner = [k for k in seed_k if k not in (0, K - 1)]
    seeds = multistart_scan(D, lams[seed_k], starts, lo, hi, tol=tol, resolved=settings.resolved)
    seeds.k = torch.as_tensor(seed_k, device=lams.device)[seeds.k]
    at_end = torch.isin(seeds.k, torch.as_tensor(ends, device=lams.device, dtype=seeds.k.dtype))
    parts: list[C.Traced] = []
    if bool(at_end.any()):
        x0, k0 = seeds.x[at_end], seeds.k[at_end]
        direction = torch.where(k0 == 0, 1.0, -1.0).to(lams.dtype)
        traced = C.trace(D, x0, lams[k0], direction, settings)
        # A branch from one end that returns to an end passes through another seed there: the
        # later of the two duplicates the earlier one.
        on = slice_at(D, traced, lams, torch.as_tensor(ends, device=lams.device))
        dup = (torch.cdist(x0, on.x) < tol) & (k0[:, None] == on.k[None, :]) & \
              (on.branch[None, :] < torch.arange(len(x0), device=x0.device)[:, None])
        keep = ~dup.any(-1)
        parts.append(subset(traced, keep))
    if inner:
        sofar = merge(parts) if parts else None
        on = slice_at(D, sofar, lams, torch.as_tensor(inner, device=lams.device)) if sofar else None
        cand = ~at_end
        if on is not None:
            cand = cand & ~covered(seeds.x, seeds.k, on, tol)
        if bool(cand.any()):
            parts.append(two_way_distinct(D, seeds.x[cand], seeds.k[cand], lams, settings, tol))
    traced = merge(parts)
    points = slice_at(D, traced, lams, torch.arange(K, device=lams.device), settings.resolved)
    return Continuation(points, traced, refine(D, traced), len(seeds.x))


def two_way_distinct(D, x0, k0, lams, settings, tol) -> C.Traced:
    """Trace interior seeds both ways, dropping seeds that lie on an earlier seed's branch."""
    traced = C.trace_both(D, x0, lams[k0], settings)
    on = slice_at(D, traced, lams, torch.unique(k0))
    dup = (torch.cdist(x0, on.x) < tol) & (k0[:, None] == on.k[None, :]) & \
          (on.branch[None, :] < torch.arange(len(x0), device=x0.device)[:, None])
    return subset(traced, ~dup.any(-1))


def slice_at(D, traced: C.Traced, lams: Tensor, ks: Tensor, resolved=None) -> Points:
    x, kk, b = C.slice_branches(D, traced, lams[ks])
    keep = resolved(x, lams[ks][kk]) if resolved is not None else torch.ones_like(kk, dtype=torch.bool)
    return Points(x[keep], ks[kk][keep], b[keep])


def refine(D: C.Derivatives, t: C.Traced) -> dict[str, Tensor]:
    """Secant on τ_λ between the bracketing steps, then Newton on {∇V = 0, det ∇²V = 0}."""
    f = t.folds
    if len(f.get("branch", [])) == 0:
        empty = t.z[:0]
        return dict(z=empty, z_secant=empty, converged=torch.zeros(0, dtype=torch.bool, device=t.z.device),
                    branch=t.branch[:0], tl_prev=empty[:, 0], tl_next=empty[:, 0], z_prev=empty, z_next=empty,
                    step=t.step[:0])
    w = (f["tl_prev"] / (f["tl_prev"] - f["tl_next"]))[:, None]
    z0 = f["z_prev"] + w * (f["z_next"] - f["z_prev"])
    z, ok = C.refine_folds(D, z0)
    # A refinement that wanders off the bracket has found another fold: keep the secant estimate.
    lo = torch.minimum(f["z_prev"], f["z_next"])
    hi = torch.maximum(f["z_prev"], f["z_next"])
    span = (hi - lo).norm(dim=-1, keepdim=True)
    near = ((z >= lo - span) & (z <= hi + span)).all(-1)
    ok = ok & near
    return dict(z=torch.where(ok[:, None], z, z0), z_secant=z0, converged=ok, **f)
