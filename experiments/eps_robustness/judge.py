"""eps-robustness, judge: claim rows from results.csv, certificates.csv and config.yaml only."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from hjexp import claims as C

REGRESSION = ("random", "trained1d", "mnist", "fashion", "cifar10")
ARITHMETIC = ("each bound holds for every weight matrix and every π (a variance of vectors in a ball of radius M "
              "is ≤ M²; ‖diag π − ππᵀ‖₂ ≤ ½; Popoviciu), so a pass is no evidence about trained models")
SLOPE_WHY = ("upper_rate, because what the paper states is the bound |c|‖W‖²_{2,∞}/ε: curvature falls at least like "
             "1/ε as ε grows. A faster fall (trained weights that shrink or align as ε grows) agrees with it; only a "
             "significantly slower one contradicts it. At fixed W the exponent −1 is reached as ε → ∞ (π → uniform)")


CLAIMS = (
    C.Spec("robust.hessian_identity.max_rel_err", "exact", "0: ∇²_x(c·f) = c·Cov_π(W)/ε",
           "closed form c·Cov_π(W)/ε (readout included) vs torch.func's Hessian of c·ε·logsumexp((Wx+b)/ε), "
           "float64, on the random, trained and attack models",
           "pass iff max |H_closed − H_autograd| / (|c|·‖W‖²_{2,∞}/ε) ≤ judge.roundoff (1e-12)", "pass at every profile"),
    C.Spec("robust.{part}.bound_holds", "bound", "‖∇²f‖₂ ≤ |c|·‖W‖²_{2,∞}/ε (and two alternative bounds)",
           "max over ε, seeds and the three bounds of (max Hessian norm over the evaluation points)/bound",
           "pass iff the ratio ≤ 1 + judge.bound_slack (1e-5, float32 eigvalsh); a pass is arithmetic",
           "pass at every profile (arithmetic)"),
    C.Spec("robust.{part}.eps_slope", "upper_rate", "−1 (‖∇²f‖ = O(1/ε) as ε grows)",
           "log–log slope of the max Hessian norm vs ε; random part (one deterministic curve): local slopes between "
           "ε about judge.slope_spacing (0.2) decades apart, fitted where they have stabilised toward large ε; "
           "trained parts: per-seed least squares over the ε grid, t-interval over seeds",
           "", "random: pass; trained parts: whatever the data say (MNIST falls faster than 1/ε)"),
    C.Spec("robust.{part}.tightness_min", "info", "≤ 1", "min over ε of (max Hessian norm)/(paper bound)"),
    C.Spec("robust.{part}.fit_rmse", "info", "", "test RMSE of the fitted models (smallest over ε; all in the text)"),
    C.Spec("robust.{part}.skipped", "info", "", "a part (or attack data set) skipped because its data set is missing"),
    C.Spec("robust.attack.clean_acc.{data}.eps{e}", "info", "",
           "clean test accuracy of the LSE_ε classifier; {e} is ε with p for the decimal point (eps0p3 = ε 0.3)"),
    C.Spec("robust.attack.robust_acc.{norm}.{data}.eps{e}", "info", "",
           "accuracy under PGD at the standard radius; an image counts as broken if the cross-entropy or the "
           "margin attack breaks it (per-loss values in the text)"),
    C.Spec("robust.attack.certified_median.{data}.eps{e}", "info", "",
           "median certified ℓ2 radius over test images (0 for misclassified ones)"),
    C.Spec("robust.attack.certificate_sound", "bound", "certified radius ≤ distance to any adversarial example",
           "max over models and images of (certified ℓ2 radius)/(ℓ2 distance of the nearest adversarial example found)",
           "pass iff the ratio ≤ 1 + judge.cert_slack (1e-3: found examples are checked in float32)",
           "pass at every profile"),
    C.Spec("robust.attack.monotone_in_eps", "info", "robust accuracy grows with ε (the paper's assertion)",
           "median over (data set, norm, radius) of the Spearman correlation of ε with PGD robust accuracy"),
)


def tag(eps: float) -> str:
    """ε as a claim-id segment (ids cannot hold dots): 0.3 -> 0p3."""
    return f"{eps:g}".replace(".", "p").replace("-", "m")


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


def regression_claims(df: pd.DataFrame, part: str, r) -> list[C.Claim]:
    sel = df[df.part == part]
    eps, hess = _matrix(sel, "hess_max")
    ratios = {k: hess / _matrix(sel, f"bound_{k}")[1] for k in ("paper", "half_spectral", "range")}
    worst = max(float(v.max()) for v in ratios.values())
    out = [C.bound(f"robust.{part}.bound_holds",
                   f"{part}: max over {len(eps)} ε × {hess.shape[0]} seed(s) and the bounds paper |c|‖W‖²_{{2,∞}}/ε, "
                   f"half-spectral |c|½‖W−1w̄ᵀ‖₂²/ε and range |c|diam(W)²/4ε of (max Hessian norm)/bound",
                   worst, 1.0, slack=float(r.bound_slack), arithmetic=ARITHMETIC)]
    if part == "random":
        keep = _spaced(eps, float(r.slope_spacing))
        est = C.deterministic_slope(eps[keep], hess[0][keep], tol=float(r.stable_tol), toward="large")
    else:
        est = C.seed_slope(eps, hess, level=float(r.level))
    bound_slope = C.seed_slope(eps, _matrix(sel, "bound_paper")[1], level=float(r.level)).slope
    out.append(C.upper_rate(f"robust.{part}.eps_slope",
                            f"{part}: slope of log max_x ‖∇²f‖₂ vs log ε over ε ∈ [{eps.min():g}, {eps.max():g}] "
                            f"(the paper bound |c|‖W‖²_{{2,∞}}/ε of the same models has slope {bound_slope:.3g}: "
                            f"{'fixed W' if part == 'random' else 'trained W changes with ε'}); kind: {SLOPE_WHY}",
                            -1.0, est, delta=float(r.delta)))
    mean = {k: v.mean(0) for k, v in ratios.items()}
    text = "; ".join(f"{k}: {v.min():.3g}…{v.max():.3g}" for k, v in mean.items())
    out.append(C.info(f"robust.{part}.tightness_min",
                      f"{part}: (max Hessian norm)/bound over ε (mean over seeds), ranges — {text}",
                      float(mean["paper"].min()), why="no claim on tightness; it says how informative the bound is",
                      theory="≤ 1"))
    if (sel.quantity == "rmse").any():
        e_r, rmse = _matrix(sel, "rmse")
        listed = ", ".join(f"ε={a:g}: {b:.3g}" for a, b in zip(e_r, rmse.mean(0)))
        out.append(C.info(f"robust.{part}.fit_rmse", f"{part}: test RMSE (mean over seeds) — {listed}",
                          float(rmse.mean(0).min()), why="fit quality: context for the curvature figures"))
    return out


def _standard(p, data: str, norm: str) -> float:
    return float(p.attack.standard[data][norm])


def attack_claims(df: pd.DataFrame, certs: pd.DataFrame | None, p, r) -> list[C.Claim]:
    att = df[df.part == "attack"]
    out, spearman, sequences = [], [], []
    if att.empty:
        return out
    for data in att.data.dropna().unique():
        d = att[att.data == data]
        acc = d[d.quantity == "robust_acc"]
        for e in sorted(d.eps.dropna().unique()):
            de = d[d.eps == e]
            clean = float(de[de.quantity == "clean_acc"].value.iloc[0])
            out.append(C.info(f"robust.attack.clean_acc.{data}.eps{tag(e)}", f"{data}, ε={e:g}: clean test accuracy "
                              f"(train CE {float(de[de.quantity == 'train_ce'].value.iloc[0]):.3g})", clean,
                              why="no accuracy is claimed; context for the robust accuracies"))
            for norm in ("linf", "l2"):
                radius = _standard(p, data, norm)
                at = acc[(acc.eps == e) & (acc.norm == norm) & np.isclose(acc.radius, radius)]
                by = dict(zip(at.loss, at.value))
                extra = f", certified {by['certified']:.3g}" if "certified" in by else ""
                out.append(C.info(f"robust.attack.robust_acc.{norm}.{data}.eps{tag(e)}",
                                  f"{data}, ε={e:g}: accuracy under {norm} PGD at radius {radius:g} "
                                  f"(CE {by.get('ce', math.nan):.3g}, margin {by.get('margin', math.nan):.3g}{extra})",
                                  by.get("both", math.nan), why="the paper asserts robustness but measures none"))
            out.append(C.info(f"robust.attack.certified_median.{data}.eps{tag(e)}",
                              f"{data}, ε={e:g}: median certified ℓ2 radius (margin, gradient, LSE curvature bound)",
                              float(de[de.quantity == "certified_median"].value.iloc[0]),
                              why="a guarantee, not a claim of the paper"))
        for norm in ("linf", "l2"):
            at = acc[(acc.norm == norm) & (acc.loss == "both") & np.isclose(acc.radius, _standard(p, data, norm))]
            sequences.append(f"{data} {norm}@{_standard(p, data, norm):g}: " +
                             ", ".join(f"{v:.3g}" for v in at.sort_values("eps").value))
            for _, cell in acc[(acc.norm == norm) & (acc.loss == "both")].groupby("radius"):
                if cell.value.nunique() > 1:
                    spearman.append(stats.spearmanr(cell.eps, cell.value).statistic)
    rho = np.array(spearman)
    text = (f"ρ over {len(rho)} (data, norm, radius) cells whose accuracy varies with ε: min {rho.min():.2f}, "
            f"median {np.median(rho):.2f}, max {rho.max():.2f}" if len(rho) else "accuracy is the same for every ε "
            "at every radius")
    out.append(C.info("robust.attack.monotone_in_eps",
                      f"Spearman ρ(ε, robust accuracy under PGD), median over the radius sweeps; {text}; robust "
                      f"accuracies in increasing ε at the standard radii — {'; '.join(sequences)}",
                      float(np.median(rho)) if len(rho) else math.nan,
                      why="the paper asserts, without measuring, that larger ε is more robust (ρ = 1: always)"))
    out.append(_soundness(certs, r))
    return out


def _soundness(certs: pd.DataFrame | None, r) -> C.Claim:
    desc = "max over models and test images of certified ℓ2 radius / ℓ2 distance of the nearest adversarial example found"
    pairs = pd.DataFrame() if certs is None else certs[(certs.certified_l2 > 0) & np.isfinite(certs.nearest_adv_l2)]
    if pairs.empty:
        return C.custom("robust.attack.certificate_sound", "bound", desc, "≤ 1", math.nan, verdict="inconclusive",
                        criterion="no certified image had an adversarial example found, so nothing can be compared "
                                  f"(pass iff the ratio ≤ 1 + {C.fmt(float(r.cert_slack))})")
    ratio = pairs.certified_l2 / pairs.nearest_adv_l2
    return C.bound("robust.attack.certificate_sound",
                   f"{desc}: {len(pairs)} pairs, median ratio {ratio.median():.3g} (how tight the two are)",
                   float(ratio.max()), 1.0, slack=float(r.cert_slack), theory="≤ 1")


def judge(run: C.RunData) -> list[C.Claim]:
    df, p, r = run.table(), run.params, run.rules
    out = []
    ident = df[df.quantity == "identity_rel_err"]
    if not ident.empty:
        parts = ", ".join(ident.part.unique())
        out.append(C.exact("robust.hessian_identity.max_rel_err",
                           f"c·Cov_π(W)/ε vs autograd Hessian (float64) on the models of: {parts}",
                           float(ident.value.max()), tol=float(r.roundoff), theory="0",
                           what="max |H_closed − H_autograd| / (|c|‖W‖²_{2,∞}/ε)"))
    for _, row in df[df.quantity == "skipped"].iterrows():
        out.append(C.info(f"robust.{row.part}.skipped", f"{row.part} skipped: {row.note}", math.nan,
                          why="its data set is not available on this machine"))
    for part in REGRESSION:
        if ((df.part == part) & (df.quantity == "hess_max")).any():
            out += regression_claims(df, part, r)
    certs = run.table("certificates") if (run.dir / "certificates.csv").exists() else None
    out += attack_claims(df, certs, p, r)
    return out
