"""architectures, judge: claim rows from results.csv and config.yaml only."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from hjexp import claims as C
from hjexp.claims.roundoff import roundoff_tol

from .contract import Arch, Part, Q, Variant, What
from .driver import ARCHS

CHAIN_RULE = ("the chain rule: reverse-mode differentiation of s_{j+1} = s_j + ΔF_j is the recursion "
              "p_j = p_{j+1} + Δ ∂ℋ_j/∂s with ℋ_j = p_{j+1}·F_j, and ∂L/∂θ = Σ_j Δ ∂ℋ_j/∂θ")
EULER = "the discrete co-state is explicit Euler's adjoint: first order in Δ for smooth F, θ(t), x(t) (standard theorem)"
ZOH = ("ZOH is exact for ṡ = As + Bx with x held over the step, so p_k = e^{A(T−t_k)} p_K exactly and the co-state "
       "error is e^{A(T−t_k)}(s_K − s(T))/B: the held input's O(Δ) (left point) or O(Δ²) (midpoint) forward error")


def _spec_rows():
    out = []
    for a in ARCHS:
        out += [
            C.Spec(f"architectures.{a}.costate.max_rel_err", "exact", "0 (BPTT = discrete co-state)",
                   "hand-written p_j = p_{j+1} + Δ ∂ℋ_j/∂s (explicit formulas for ∂ℋ/∂s) vs whole-network autograd, every step and depth",
                   "pass iff the worst relative difference ≤ judge.roundoff (1e-12 at float64, scaled by machine ε)",
                   "pass at every profile"),
            C.Spec(f"architectures.{a}.param_grad.max_rel_err", "exact", "0 (∂L/∂θ = Σ Δ ∂ℋ/∂θ)",
                   "Σ_j Δ ∂ℋ_j/∂θ from the hand co-state vs autograd's ∂L/∂θ, every parameter",
                   "pass iff the worst relative difference ≤ judge.roundoff (scaled by machine ε)", "pass at every profile"),
            C.Spec(f"architectures.{a}.convergence.order", "attained_rate", "1 (first order in Δ)",
                   "slope of per-net sup_k |p_k − p(t_k)| / sup|p| against Δ = T/K, p(t) the RK4 adjoint",
                   "t-interval over nets inside band·1; fail iff disjoint", "pass at every profile")]
    return out


CLAIMS = (
    *_spec_rows(),
    C.Spec("architectures.ssm_zoh.midpoint.order", "attained_rate", "2 (ZOH with midpoint-sampled input)",
           "as convergence.order, with x_k = x(t_k + Δ/2)", "t-interval over nets inside band·2", "pass at every profile"),
    C.Spec("architectures.ssm_zoh.constant_input.max_rel_err", "exact", "0 (ZOH exact for the linear part)",
           "ZOH co-state vs the RK4 adjoint at constant input, every depth",
           "pass iff ≤ max(judge.roundoff, the reference's M vs M/2 self-difference)", "pass at every profile"),
    C.Spec("architectures.control.ssm_euler.constant_input.max_rel_err", "exact", "must fail (Euler is not exact)",
           "negative control: the same test for the Euler SSM", "as ssm_zoh.constant_input", "fail at every profile"),
    C.Spec("architectures.control.rnn.drop_term.order", "attained_rate", "must fail (no convergence)",
           "negative control: RNN co-state with the Δ ∂ℋ/∂s term dropped (p_k = p_K) vs the adjoint",
           "as convergence.order", "fail at every profile"),
    C.Spec("architectures.reference.max_rel_diff_half_steps", "info", "≪ the smallest discrete error",
           "RK4 adjoint with M vs M/2 steps, worst over architectures", "reported, not judged", "info"),
    C.Spec("architectures.pontryagin.rnn.rel_grad_norm", "bound", "0 at an optimum (Pontryagin)",
           "‖Σ_k Δ ∂ℋ_k/∂θ‖ (hand co-state) after L-BFGS / its value at the start, worst net",
           "pass iff ≤ judge.pontryagin_tol (tool's threshold 1e-6; at least 1e4·machine ε)", "pass at every profile"),
    C.Spec("architectures.pontryagin.rnn.rel_largest_term", "info", "≠ 0 (only the sum vanishes)",
           "largest single-step ‖Δ ∂ℋ_k/∂θ‖ at the optimum, same scale", "reported, not judged", "info"),
    C.Spec("architectures.viscosity.rnn.max_z", "bound", "E Φ(h_K) → viscous HJ value with ε",
           "RNN with state noise √(2εΔ)ξ: |Monte Carlo − Crank–Nicolson| / combined standard error, worst (ε, h_0)",
           "pass iff ≤ the Bonferroni z at family level judge.family_alpha (tool's threshold)", "pass at every profile"),
    C.Spec("architectures.control.viscosity.inviscid.max_z", "bound", "must fail (ε matters)",
           "negative control: the same Monte Carlo against the inviscid (ε = 0) value",
           "as viscosity.rnn.max_z", "fail at every profile"),
    C.Spec("architectures.viscosity.not_checked", "info", "—",
           "the architecture-dependent ε the paper names but gives no formula for (dropout, LSTM/SSM/transformer)",
           "reported, not judged", "info"),
)


def _order(conv, arch, variant):
    c = conv[(conv.arch == arch) & (conv.variant == variant)]
    wide = c.pivot_table(index="net", columns="h", values="value")
    return C.seed_slope(wide.columns.to_numpy(), wide.to_numpy()), sorted(int(k) for k in c.K.unique())


def judge(run: C.RunData) -> list[C.Claim]:
    df, p, r = run.table(), run.params, run.rules
    tol, note = roundoff_tol(df, float(r.roundoff))
    ident, conv = df[df.part == Part.IDENTITY], df[df.part == Part.CONVERGENCE]
    ref = df[df.part == Part.REFERENCE]
    out = []
    for a in [a for a in ARCHS if a in set(ident.arch)]:
        mine = ident[ident.arch == a]
        for key, sel, theory in (("costate", mine.what == What.P_K, "0 (BPTT = discrete co-state)"),
                                 ("param_grad", mine.what != What.P_K, "0 (∂L/∂θ = Σ Δ ∂ℋ/∂θ)")):
            w = mine[sel].loc[mine[sel].value.idxmax()]
            out.append(C.exact(f"architectures.{a}.{key}.max_rel_err",
                               f"{a}: hand recursion vs autograd, depths {sorted(int(k) for k in mine.K.unique())}, "
                               f"{p.identity.n_nets} nets; worst {w.what} at K = {int(w.K)}{note}",
                               mine[sel].value.max(), tol=tol, what="max relative difference", theory=theory,
                               arithmetic=CHAIN_RULE))
        est, Ks = _order(conv, a, Variant.SMOOTH)
        out.append(C.attained_rate(f"architectures.{a}.convergence.order",
                                   f"{a}: slope of sup_k |p_k − p(t_k)|/sup|p| vs Δ, K ∈ {Ks}, RK4 reference "
                                   f"(self-difference {ref[ref.arch == a].value.max():.2g})", 1.0, est,
                                   band=tuple(r.band), theory="1 (first order in Δ)",
                                   arithmetic=ZOH if a == Arch.SSM_ZOH else EULER))
    if Arch.SSM_ZOH in set(conv.arch):
        est, Ks = _order(conv, Arch.SSM_ZOH, Variant.MIDPOINT)
        out.append(C.attained_rate("architectures.ssm_zoh.midpoint.order",
                                   f"ssm_zoh, input sampled at step midpoints, K ∈ {Ks}", 2.0, est, band=tuple(r.band),
                                   theory="2 (ZOH with midpoint-sampled input)", arithmetic=ZOH))
    for a, cid, theory in ((Arch.SSM_ZOH, "architectures.ssm_zoh.constant_input.max_rel_err",
                            "0 (ZOH exact for the linear part)"),
                           (Arch.SSM_EULER, "architectures.control.ssm_euler.constant_input.max_rel_err",
                            "must fail (Euler is not exact)")):
        c = conv[(conv.arch == a) & (conv.variant == Variant.CONSTANT_INPUT)]
        if c.empty:
            continue
        self_diff = ref[(ref.arch == a) & (ref.variant == Variant.CONSTANT_INPUT)].value.max()
        out.append(C.exact(cid, f"{a} at constant input vs RK4 adjoint, K ∈ {sorted(int(k) for k in c.K.unique())}; "
                                f"tolerance = max(roundoff {tol:.2g}, reference self-difference {self_diff:.2g})",
                           c.value.max(), tol=max(tol, self_diff), what="max relative difference", theory=theory,
                           arithmetic=ZOH if a == Arch.SSM_ZOH else ""))
    if Variant.DROP_TERM in set(conv.variant):
        est, Ks = _order(conv, Arch.RNN, Variant.DROP_TERM)
        out.append(C.attained_rate("architectures.control.rnn.drop_term.order",
                                   f"negative control: rnn co-state without Δ ∂ℋ/∂s, K ∈ {Ks}", 1.0, est,
                                   band=tuple(r.band), theory="must fail (no convergence)"))
    if not ref.empty:
        w = ref.loc[ref.value.idxmax()]
        out.append(C.info("architectures.reference.max_rel_diff_half_steps",
                          f"RK4 adjoint, M vs M/2 steps, worst: {w.arch} ({w.variant}); smallest discrete error "
                          f"{conv[conv.variant == Variant.SMOOTH].value.min():.2g}", ref.value.max(),
                          theory="≪ the smallest discrete error", why="a diagnostic of the reference solution"))
    out += _pontryagin(df, p, r) + _viscosity(df, p, r)
    return out


def _pontryagin(df, p, r):
    pt = df[df.part == Part.PONTRYAGIN].pivot_table(index="net", columns="quantity", values="value")
    if pt.empty:
        return []
    eps = float(df[(df.part == Part.DTYPE)].value.iloc[0]) if (df.part == Part.DTYPE).any() else 2.2e-16
    tol = max(float(r.pontryagin_tol), 1e4 * eps)
    q = p.pontryagin
    return [C.bound("architectures.pontryagin.rnn.rel_grad_norm",
                    f"Elman RNN (state {q.D}, K = {q.K}) fitted by L-BFGS to a teacher + noise {q.noise}, {len(pt)} nets; "
                    f"loss {pt[Q.LOSS_INIT].mean():.3g} → {pt[Q.LOSS_FINAL].mean():.3g}; "
                    f"‖Σ_k Δ ∂ℋ_k/∂θ‖ relative to the start (tool's threshold {tol:.2g})",
                    pt[Q.REL_SUM_DH_DTHETA].max(), tol,
                    theory="0 at an optimum (Pontryagin)",
                    arithmetic="Σ_k Δ ∂ℋ_k/∂θ is ∂L/∂θ (the exact rows); what is measured is that L-BFGS reached "
                               "stationarity, which is Pontryagin's condition for a shared θ"),
            C.info("architectures.pontryagin.rnn.rel_largest_term",
                   "largest single-step ‖Δ ∂ℋ_k/∂θ‖ at the optimum, same scale, worst net: the terms do not vanish, "
                   "only their sum", pt[Q.REL_LARGEST_TERM].min(), theory="≠ 0 (only the sum vanishes)",
                   why="shows the condition is a balance over the steps, not a trivial zero (the residuals are not 0)")]


def _viscosity(df, p, r):
    v = df[df.part == Part.VISCOSITY].pivot_table(index=["eps", "h0"], columns="quantity", values="value")
    if v.empty:
        return []
    n = len(v)
    z_max = float(stats.norm.ppf(1 - float(r.family_alpha) / (2 * n)))
    z = (v[Q.MC] - v[Q.PDE]).abs() / np.sqrt(v[Q.MC_SE] ** 2 + v[Q.PDE_SELF_DIFF] ** 2)
    z0 = (v[Q.MC] - v[Q.INVISCID]).abs() / v[Q.MC_SE]
    q = p.viscosity
    common = (f"{q.paths} paths, K = {q.K} and {2 * q.K} steps Richardson-extrapolated, ε ∈ {list(q.eps)}, "
              f"h_0 ∈ {list(q.h0)}; Bonferroni z over {n} tests at family level {r.family_alpha} = {z_max:.3g} "
              f"(tool's threshold)")
    worst = z.idxmax()
    return [C.bound("architectures.viscosity.rnn.max_z",
                    f"noisy 1-D Elman RNN, E Φ(h_K) vs Crank–Nicolson ({q.grid} nodes; self-difference ≤ "
                    f"{v[Q.PDE_SELF_DIFF].max():.2g}); worst at ε = {worst[0]}, h_0 = {worst[1]}; {common}",
                    z.max(), z_max, theory="E Φ(h_K) → viscous HJ value with ε"),
            C.bound("architectures.control.viscosity.inviscid.max_z",
                    f"negative control: the Monte Carlo against Φ of the noise-free trajectory (ε = 0); {common}",
                    z0.max(), z_max, theory="must fail (ε matters)"),
            C.info("architectures.viscosity.not_checked",
                   "not checkable: the paper names an ε per architecture (noise, dropout, temperature) but gives no "
                   "formula for it; dropout is multiplicative noise (a state-dependent diffusion, not εΔ); the "
                   "transformer's temperature ε = √d_k is the attention experiment's; LSTM/SSM noise behaves as the RNN's",
                   math.nan, why="no stated quantity to compare with")]
