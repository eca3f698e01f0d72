"""identity, judge: claim rows from results.csv and config.yaml only."""

from __future__ import annotations

import math

from hjexp import claims as C
from hjexp.claims.roundoff import roundoff_tol

from .contract import Part, Q

ROUNDOFF_WHY = "float64 roundoff (judge.roundoff)"

CLAIMS = (
    C.Spec("identity.hopf_cole.max_abs_err", "exact", "0 (exact identity)",
           "f_ε + u_ε = |x|²/4t, f from (W, b), u from atoms (y, g) by distances; paper setup and random layers",
           "pass iff max |f_ε + u_ε − |x|²/4t| ≤ judge.roundoff (1e-12)", "pass at every profile"),
    C.Spec("identity.inverse_map.max_abs_err", "exact", "0",
           "(W, b) → (y, g) → (W, b) → (y, g) round trip", "pass iff max abs error ≤ judge.roundoff (1e-12)",
           "pass at every profile"),
    C.Spec("identity.pde_residual.max_rel", "exact", "0",
           "u_t + |∇u|² − εΔu of u_ε + (εd/2)log(4πεt) by autograd, relative to |u_t| + |∇u|² + ε|Δu|",
           "pass iff the worst relative residual ≤ judge.roundoff (1e-12)", "pass at every profile"),
    C.Spec("identity.softplus_gap.max_over_eps_ln2", "bound", "0 ≤ softplus_ε − ReLU ≤ ε ln 2",
           "max over ε and z of (softplus_ε − ReLU)/(ε ln 2), z-grid through 0",
           "pass iff 1 + roundoff ≥ ratio and the gap is never below −roundoff", "pass at every profile"),
    C.Spec("identity.lse_max_gap.within_eps_logN", "bound", "0 ≤ LSE_ε − max ≤ ε log N",
           "max over ε of (LSE_ε − max)/(ε log N) on random logits",
           "pass iff 1 + roundoff ≥ ratio and the gap is never below −roundoff", "pass at every profile"),
    C.Spec("identity.two_layer_relu.slope_in_eps", "attained_rate", "1 (gap linear in ε)",
           "log–log slope of sup|softplus net − ReLU net| vs ε as ε → 0 (sup over grid and kinks)",
           "", "pass at every profile (slope 1.000)"),
    C.Spec("identity.relu_two_atoms.max_abs_err", "exact", "0",
           "max(x, 0) = x²/4t − u_0(x) with atoms y = (0, 2t), g = (0, −t)",
           "pass iff max abs error ≤ judge.roundoff (1e-12)", "pass at every profile"),
    C.Spec("identity.hopf_lax_semigroup.max_over_bound", "bound", "0 ≤ error ≤ h²(1/t + 1/s)/16",
           "u_0(·, t+s) against the grid minimum of u_0(z, t) + |x − z|²/4s, every grid",
           "pass iff error/bound ≤ 1 (+ roundoff) on every grid and the signed error ≥ −roundoff",
           "pass at every profile"),
    C.Spec("identity.viscous_semigroup.err_decreases", "exact", "→ 0 with the grid",
           "heat-kernel (trapezoid) step of u_ε against the closed form u_ε(·, t+s)",
           "pass iff the error is non-increasing in the grid for every ε and ≤ judge.semigroup_tol (1e-10) "
           "at the finest grid", "pass at every profile"),
)


def _two_sided(claim_id: str, description: str, ratio: float, lowest: float, tol: float, theory: str) -> C.Claim:
    return C.bound(claim_id, description, ratio, 1.0, slack=tol, theory=theory, what="the max ratio",
                   also={f"the smallest gap {lowest:.3g} ≥ −{tol:g}": lowest >= -tol})


def judge(run: C.RunData) -> list[C.Claim]:
    df, p, r = run.table(), run.params, run.rules
    tol, _ = roundoff_tol(df, float(r.roundoff))  # judge.roundoff is stated for float64
    out = []

    def part(name, quantity=None):
        sel = df[df.part == name]
        return sel if quantity is None else sel[sel.quantity == quantity]

    hc = part(Part.HOPF_COLE)
    out.append(C.exact("identity.hopf_cole.max_abs_err",
                       f"max |f_ε + u_ε − |x|²/4t| over the paper setup and random layers d ≤ {max(p.random.dims)}, "
                       f"u from atoms (y, g) by distances (float64)", hc.value.max(), tol=tol, theory="0 (exact identity)",
                       arithmetic="algebra: with y = 2tW, g = −b − t|W|², −(g_j + |x − y_j|²/4t) = w_j·x + b_j − |x|²/4t, "
                                  "so f_ε + u_ε = |x|²/4t for every input"))
    out.append(C.exact("identity.inverse_map.max_abs_err", "(W,b) -> (y,g) -> (W,b) -> (y,g) round trip, max abs error",
                       part(Part.INVERSE_MAP).value.max(), tol=tol,
                       arithmetic="the two maps are inverse by algebra; the row checks roundoff of the round trip"))
    worst_abs = part(Part.PDE_RESIDUAL, Q.MAX_ABS).value.max()
    out.append(C.exact("identity.pde_residual.max_rel",
                       f"max |u_t + |∇u|² − εΔu| of u_ε + (εd/2)log(4πεt) by autograd, d ∈ {list(p.pde.dims)}, "
                       f"relative to |u_t|+|∇u|²+ε|Δu| (absolute: {worst_abs:.2g})",
                       part(Part.PDE_RESIDUAL, Q.MAX_REL).value.max(), tol=tol, what="worst relative residual",
                       arithmetic="the Hopf–Cole transform: e^{−u/ε} solves the heat equation, so u solves the viscous HJ "
                                  "equation exactly"))
    for name, cid, scale, theory in (
            (Part.SOFTPLUS_GAP, "identity.softplus_gap.max_over_eps_ln2", lambda e: e * math.log(2),
             "≤ 1 (= 1 at z = 0)"),
            (Part.LSE_MAX_GAP, "identity.lse_max_gap.within_eps_logN",
             lambda e: e * math.log(p.tropical.lse_neurons), "in [0, 1]")):
        top, low = part(name, Q.MAX), part(name, Q.MIN)
        ratio = (top.value / scale(top.eps)).max()
        what = "(softplus_ε − ReLU)/(ε ln 2)" if name == Part.SOFTPLUS_GAP else \
            f"(LSE_ε − max)/(ε log N), N = {p.tropical.lse_neurons}"
        out.append(_two_sided(cid, f"max over ε of {what}; the gap must never be negative", ratio,
                              low.value.min(), tol, theory))
    gap = part(Part.TWO_LAYER_GAP, Q.SUP_WITH_KINKS)
    est = C.deterministic_slope(gap.eps, gap.value, tol=float(r.stable_tol), toward="small")
    out.append(C.attained_rate("identity.two_layer_relu.slope_in_eps",
                               "log–log slope of sup|softplus net − ReLU net| vs ε as ε → 0 (sup over the "
                               "authors' grid plus the kinks, which a grid coarser than ε misses)",
                               1.0, est, band=tuple(r.band),
                               arithmetic="0 ≤ softplus_ε − ReLU ≤ ε ln 2 with equality at 0, and a Lipschitz readout "
                                          "carries the gap: sup|difference| = Θ(ε) for any net with a kink in the domain"))
    relu = part(Part.RELU_TWO_ATOMS)
    authors = relu[relu.quantity == Q.AUTHORS_U0_VS_RELU].value.max()
    out.append(C.exact("identity.relu_two_atoms.max_abs_err",
                       f"max |max(x,0) − (x²/4t − u_0(x))|, atoms y = (0, 2t), g = (0, −t) on {list(p.tropical.x_range)} "
                       f"(the authors compare u_0 with ReLU directly: off by {authors:.3g})",
                       relu[relu.quantity == Q.MAX_ABS_ERR].value.max(), tol=tol,
                       arithmetic="algebra: x²/4t − min(x²/4t, (x − 2t)²/4t − t) = max(0, x)"))
    hl = part(Part.HOPF_LAX_SEMIGROUP).pivot_table(index="grid", columns="quantity", values="value")
    ratio = (hl[Q.MAX_ABS_ERR] / hl[Q.BOUND]).max()
    out.append(_two_sided("identity.hopf_lax_semigroup.max_over_bound",
                          f"max over grids {[int(g) for g in hl.index]} of error/(h²(1/t+1/s)/16), u_0(·,t+s) vs the grid minimum "
                          f"of u_0(z,t) + |x−z|²/4s (t={p.t}, s={p.semigroup.s}); a grid minimum never undercuts "
                          "the infimum", ratio, hl[Q.MIN_SIGNED_ERR].min(), tol, "≤ 1"))
    visc = part(Part.VISCOUS_SEMIGROUP)
    stol, _ = roundoff_tol(df, float(r.semigroup_tol))
    monotone, finals = True, []
    for _, curve in visc.groupby("eps"):
        e = curve.sort_values("grid").value.to_numpy()
        floor = 1e-13 * tol / float(r.roundoff)  # float64 noise floor, scaled with the dtype like tol
        monotone &= bool(all(b <= max(a, floor) for a, b in zip(e, e[1:])))
        finals.append(e[-1])
    worst = max(finals)
    out.append(C.exact("identity.viscous_semigroup.err_decreases",
                       f"heat-kernel (trapezoid) step of u_ε vs the closed form u_ε(·,t+s), ε ∈ {list(p.semigroup.eps_viscous)}; "
                       "measured = worst error at the finest grid", worst, tol=stol, theory="→ 0 with the grid",
                       what="the worst error at the finest grid",
                       also={"the error is non-increasing in the grid for every ε": monotone}))
    return out
