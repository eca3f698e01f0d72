"""quadrature, measure: sup errors of the normalised LSE layer on N atoms against the Hopf–Cole integral.

Four cases per dimension d, each a row per (rule, grid) in results.csv (Monte Carlo: per repeat):
  lipschitz — g = |y|, ε fixed, against an accurate Gauss–Legendre reference;
  smooth    — g = |y|²/2, ε = N^(−1/d), against the closed form, beside each rule's predicted error term;
  tight     — g = the sawtooth that vanishes at the midpoint grid's nodes (the layer sees g = 0),
              against its product-form integral: the input that makes O(N^(−1/d)) tight;
  authors   — the authors' protocol: endpoint grid, their grids and their references.
reference.csv holds per case the reference's error estimate and the roundoff scale, from which the
judge sets the floor below which a grid cannot decide a slope.
"""

from __future__ import annotations

import pandas as pd
import torch

from hjexp.context import RunContext

from .contract import Case, Rule
from .integrals import (
    GRID_RULES,
    aliasing_term,
    g_lipschitz,
    g_smooth,
    grid_nodes,
    layer_u,
    montecarlo_term,
    random_nodes,
    sawtooth,
    sawtooth_exact,
    smooth_exact,
)


def _sup(u: torch.Tensor, target: torch.Tensor) -> list[float]:
    """Sup over the evaluation points, one value per member.  u [E, n], target [n]."""
    return (u - target).abs().amax(-1).tolist()


def _roundoff(x: torch.Tensor, target: torch.Tensor, t: float) -> float:
    """One unit of roundoff of ū_N = |x|²/4t − f̄: machine epsilon times the larger of the two terms."""
    scale = torch.maximum((x * x).sum(-1) / (4 * t), (target - (x * x).sum(-1) / (4 * t)).abs())
    return torch.finfo(x.dtype).eps * scale.max().item()


def lipschitz(p, d: int, x: torch.Tensor, gen: torch.Generator):
    """g = |y| at fixed ε: grid rules and Monte Carlo against Gauss–Legendre.  -> (rows, reference rows, ū_ref)."""
    lo, hi = p.domain
    Yr, lw = grid_nodes("gauss", p.gauss_nodes[str(d)], d, lo, hi, x)
    ref = layer_u(x, Yr, lw, g_lipschitz(Yr), p.eps, p.t)[0]
    Yc, lwc = grid_nodes("gauss", max(2, (2 * p.gauss_nodes[str(d)]) // 3), d, lo, hi, x)
    ref_err = _sup(layer_u(x, Yc, lwc, g_lipschitz(Yc), p.eps, p.t), ref)[0]
    rows = []
    for rule in (r for r in p.rules if r in GRID_RULES):
        for n in p.grids[str(d)]:
            Y, lw = grid_nodes(rule, n, d, lo, hi, x)
            err = _sup(layer_u(x, Y, lw, g_lipschitz(Y), p.eps, p.t), ref)[0]
            rows.append(dict(case=Case.LIPSCHITZ, d=d, rule=rule, n_axis=n, N=n**d, eps=p.eps, repeat=0, sup_err=err))
    if Rule.MONTECARLO in p.rules:
        for n in p.grids[str(d)]:
            Y, lw = random_nodes(p.mc_repeats, n**d, d, lo, hi, gen, x)  # [R, N, d]
            for r, err in enumerate(_sup(layer_u(x, Y, lw, g_lipschitz(Y), p.eps, p.t), ref)):
                rows.append(dict(case=Case.LIPSCHITZ, d=d, rule=Rule.MONTECARLO, n_axis=n, N=n**d, eps=p.eps, repeat=r,
                                 sup_err=err))
    refs = [dict(case=Case.LIPSCHITZ, d=d, reference=f"Gauss–Legendre {p.gauss_nodes[str(d)]} nodes per half-axis",
                 ref_err=ref_err, roundoff=_roundoff(x, ref, p.t))]
    return rows, refs, ref


def smooth(p, d: int, x: torch.Tensor, gen: torch.Generator):
    """g = |y|²/2 with ε = N^(−1/d) = 1/n: every rule against the closed form, with its predicted term."""
    lo, hi = p.domain
    rows, roundoff = [], 0.0
    for n in p.grids[str(d)]:
        eps = 1.0 / n
        target = smooth_exact(x, eps, p.t, lo, hi)
        roundoff = max(roundoff, _roundoff(x, target, p.t))
        for rule in (r for r in p.rules if r in GRID_RULES):
            Y, lw = grid_nodes(rule, n, d, lo, hi, x)
            err = _sup(layer_u(x, Y, lw, g_smooth(Y), eps, p.t), target)[0]
            pred, amplitude = aliasing_term(x, rule, n, eps, p.t, lo, hi)
            rows.append(dict(case=Case.SMOOTH, d=d, rule=rule, n_axis=n, N=n**d, eps=eps, repeat=0, sup_err=err,
                             pred=pred.abs().max().item(), pred_rel=amplitude))
        if Rule.MONTECARLO in p.rules:
            Y, lw = random_nodes(p.mc_repeats, n**d, d, lo, hi, gen, x)
            pred, rel = montecarlo_term(x, n**d, eps, p.t, lo, hi)
            for r, err in enumerate(_sup(layer_u(x, Y, lw, g_smooth(Y), eps, p.t), target)):
                rows.append(dict(case=Case.SMOOTH, d=d, rule=Rule.MONTECARLO, n_axis=n, N=n**d, eps=eps, repeat=r,
                                 sup_err=err, pred=pred, pred_rel=rel))
    return rows, [dict(case=Case.SMOOTH, d=d, reference="closed form (erf per axis)", ref_err=0.0, roundoff=roundoff)]


def tight(p, d: int, x: torch.Tensor):
    """The sawtooth input on the midpoint grid: sup error → h/4 as h/ε → 0, so the slope is −1/d."""
    lo, hi = p.domain
    rows, ref_err, roundoff = [], 0.0, 0.0
    for n in p.grids[str(d)]:
        Y, lw = grid_nodes(Rule.MIDPOINT, n, d, lo, hi, x)
        g = sawtooth(Y, n, lo, hi)  # zero at the nodes, up to roundoff
        target = sawtooth_exact(x, n, lo, hi, p.eps, p.t, p.tight_gl)
        coarse = sawtooth_exact(x, n, lo, hi, p.eps, p.t, max(2, (2 * p.tight_gl) // 3))
        ref_err = max(ref_err, (coarse - target).abs().max().item())
        roundoff = max(roundoff, _roundoff(x, target, p.t))
        h = (hi - lo) / n
        rows.append(dict(case=Case.TIGHT, d=d, rule=Rule.MIDPOINT, n_axis=n, N=n**d, eps=p.eps, repeat=0,
                         sup_err=_sup(layer_u(x, Y, lw, g, p.eps, p.t), target)[0], pred=h / 4,
                         g_at_nodes=g.abs().max().item()))
    ref = f"product of 1-D composite Gauss–Legendre integrals, {p.tight_gl} nodes per linear piece"
    return rows, [dict(case=Case.TIGHT, d=d, reference=ref, ref_err=ref_err, roundoff=roundoff)]


def authors(p, d: int, x: torch.Tensor, gen: torch.Generator, accurate: torch.Tensor):
    """The authors' protocol: equal-weight endpoint grids against their own references
    (an endpoint grid of reference.1 / reference.2 points per axis in d ≤ 2, Monte Carlo beyond)."""
    lo, hi = p.domain
    if str(d) not in p.authors.grids:
        return [], []
    n_ref = p.authors.reference[str(d)]
    if d >= 4:
        Ya, lwa = random_nodes(1, n_ref, d, lo, hi, gen, x)
        reference = f"Monte Carlo, {n_ref} uniform points"
    else:
        Ya, lwa = grid_nodes(Rule.ENDPOINT, n_ref, d, lo, hi, x)
        reference = f"endpoint grid, {n_ref}^{d} points"
    ref = layer_u(x, Ya, lwa, g_lipschitz(Ya), p.eps, p.t)[0]
    rows = []
    for n in p.authors.grids[str(d)]:
        Y, lw = grid_nodes(Rule.ENDPOINT, n, d, lo, hi, x)
        rows.append(dict(case=Case.AUTHORS, d=d, rule=Rule.ENDPOINT, n_axis=n, N=n**d, eps=p.eps, repeat=0,
                         sup_err=_sup(layer_u(x, Y, lw, g_lipschitz(Y), p.eps, p.t), ref)[0]))
    off = (ref - accurate).abs().max().item()
    return rows, [dict(case=Case.AUTHORS, d=d, reference=reference, ref_err=off, roundoff=_roundoff(x, ref, p.t))]


def one_dimension(ctx: RunContext, d: int) -> tuple[list[dict], list[dict]]:
    p = ctx.params
    x = p.x_half * (2 * torch.rand(p.n_eval, d, generator=ctx.generator(100 * d), dtype=ctx.dtype,
                                   device=ctx.device) - 1)  # [n_eval, d]
    rows, refs, accurate = lipschitz(p, d, x, ctx.generator(100 * d + 1))
    for more, more_refs in (smooth(p, d, x, ctx.generator(100 * d + 2)), tight(p, d, x),
                            authors(p, d, x, ctx.generator(100 * d + 3), accurate)):
        rows += more
        refs += more_refs
    return rows, refs


def measure(ctx: RunContext) -> None:
    references = []
    with ctx.progress("quadrature: one dimension at a time", len(ctx.params.dims)) as advance:
        for d in ctx.params.dims:
            rows, refs = ctx.cached(f"d{d}", lambda d=d: one_dimension(ctx, d))
            ctx.add_rows(rows)
            references += refs
            advance(1)
    ctx.save_table("reference", pd.DataFrame(references))
