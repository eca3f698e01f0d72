"""phase-diagram, measure: entropy of the attribution weights across ε on three atom sets.

Per set (one cached unit, all seeds at once): H(ε) at the four query points over the ε scan, the ε
where H at the boundary query crosses ½ log N (bisection), the scales it is compared with (ε* = N^(−1/d)
and the nearest-neighbour scale), the logit gap and range that say whether the scan ends can reach
H → 0 and H → log N; for seed 0 also attribution bars, entropy/prediction/field maps and animation
frames. Rows and tables only; judge.py decides.
"""

from __future__ import annotations

import math

import pandas as pd
import torch

from hjexp.context import RunContext
from hjexp.engine import closed as L

from . import gibbs
from .contract import Q, Query
from .sets import QUERIES, AtomSet, DataMissing, build


def _eps_list(values, eps_star: float) -> list[tuple[str, float]]:
    """(label, ε) for the configured values with the set's ε* inserted, in increasing ε."""
    return sorted([(f"{v:g}", float(v)) for v in values] + [("ε*", eps_star)], key=lambda p: p[1])


def _grid(ctx: RunContext, box, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Points [1, n², 2] of an n×n grid over box, and their column / row indices."""
    axes = [torch.linspace(lo, hi, n, dtype=ctx.dtype, device=ctx.device) for lo, hi in box]
    g1, g2 = torch.meshgrid(*axes, indexing="xy")  # [n, n]: row iy, column ix
    iy, ix = torch.meshgrid(torch.arange(n, device="cpu"), torch.arange(n, device="cpu"), indexing="ij")  # CSV indices
    return torch.stack([g1.reshape(-1), g2.reshape(-1)], -1)[None], ix.reshape(-1), iy.reshape(-1)


def _scan(ctx: RunContext, s: AtomSet, eps: torch.Tensor, t: float) -> tuple[pd.DataFrame, list[dict]]:
    """Entropy curves at the queries over the scan, and the per-seed numbers the claims rest on."""
    p = ctx.params
    n_cls = len(s.class_names)
    H = gibbs.evaluate(s.queries, s.y, s.g, s.cls, n_cls, eps, t, p.chunk_elements)["H"]  # [K, S, Q]
    K, S, NQ = H.shape  # NQ queries (Q is the quantity keys)
    curves = pd.DataFrame(dict(
        set=s.name, seed=torch.arange(S, device="cpu").repeat_interleave(NQ).repeat(K).numpy(),
        query=[QUERIES[q] for q in range(NQ)] * (K * S),
        eps=eps.cpu().repeat_interleave(S * NQ).numpy(), H=H.reshape(-1).cpu().numpy()))
    log_n = math.log(s.n_atoms)
    level = torch.full((S,), 0.5 * log_n, dtype=s.y.dtype, device=s.y.device)
    lo, hi = float(eps[0]), float(eps[-1])
    boundary, atom = s.queries[:, QUERIES.index(Query.BOUNDARY)], s.queries[:, QUERIES.index(Query.ATOM)]
    cross = gibbs.crossing_eps(boundary, s.y, s.g, t, level, lo, hi)  # [S]
    gap, spread = gibbs.logit_gap_and_range(atom, s.y, s.g, t)
    ends = gibbs.entropy_at(atom.repeat(2, 1), s.y.repeat(2, 1, 1), s.g.repeat(2, 1),
                            torch.cat([torch.full_like(level, lo), torch.full_like(level, hi)]), t)  # [2S]
    # the limit ends, chosen from the logits: where the certificates put H within limit_bound·log N of its limits
    e_lo, e_hi = gibbs.limit_eps(gap, spread, s.n_atoms, float(p.limit_bound) * log_n)
    safe = torch.where(torch.isnan(e_lo), torch.full_like(e_lo, lo), e_lo)
    lim = gibbs.entropy_at(atom.repeat(2, 1), s.y.repeat(2, 1, 1), s.g.repeat(2, 1), torch.cat([safe, e_hi]), t)
    lim[:S] = torch.where(torch.isnan(e_lo), torch.nan, lim[:S])
    per_seed = {Q.N_ATOMS: [s.n_atoms] * S, Q.DIM: [s.dim] * S, Q.LOG_N: [log_n] * S, Q.EPS_STAR: [s.eps_star] * S,
                Q.EPS_NN: s.eps_nn(t).tolist(), Q.EPS_CROSS: cross.tolist(), Q.EPS_MIN: [lo] * S, Q.EPS_MAX: [hi] * S,
                Q.H_ATOM_EPS_MIN: ends[:S].tolist(), Q.H_ATOM_EPS_MAX: ends[S:].tolist(),
                Q.GAP_ATOM: gap.tolist(), Q.RANGE_ATOM: spread.tolist(), Q.EPS_LO_LIM: e_lo.tolist(),
                Q.EPS_HI_LIM: e_hi.tolist(), Q.H_ATOM_LO_LIM: lim[:S].tolist(), Q.H_ATOM_HI_LIM: lim[S:].tolist()}
    rows = [dict(set=s.name, seed=i, quantity=k, value=float(v[i])) for k, v in per_seed.items() for i in range(S)]
    return curves, rows


def _attribution(s: AtomSet, eps_star: float, values, t: float) -> pd.DataFrame:
    """π_j at the boundary query of seed 0 for each bar ε.  One row per (ε, atom)."""
    labels = _eps_list(values, eps_star)
    eps = torch.tensor([e for _, e in labels], dtype=s.y.dtype, device=s.y.device)
    a = L.atom_logits(s.queries[:1, QUERIES.index(Query.BOUNDARY)][:, None], s.y[:1], s.g[:1], t)[0, 0]  # [N]
    pi = torch.softmax(a[None] / eps[:, None], -1)  # [E, N]
    N = s.n_atoms
    return pd.DataFrame(dict(set=s.name, eps_label=[lab for lab, _ in labels for _ in range(N)],
                             eps=eps.cpu().repeat_interleave(N).numpy(), atom=list(range(N)) * len(labels),
                             cls=s.cls[0].cpu().repeat(len(labels)).numpy(), pi=pi.reshape(-1).cpu().numpy()))


def _maps(ctx: RunContext, s: AtomSet, t: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seed 0: H, prediction and field on the map grid at the map ε's; H on the animation frames."""
    p = ctx.params
    labels = _eps_list(p.eps_maps, s.eps_star)
    eps = ctx.tensor([e for _, e in labels])
    x, ix, iy = _grid(ctx, s.box, p.n_grid)
    n_cls = len(s.class_names)
    out = gibbs.evaluate(x, s.y[:1], s.g[:1], s.cls[:1], n_cls, eps, t, p.chunk_elements)
    K, n = len(labels), x.shape[1]
    top = out["p"][:, 0].max(-1)  # [K, n]
    maps = pd.DataFrame(dict(
        set=s.name, eps_label=[lab for lab, _ in labels for _ in range(n)], eps=eps.cpu().repeat_interleave(n).numpy(),
        ix=ix.repeat(K).numpy(), iy=iy.repeat(K).numpy(),
        x1=x[0, :, 0].cpu().repeat(K).numpy(), x2=x[0, :, 1].cpu().repeat(K).numpy(),
        H=out["H"][:, 0].reshape(-1).cpu().numpy(), p_top=top.values.reshape(-1).cpu().numpy(),
        pred=top.indices.reshape(-1).cpu().numpy(),
        field_x1=out["field"][:, 0, :, 0].reshape(-1).cpu().numpy(),
        field_x2=out["field"][:, 0, :, 1].reshape(-1).cpu().numpy()))
    lo, hi = p.scan_log10
    eps_f = torch.logspace(lo, hi, p.n_frames, dtype=ctx.dtype, device=ctx.device)
    xa, ixa, iya = _grid(ctx, s.box, p.n_anim_grid)
    Hf = gibbs.evaluate(xa, s.y[:1], s.g[:1], s.cls[:1], n_cls, eps_f, t, p.chunk_elements)["H"][:, 0]  # [F, n]
    F, na = Hf.shape
    frames = pd.DataFrame(dict(set=s.name, frame=torch.arange(F, device="cpu").repeat_interleave(na).numpy(),
                               eps=eps_f.cpu().repeat_interleave(na).numpy(), ix=ixa.repeat(F).numpy(),
                               iy=iya.repeat(F).numpy(), H=Hf.reshape(-1).cpu().numpy().round(4)))  # display only
    return maps, frames


def _describe(s: AtomSet) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seed 0's atoms and queries, and the set's box, for the figures."""
    y = s.y[0].cpu()
    atoms = pd.DataFrame(dict(set=s.name, atom=range(s.n_atoms), x1=y[:, 0].numpy(), x2=y[:, 1].numpy(),
                              cls=s.cls[0].cpu().numpy(), g=s.g[0].cpu().numpy()))
    qs = s.queries[0].cpu()
    info = pd.DataFrame(dict(set=s.name, query=list(QUERIES), x1=qs[:, 0].numpy(), x2=qs[:, 1].numpy(),
                             x1_lo=s.box[0][0], x1_hi=s.box[0][1], x2_lo=s.box[1][0], x2_hi=s.box[1][1],
                             n_atoms=s.n_atoms, eps_star=s.eps_star, classes="|".join(s.class_names)))
    return atoms, info


def measure_set(ctx: RunContext, name: str) -> dict:
    p = ctx.params
    s = build(ctx, name, p.n_seeds)
    lo, hi = p.scan_log10
    eps = torch.logspace(lo, hi, p.n_scan, dtype=ctx.dtype, device=ctx.device)
    curves, rows = _scan(ctx, s, eps, p.t)
    maps, frames = _maps(ctx, s, p.t)
    atoms, queries = _describe(s)
    return dict(rows=rows, curves=curves, attribution=_attribution(s, s.eps_star, p.eps_bars, p.t), maps=maps,
                frames=frames, atoms=atoms, queries=queries)


def measure(ctx: RunContext) -> None:
    tables: dict[str, list[pd.DataFrame]] = {}
    with ctx.progress("phase-diagram sets", len(ctx.params.sets)) as advance:
        for name in ctx.params.sets:
            try:
                part = ctx.cached(f"set-{name}", lambda name=name: measure_set(ctx, name))
            except DataMissing as exc:
                ctx.console.print(f"[yellow]phase-diagram: set {name} skipped: {exc}[/]")
                ctx.log(f"set {name} skipped: {exc}")
                ctx.add_rows([dict(set=name, quantity=Q.SKIPPED, value=math.nan, note=str(exc))])
                advance(1)
                continue
            ctx.add_rows(part.pop("rows"))
            for k, v in part.items():
                tables.setdefault(k, []).append(v)
            advance(1)
    for k, v in tables.items():
        ctx.save_table(k, pd.concat(v, ignore_index=True))
