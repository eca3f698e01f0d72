"""eps-robustness, judge: claim rows from results.csv, certificates.csv and config.yaml only.

The regression parts are judged here; the attack rows in judge_attack.py.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from hjexp import claims as C
from hjexp.claims.stats import stable_tail

from .contract import BOUND_Q, REGRESSION, Part, Q
from .judge_attack import ATTACK_CLAIMS, attack_claims, tag  # noqa: F401  (tag: the ids' ε segment)

ARITHMETIC = ("each bound holds for every weight matrix and every π (a variance of vectors in a ball of radius M "
              "is ≤ M²; ‖diag π − ππᵀ‖₂ ≤ ½; Popoviciu), so a pass is no evidence about trained models")
UNIFORM = ("at fixed W, π → uniform as ε → ∞, so Cov_π(W) → Cov_uniform(W), a constant, and the local slope → −1 "
           "for every W; only a pass carried by the small-ε end would be evidence")
TRAINED_WHY = ("what the paper states is a bound at fixed weights, ‖∇²f‖ ≤ |c|‖W‖²_{2,∞}/ε; across separately "
               "trained models ‖W‖²_{2,∞} changes with ε, so the rate the statement predicts for these models is "
               "the slope of their own bound, a. upper_rate against a: the measured curvature must fall at least "
               "(1 − δ) as fast as the bound does (faster agrees with a bound; only a significantly slower fall "
               "contradicts it)")


CLAIMS = (
    C.Spec("robust.hessian_identity.max_rel_err", "exact", "0: ∇²_x(c·f) = c·Cov_π(W)/ε",
           "closed form c·Cov_π(W)/ε (readout included) vs torch.func's Hessian of c·ε·logsumexp((Wx+b)/ε), "
           "float64, on the random, trained and attack models",
           "pass iff max |H_closed − H_autograd| / (|c|·‖W‖²_{2,∞}/ε) ≤ judge.roundoff (1e-12)", "pass at every profile"),
    C.Spec("robust.{part}.bound_holds", "bound", "‖∇²f‖₂ ≤ |c|·‖W‖²_{2,∞}/ε (and two alternative bounds)",
           "max over ε, seeds and the three bounds of (max Hessian norm over the evaluation points)/bound",
           "pass iff the ratio ≤ 1 + judge.bound_slack (1e-5, float32 eigvalsh); a pass is arithmetic",
           "pass at every profile (arithmetic)"),
    C.Spec("robust.{part}.eps_slope", "upper_rate",
           "random (fixed W): −1 (O(1/ε)); trained parts: a = the slope of the same models' bound |c|‖W‖²_{2,∞}/ε",
           "log–log slope of the max Hessian norm vs ε. random part (one deterministic curve): least squares over "
           "the whole ε grid, judged by the range of local slopes between ε judge.slope_spacing (0.2) decades apart "
           "(a rising segment, local slope > 0, is reported as a counterexample; the large-ε −1 is arithmetic). "
           "Trained parts: per-seed least squares over the ε grid, t-interval over seeds, against a = mean per-seed "
           "slope of the same models' paper bound (the −1 reading is in the text)",
           "pass iff the interval (random: local-slope range) lies at or below (1 − judge.delta)·a; fail iff "
           "entirely above; else inconclusive",
           "random: inconclusive (local slopes from > 0 at small ε to −1); trained parts: pass (they fall at least "
           "as fast as their bound)"),
    C.Spec("robust.{part}.curvature_monotone", "bound", "curvature falls with ε (Spearman ρ = −1)",
           "Spearman ρ between ε and the max Hessian norm (trained parts: its geometric mean over seeds; per-seed ρ "
           "in the text) over the part's ε grid",
           "pass iff ρ ≤ −judge.monotone_rho (0.8, the tool's threshold, not the paper's); fail otherwise",
           "pass on every part"),
    C.Spec("robust.{part}.tightness_min", "info", "≤ 1", "min over ε of (max Hessian norm)/(paper bound)"),
    C.Spec("robust.{part}.fit_rmse", "info", "", "test RMSE of the fitted models (smallest over ε; all in the text)"),
) + ATTACK_CLAIMS


def _matrix(sel: pd.DataFrame, quantity: str) -> tuple[np.ndarray, np.ndarray]:
    """(ε [K], values [S, K]) of one quantity, seeds as rows."""
    m = sel[sel.quantity == quantity].pivot_table(index="seed", columns="eps", values="value")
    return m.columns.to_numpy(float), m.to_numpy(float)


def _spaced(eps: np.ndarray, decades: float) -> np.ndarray:
    """Indices of ε at least ``decades`` apart in log10, from the largest down (sorted ascending).

    On a fine grid successive local slopes of any smooth curve differ by little, so "stabilised"
    must be judged over a fixed distance in log ε, not per grid step.
    """
    order = np.argsort(eps)[::-1]
    keep = [order[0]]
    for i in order[1:]:
        if math.log10(eps[keep[-1]] / eps[i]) >= decades - 1e-9:
            keep.append(i)
    return np.array(keep[::-1])


def _rising(eps: np.ndarray, values: np.ndarray) -> str:
    """The ε ranges where successive grid points rise (local slope > 0), with the largest local slope there."""
    local = C.local_slopes(eps, values)
    up, spans = local > 0, []
    for i in np.flatnonzero(up & ~np.r_[False, up[:-1]]):
        j = i
        while j + 1 < len(up) and up[j + 1]:
            j += 1
        spans.append(f"[{eps[i]:.3g}, {eps[j + 1]:.3g}] (local slopes up to {local[i:j + 1].max():+.3g})")
    return ", ".join(spans)


def _random_slope(eps: np.ndarray, hess: np.ndarray, r, bound_slope: float) -> C.Claim:
    """Fixed W: one least-squares slope over the whole grid; the verdict reads the range of its local slopes."""
    keep = _spaced(eps, float(r.slope_spacing))
    local = C.local_slopes(eps, hess)
    whole = float(np.polyfit(np.log(eps), np.log(hess), 1)[0])
    tail = C.deterministic_slope(eps[keep], hess[keep], tol=float(r.stable_tol), toward="large")
    spaced_local = C.local_slopes(eps[keep], hess[keep])
    spaced = ", ".join(f"{s:.3g}" for s in spaced_local)
    first = stable_tail(spaced_local, float(r.stable_tol))
    tail_text = (f"the stabilised large-ε fit is {tail.slope:.3g} over ε ≥ {eps[keep][first]:.3g}, which π → uniform "
                 "forces" if first >= 0 else "the large-ε local slopes have not stabilised")
    est = C.SlopeEstimate(whole, float(local.min()), float(local.max()),
                          f"deterministic; least squares over all {len(eps)} ε in [{eps.min():.3g}, {eps.max():.3g}], "
                          f"judged by the range of the local slopes between successive grid points "
                          f"({local.min():.3g}…{local.max():.3g}; between ε {float(r.slope_spacing):g} decades apart: "
                          f"{spaced})", deterministic=True)
    rising = _rising(eps, hess)
    counter = (f"counterexample to 'curvature falls with ε': it rises on ε ∈ {rising} (as ε → 0, π concentrates on "
               "one neuron and Cov_π(W) → 0 away from ties)" if rising else "no rising segment (every local slope ≤ 0)")
    return C.upper_rate("robust.random.eps_slope",
                        f"random (fixed W): slope of log max_x ‖∇²f‖₂ vs log ε over the whole grid {whole:.3g} (the "
                        f"bound ‖W‖²_{{2,∞}}/ε has slope {bound_slope:.3g}); {counter}; {tail_text}", -1.0, est,
                        delta=float(r.delta), arithmetic=UNIFORM)


def _trained_slope(part: str, eps: np.ndarray, hess: np.ndarray, bound: np.ndarray, r) -> C.Claim:
    est = C.seed_slope(eps, hess, level=float(r.level))
    b = C.seed_slope(eps, bound, level=float(r.level))
    ratio = hess / bound
    text = (f"{part}: slope of log max_x ‖∇²f‖₂ vs log ε over ε ∈ [{eps.min():g}, {eps.max():g}] against the slope "
            f"of the same models' bound |c|‖W‖²_{{2,∞}}/ε, a = {b.slope:.3g} [{b.low:.3g}, {b.high:.3g}] (trained W "
            f"changes with ε); measured/bound {ratio.min():.3g}…{ratio.max():.3g}; read against the fixed-W exponent "
            f"−1 instead, the same rule would say {C.upper_rate('x', '', -1.0, est, delta=float(r.delta)).verdict}; "
            f"kind: {TRAINED_WHY}")
    falls = math.isfinite(b.slope) and b.slope < 0
    return C.upper_rate(f"robust.{part}.eps_slope", text, float(b.slope), est, delta=float(r.delta),
                        theory=f"bound's slope {C.fmt(float(b.slope))}",
                        requires={f"the bound of these models falls with ε (slope {b.slope:.3g} < 0), so that it "
                                  "predicts a decay to compare with": falls})


def _monotone(part: str, eps: np.ndarray, hess: np.ndarray, r) -> C.Claim:
    centre = np.exp(np.log(hess).mean(0))
    rho = float(stats.spearmanr(eps, centre).statistic)
    per_seed = [float(stats.spearmanr(eps, h).statistic) for h in hess]
    seeds = f"; per seed {min(per_seed):.3g}…{max(per_seed):.3g}" if len(hess) > 1 else ""
    thr = float(r.monotone_rho)
    rising = _rising(eps, centre)
    return C.bound(f"robust.{part}.curvature_monotone",
                   f"{part}: Spearman ρ(ε, max Hessian norm{' (geometric mean over seeds)' if len(hess) > 1 else ''}) "
                   f"over {len(eps)} ε in [{eps.min():g}, {eps.max():g}]{seeds}; "
                   f"{'it rises on ε ∈ ' + rising if rising else 'it falls between every two successive ε'}; "
                   f"threshold {thr:g} is the tool's, not the paper's", rho, -thr, theory="ρ = −1 (curvature falls with ε)")


def regression_claims(df: pd.DataFrame, part: str, r) -> list[C.Claim]:
    sel = df[df.part == part]
    eps, hess = _matrix(sel, Q.HESS_MAX)
    bounds = {k: _matrix(sel, q)[1] for k, q in BOUND_Q.items()}  # by bound name: paper, half_spectral, range
    ratios = {k: hess / v for k, v in bounds.items()}
    worst = max(float(v.max()) for v in ratios.values())
    out = [C.bound(f"robust.{part}.bound_holds",
                   f"{part}: max over {len(eps)} ε × {hess.shape[0]} seed(s) and the bounds paper |c|‖W‖²_{{2,∞}}/ε, "
                   f"half-spectral |c|½‖W−1w̄ᵀ‖₂²/ε and range |c|diam(W)²/4ε of (max Hessian norm)/bound",
                   worst, 1.0, slack=float(r.bound_slack), arithmetic=ARITHMETIC)]
    if part == Part.RANDOM:
        bound_slope = float(np.polyfit(np.log(eps), np.log(bounds["paper"][0]), 1)[0])
        out.append(_random_slope(eps, hess[0], r, bound_slope))
    else:
        out.append(_trained_slope(part, eps, hess, bounds["paper"], r))
    out.append(_monotone(part, eps, hess, r))
    mean = {k: v.mean(0) for k, v in ratios.items()}
    text = "; ".join(f"{k}: {v.min():.3g}…{v.max():.3g}" for k, v in mean.items())
    out.append(C.info(f"robust.{part}.tightness_min",
                      f"{part}: (max Hessian norm)/bound over ε (mean over seeds), ranges — {text}",
                      float(mean["paper"].min()), why="no claim on tightness; it says how informative the bound is",
                      theory="≤ 1"))
    if (sel.quantity == Q.RMSE).any():
        e_r, rmse = _matrix(sel, Q.RMSE)
        listed = ", ".join(f"ε={a:g}: {b:.3g}" for a, b in zip(e_r, rmse.mean(0)))
        out.append(C.info(f"robust.{part}.fit_rmse", f"{part}: test RMSE (mean over seeds) — {listed}",
                          float(rmse.mean(0).min()), why="fit quality: context for the curvature figures"))
    return out


def judge(run: C.RunData) -> list[C.Claim]:
    df, p, r = run.table(), run.params, run.rules
    out = []
    ident = df[df.quantity == Q.IDENTITY_REL_ERR]
    if not ident.empty:
        parts = ", ".join(ident.part.unique())
        out.append(C.exact("robust.hessian_identity.max_rel_err",
                           f"c·Cov_π(W)/ε vs autograd Hessian (float64) on the models of: {parts}",
                           float(ident.value.max()), tol=float(r.roundoff), theory="0",
                           what="max |H_closed − H_autograd| / (|c|‖W‖²_{2,∞}/ε)"))
    for _, row in df[df.quantity == Q.SKIPPED].iterrows():  # a data set not available on this machine
        unit, why = str(row.part), f"{row.part} skipped: {row.note}"
        if unit.startswith("attack-"):
            out += C.skipped_each(CLAIMS, why, "robust.attack.", data=unit.removeprefix("attack-"))
        else:
            out += C.skipped_each(CLAIMS, why, "robust.{part}.", part=unit)
    for part in REGRESSION:
        if ((df.part == part) & (df.quantity == Q.HESS_MAX)).any():
            out += regression_claims(df, part, r)
    certs = run.table("certificates") if (run.dir / "certificates.csv").exists() else None
    attack = attack_claims(df, certs, p, r)
    if Part.ATTACK not in p.parts:
        attack = C.skipped_each(CLAIMS, "params.parts leaves out attack", "robust.attack.")
    elif not attack:
        attack = [C.skipped(i, "every attack data set was skipped")
                  for i in ("robust.attack.certificate_sound", "robust.attack.monotone_in_eps")]
    return out + attack
