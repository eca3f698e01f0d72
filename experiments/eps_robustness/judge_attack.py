"""eps-robustness, judge of the attack part: robust accuracy vs ε, the effect of ε, the peer attack's
check of hjexp's PGD, and the certificates' soundness (results.csv, certificates.csv, config.yaml only)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from hjexp import claims as C

from .contract import Loss, Norm, Part, Q

NORMS = (Norm.LINF, Norm.L2)
INSTALL = "adv-lib not installed; pip install 'hjexp[attacks]'"

ATTACK_CLAIMS = (
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
           "median over (data set, norm, radius) of the Spearman correlation of ε with PGD robust accuracy "
           "(the judged test of the assertion is robust.attack.eps_effect.{data})"),
    C.Spec("robust.attack.eps_effect.{data}", "at_least",
           "robustness is controlled by ε: robust accuracy rises with ε",
           "per threat model (ℓ∞ and ℓ2 at the standard radii), PGD robust accuracy at the largest ε minus at the "
           "smallest, with a judge.level normal interval (binomial standard errors of the two accuracies); measured: "
           "the smaller rise of the two",
           "pass iff in both threat models the interval's lower end ≥ judge.effect_min (0.05: five points, the "
           "tool's threshold, not the paper's); fail iff in either its upper end < judge.effect_min (it stays "
           "flat or at 0); else inconclusive",
           "fail on MNIST (ℓ∞ robust accuracy at 0.3 is 0 at every ε; ℓ2 at 2.0 does not rise)"),
    C.Spec("robust.attack.peer_gap.{data}", "bound", "hjexp's PGD is as strong as an independent attack",
           "on the first params.attack.peer.n_images test images: max over ε and threat model of hjexp's PGD robust "
           "accuracy minus that under APGD-CE + APGD-DLR of adv-lib (Croce & Hein 2020, as RobustBench checks)",
           "pass iff the gap ≤ judge.peer_gap (0.01: one point); above it hjexp's attack is too weak and its robust "
           "accuracies are not to be trusted; inconclusive when adv-lib is not installed",
           "pass where adv-lib is installed"),
)


def tag(eps: float) -> str:
    """ε as a claim-id segment (ids cannot hold dots): 0.3 -> 0p3."""
    return f"{eps:g}".replace(".", "p").replace("-", "m")


def _standard(p, data: str, norm: str) -> float:
    return float(p.attack.standard[data][norm])


def _at_standard(acc: pd.DataFrame, p, data: str, norm: str, loss: str = Loss.BOTH) -> pd.Series:
    """Robust accuracy by ε at the standard radius of one threat model."""
    at = acc[(acc.norm == norm) & (acc.loss == loss) & np.isclose(acc.radius, _standard(p, data, norm))]
    return at.set_index("eps").value.sort_index()


def eps_effect(data: str, acc: pd.DataFrame, n: int, p, r) -> C.Claim:
    """Robust accuracy at the largest ε minus at the smallest, per threat model, with binomial errors."""
    thr, z = float(r.effect_min), float(stats.norm.ppf(1 - (1 - float(r.level)) / 2))
    rises, texts = {}, []
    for norm in NORMS:
        seq = _at_standard(acc, p, data, norm)
        lo_e, hi_e = seq.iloc[0], seq.iloc[-1]
        rise = float(hi_e - lo_e)
        se = math.sqrt((lo_e * (1 - lo_e) + hi_e * (1 - hi_e)) / n)
        rises[f"{norm} at {_standard(p, data, norm):g}"] = (rise, rise - z * se, rise + z * se)
        texts.append(f"{norm} at {_standard(p, data, norm):g}: ε {seq.index[0]:g} → {seq.index[-1]:g} gives "
                     f"{lo_e:.3g} → {hi_e:.3g}, rise {rise:+.3g} [{rise - z * se:+.3g}, {rise + z * se:+.3g}] (all ε: "
                     + ", ".join(f"{v:.3g}" for v in seq) + ")")
    return C.at_least(f"robust.attack.eps_effect.{data}",
                      f"{data}: PGD robust accuracy (CE or margin breaks an image) on {n} test images at the standard "
                      f"radii across the ε grid — {'; '.join(texts)}", rises, thr, theory=f"rise ≥ {C.fmt(thr)}",
                      interval=f"{float(r.level):.0%} normal interval (binomial errors, n = {n})",
                      note=f"{C.fmt(thr)} (judge.effect_min) is the tool's threshold, not the paper's")


def peer_gap(data: str, d: pd.DataFrame, r) -> C.Claim:
    cid, limit = f"robust.attack.peer_gap.{data}", float(r.peer_gap)
    missing = d[d.quantity == Q.PEER_MISSING]
    if not missing.empty or not (d.quantity == Q.PEER_ROBUST_ACC).any():
        why = missing.note.iloc[0] if not missing.empty else "the peer attack was not run (params.attack.peer.n_images = 0)"
        return C.bound(cid, f"{data}: hjexp PGD vs APGD-CE + APGD-DLR (adv-lib): {why}", math.nan, limit,
                       theory=f"≤ {C.fmt(limit)}", requires={f"the peer attack ran (here: {why})": False})
    peer = d[(d.quantity == Q.PEER_ROBUST_ACC)].set_index(["eps", "norm", "loss"]).value
    ours = d[d.quantity == Q.SUBSET_ROBUST_ACC].set_index(["eps", "norm"]).value
    both = d[d.quantity == Q.ENSEMBLE_ROBUST_ACC].set_index(["eps", "norm"]).value
    n = int(d[d.quantity == Q.PEER_N_IMAGES].value.iloc[0])
    gaps = {k: float(ours[k] - peer[(*k, Loss.BOTH)]) for k in ours.index}
    cells = "; ".join(f"ε={e:g} {nm}: hjexp {ours[(e, nm)]:.3g}, APGD-CE {peer[(e, nm, Loss.APGD_CE)]:.3g}, APGD-DLR "
                      f"{peer[(e, nm, Loss.APGD_DLR)]:.3g}, both {peer[(e, nm, Loss.BOTH)]:.3g}, union of all "
                      f"{both[(e, nm)]:.3g}" for e, nm in sorted(gaps))
    return C.bound(cid, f"{data}: robust accuracy at the standard radii on the first {n} test images, max over ε and "
                        f"threat model of hjexp PGD − APGD (CE and DLR, adv-lib) — {cells}",
                   max(gaps.values()), limit, theory=f"≤ {C.fmt(limit)}")


def _soundness(certs: pd.DataFrame | None, r) -> C.Claim:
    desc = "max over models and test images of certified ℓ2 radius / ℓ2 distance of the nearest adversarial example found"
    pairs = pd.DataFrame() if certs is None else certs[(certs.certified_l2 > 0) & np.isfinite(certs.nearest_adv_l2)]
    if pairs.empty:
        return C.bound("robust.attack.certificate_sound", desc, math.nan, 1.0, slack=float(r.cert_slack), theory="≤ 1",
                       requires={"a certified image with an adversarial example found, to compare with (none)": False})
    ratio = pairs.certified_l2 / pairs.nearest_adv_l2
    return C.bound("robust.attack.certificate_sound",
                   f"{desc}: {len(pairs)} pairs, median ratio {ratio.median():.3g} (how tight the two are)",
                   float(ratio.max()), 1.0, slack=float(r.cert_slack), theory="≤ 1")


def _per_eps(data: str, d: pd.DataFrame, acc: pd.DataFrame, p) -> list[C.Claim]:
    out = []
    for e in sorted(d.eps.dropna().unique()):
        de = d[d.eps == e]
        clean = float(de[de.quantity == Q.CLEAN_ACC].value.iloc[0])
        out.append(C.info(f"robust.attack.clean_acc.{data}.eps{tag(e)}", f"{data}, ε={e:g}: clean test accuracy "
                          f"(train CE {float(de[de.quantity == Q.TRAIN_CE].value.iloc[0]):.3g})", clean,
                          why="no accuracy is claimed; context for the robust accuracies"))
        for norm in NORMS:
            radius = _standard(p, data, norm)
            at = acc[(acc.eps == e) & (acc.norm == norm) & np.isclose(acc.radius, radius)]
            by = dict(zip(at.loss, at.value))
            extra = f", certified {by[Loss.CERTIFIED]:.3g}" if Loss.CERTIFIED in by else ""
            out.append(C.info(f"robust.attack.robust_acc.{norm}.{data}.eps{tag(e)}",
                              f"{data}, ε={e:g}: accuracy under {norm} PGD at radius {radius:g} "
                              f"(CE {by.get(Loss.CE, math.nan):.3g}, "
                              f"margin {by.get(Loss.MARGIN, math.nan):.3g}{extra})",
                              by.get(Loss.BOTH, math.nan), why="the paper asserts robustness but measures none; judged "
                              f"across ε in robust.attack.eps_effect.{data}"))
        out.append(C.info(f"robust.attack.certified_median.{data}.eps{tag(e)}",
                          f"{data}, ε={e:g}: median certified ℓ2 radius (margin, gradient, LSE curvature bound)",
                          float(de[de.quantity == Q.CERTIFIED_MEDIAN].value.iloc[0]),
                          why="a guarantee, not a claim of the paper"))
    return out


def attack_claims(df: pd.DataFrame, certs: pd.DataFrame | None, p, r) -> list[C.Claim]:
    att = df[df.part == Part.ATTACK]
    out, spearman, sequences = [], [], []
    if att.empty:
        return out
    for data in att.data.dropna().unique():
        d = att[att.data == data]
        acc = d[d.quantity == Q.ROBUST_ACC]
        out += _per_eps(data, d, acc, p)
        n = int(p.attack.n_test)
        if certs is not None and "data" in certs:
            n = int((certs.data == data).sum() // max(1, certs[certs.data == data].eps.nunique()))
        out.append(eps_effect(data, acc, n, p, r))
        out.append(peer_gap(data, d, r))
        for norm in NORMS:
            sequences.append(f"{data} {norm}@{_standard(p, data, norm):g}: " +
                             ", ".join(f"{v:.3g}" for v in _at_standard(acc, p, data, norm)))
            for _, cell in acc[(acc.norm == norm) & (acc.loss == Loss.BOTH)].groupby("radius"):
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
                      why="a summary over every radius; the judged test of 'larger ε is more robust' is "
                          "robust.attack.eps_effect.{data}"))
    out.append(_soundness(certs, r))
    return out
