"""costate, judge: claim rows from results.csv and config.yaml only."""

from __future__ import annotations

from hjexp import claims as C
from hjexp.claims.roundoff import roundoff_tol

from .contract import Part, Q

CLAIMS = (
    C.Spec("costate.discrete.max_rel_err", "exact", "0 (backprop = discrete co-state)",
           "hand-written p_k = p_{k+1} + h(∂F/∂x)ᵀp_{k+1} and ∂L/∂θ_k = h ∂ℋ_k/∂θ_k vs autograd of the whole "
           "residual net, every depth and parameter, relative to the largest autograd entry",
           "pass iff the worst relative difference ≤ judge.roundoff (1e-12 at float64, scaled by machine ε for other dtypes)", "pass at every profile (float64)"),
    C.Spec("costate.convergence.order", "attained_rate", "1 (first order in h)",
           "log–log slope of sup_k |p_k − p(t_k)| / sup|p| against h = T/K, p(t) the continuous adjoint ODE "
           "solution (RK4, fine grid)",
           "deterministic sequence: pass iff the stabilised local slopes lie inside band·1 (default [0.8, 1.25]); "
           "fail iff disjoint; else inconclusive", "pass at every profile"),
    C.Spec("costate.reference.rel_diff_half_steps", "info", "≪ the smallest discrete error",
           "accuracy of the continuous reference: RK4 with M steps vs M/2 steps, relative",
           "reported, not judged: shows the reference is accurate enough to measure the discrete error",
           "info"),
)


def judge(run: C.RunData) -> list[C.Claim]:
    df, p, r = run.table(), run.params, run.rules
    tol, note = roundoff_tol(df, float(r.roundoff))
    disc = df[df.part == Part.DISCRETE]
    worst = disc.loc[disc.value.idxmax()]
    out = [C.exact("costate.discrete.max_rel_err",
                   f"hand co-state recursion and h ∂ℋ_k/∂θ_k vs autograd, depths K ∈ {sorted(int(k) for k in disc.K.unique())}, "
                   f"{p.discrete.n_nets} random nets, D = {p.D}, m = {p.m}, T = {p.T}; worst: {worst.what} at K = {int(worst.K)}{note}",
                   disc.value.max(), tol=tol, what="max relative difference", theory="0 (backprop = discrete co-state)",
                   arithmetic="the chain rule: reverse-mode differentiation of x_{k+1} = x_k + hF is the co-state "
                              "recursion p_k = p_{k+1} + h(∂F/∂x)ᵀp_{k+1}")]
    conv = df[(df.part == Part.CONVERGENCE) & (df.quantity == Q.MAX_REL_ERR)].sort_values("h")
    ref = df[df.part == Part.REFERENCE].set_index("quantity").value
    est = C.deterministic_slope(conv.h, conv.value, tol=float(r.stable_tol), toward="small")
    out.append(C.attained_rate("costate.convergence.order",
                               f"slope of sup_k |p_k − p(t_k)|/sup|p| vs h = T/K, K ∈ {[int(k) for k in conv.K[::-1]]}, "
                               f"θ_k = θ(kh) for a smooth θ(t), {p.convergence.n_nets} nets; reference: RK4 with "
                               f"{p.convergence.reference_steps} steps (self-difference "
                               f"{ref[Q.REL_DIFF_HALF_STEPS]:.2g} vs smallest discrete error {conv.value.min():.2g})",
                               1.0, est, band=tuple(r.band), theory="1 (first order in h)",
                               arithmetic="the discrete co-state is explicit Euler's adjoint, first order in h for smooth "
                                          "F and θ(t) by the standard convergence theorem"))
    out.append(C.info("costate.reference.rel_diff_half_steps",
                      f"continuous adjoint reference, RK4 with {p.convergence.reference_steps} vs half as many steps "
                      f"(relative); x integrated back to t = 0 lands within {ref[Q.X0_ROUNDTRIP]:.2g} of x_0",
                      ref[Q.REL_DIFF_HALF_STEPS], theory="≪ the smallest discrete error",
                      why="a diagnostic of the reference solution, which must be far more accurate than the "
                          "errors the convergence slope is fitted to"))
    return out
