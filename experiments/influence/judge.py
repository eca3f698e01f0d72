"""influence, judge: claim rows from results.csv, timings.csv and config.yaml only."""

from __future__ import annotations

import math

import numpy as np

from hjexp import claims as C
from hjexp.claims.roundoff import roundoff_tol

CLAIMS = (
    C.Spec("influence.matches_autograd.max_abs_err", "exact", "0 (π_j = ∂f/∂s_j)",
           "closed-form π_j(x) = softmax_j(z/ε) vs autograd of ε log Σ exp((z_j + s_j)/ε) w.r.t. per-atom logit "
           "shifts s_j at 0", "pass iff max abs difference ≤ judge.roundoff (1e-12 at float64, scaled by machine ε for other dtypes)", "pass at every profile (float64)"),
    C.Spec("influence.leave_one_out.max_abs_err", "exact", "0 (f − f_{−j} = −ε log(1 − π_j))",
           "closed-form π_j vs the leave-one-atom-out change of f, inverted: −expm1(−(f − f_{−j})/ε)",
           "pass iff max abs difference ≤ judge.roundoff (1e-12 at float64, scaled by machine ε for other dtypes)", "pass at every profile (float64)"),
    C.Spec("influence.cost_exponent", "bound", "≤ 1 (O(N) per query)",
           "least-squares exponent of the closed form's time per query against N over the largest "
           "judge.cost_fit_octaves doublings of N measured (minimum over repeats of each timing)",
           "pass iff exponent ≤ 1 + judge.cost_slack (0.35: room for cache steps and timing noise); fail iff > "
           "judge.cost_fail (1.5, nearer the brute force's 2 than linear); else inconclusive",
           "pass at every profile (the smoke range is overhead-dominated: exponent well below 1)"),
    C.Spec("influence.brute_force.cost_exponent", "info", "2 (O(N²) per query)",
           "least-squares exponent of the leave-one-atom-out brute force's time per query over its largest "
           "judge.brute_fit_octaves doublings of N", "reported, not judged: the brute force is a reference, not a claim",
           "info"),
)


def fitted_exponent(timings, method: str, octaves: int) -> tuple[float, int, int]:
    """Least-squares slope of log(seconds per query) on log N over N ≥ N_max/2^octaves."""
    t = timings[timings.method == method].sort_values("N")
    top = t.N.max()
    t = t[t.N >= top / 2**octaves]
    if len(t) < 2:
        return math.nan, int(top), int(top)
    slope = np.polyfit(np.log(t.N.to_numpy(float)), np.log(t.seconds_per_query.to_numpy()), 1)[0]
    return float(slope), int(t.N.min()), int(top)


def judge(run: C.RunData) -> list[C.Claim]:
    df, timings, p, r = run.table(), run.table("timings"), run.params, run.rules
    (tol, note), q = roundoff_tol(df, float(r.roundoff)), p.exactness
    ident = df[(df.part == "identity") & (df.quantity == "max_abs_err")]
    setup = (f"{q.n_layers} random layers, N = {q.n_atoms} atoms, d = {p.d}, {q.n_queries} queries, "
             f"ε ∈ {list(q.eps)}{note}")
    out = [C.exact("influence.matches_autograd.max_abs_err",
                   f"closed-form π_j(x) vs autograd ∂/∂s_j of ε log Σ exp((z_j + s_j)/ε) at s = 0; {setup}",
                   ident[ident.method == "autograd"].value.max(), tol=tol, theory="0 (π_j = ∂f/∂s_j)"),
           C.exact("influence.leave_one_out.max_abs_err",
                   f"closed-form π_j(x) vs −expm1(−(f − f_{{−j}})/ε), f_{{−j}} recomputed without atom j; {setup}",
                   ident[ident.method == "leave_one_out"].value.max(), tol=tol,
                   theory="0 (f − f_{−j} = −ε log(1 − π_j))")]
    slope, lo, hi = fitted_exponent(timings, "closed_form", int(r.cost_fit_octaves))
    auto, _, _ = fitted_exponent(timings, "autograd", int(r.cost_fit_octaves))
    slack, fail_at = float(r.cost_slack), float(r.cost_fail)
    if not math.isfinite(slope):
        verdict = "inconclusive"
    else:
        verdict = "pass" if slope <= 1 + slack else "fail" if slope > fail_at else "inconclusive"
    t = timings.set_index(["method", "N"]).seconds_per_query
    clock = "process CPU-time" if timings.clock.iloc[0] == "process_cpu" else "wall"
    out.append(C.custom("influence.cost_exponent", "bound",
                        f"exponent of the closed form's seconds per query vs N over N ∈ [{lo}, {hi}] "
                        f"({t['closed_form', hi] * 1e3:.3g} ms per query at N = {hi}, {p.timing.n_queries} queries per "
                        f"call, d = {p.d}); autograd's exponent over the same range: {auto:.3g}. Timings on a shared "
                        "machine: the rule leaves room for noise and cache effects",
                        "≤ 1 (O(N) per query)", slope, verdict=verdict,
                        criterion=f"pass iff exponent ≤ 1 + {slack:g} (room for memory-hierarchy steps and timing "
                                  f"noise: a c× step over k doublings adds log2(c)/k); fail iff > {fail_at:g} (nearer the "
                                  f"brute force's 2 than linear); else inconclusive. Exponent: least squares over the "
                                  f"largest {int(r.cost_fit_octaves)} doublings of N, each timing the minimum over "
                                  f"{p.timing.reps} repeats of the {clock} clock"))
    brute, blo, bhi = fitted_exponent(timings, "leave_one_out", int(r.brute_fit_octaves))
    ratio = t["leave_one_out", bhi] / t["closed_form", bhi]
    out.append(C.info("influence.brute_force.cost_exponent",
                      f"exponent of the leave-one-atom-out brute force's seconds per query over N ∈ [{blo}, {bhi}]; at "
                      f"N = {bhi} it is {ratio:.3g}× slower than the closed form", brute, theory="2 (O(N²) per query)",
                      why="the brute force is the reference the closed form is compared with, not a claim of the paper"))
    return out
