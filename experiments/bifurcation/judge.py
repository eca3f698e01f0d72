"""bifurcation, judge: claim rows from results.csv (counts), folds.csv, timing.csv, atoms.csv and
count_differences.csv only."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from hjexp import claims as C

CLAIMS = (
    C.Spec("bifurcation.{set}.n_folds", "info", "basins merge in folds as ε grows",
           "number of folds (τ's log ε-component changes sign along a branch) in the ε range, refined by Newton on "
           "{∇H = 0, det ∇²H = 0}; how many annihilate a pair as ε grows and how many create one",
           "", "info at every profile"),
    C.Spec("bifurcation.{set}.count_monotone", "info", "the number of critical points falls as ε grows",
           "number of folds at which a pair of critical points is born as ε grows (0 iff the count never rises); "
           "the counts at both ends of the scan",
           "", "info: the paper states merging, not that no pair is ever born"),
    C.Spec("bifurcation.{set}.last_min_eps", "info", "ε* = N^(−1/d) marks the particle → wave transition",
           "ε at which the last local minimum of H disappears (its fold, refined), and its ratio to ε* = N^(−1/d)",
           "", "info (ε* is a scale, not a predicted fold)"),
    C.Spec("bifurcation.{set}.fold_eigen_check", "exact", "det ∇²H = 0 at a fold",
           "at every fold: the smallest |eigenvalue| of ∇²H relative to ‖[∇²H | ∂_logε ∇H]‖₂ (computed by "
           "eigvalsh, independently of the det used to refine), and a change of Hessian inertia between the "
           "continuation points that bracket it",
           "pass iff the largest ratio ≤ judge.fold_eig_tol (1e-8), every refinement converged and every bracket "
           "changes inertia; fail otherwise; inconclusive when there is no fold", "pass at every profile"),
    C.Spec("bifurcation.{set}.methods", "info", "",
           "the authors' per-ε multistart scan against continuation on the same ε grid: wall-time ratio "
           "(multistart / continuation), and the ε values at which their counts differ, with why",
           "", "info"),
)


def dims(atoms: pd.DataFrame) -> int:
    """d of one set's rows of atoms.csv (the file holds y0, y1, … for the widest set; others are empty)."""
    return sum(c.startswith("y") and bool(atoms[c].notna().all()) for c in atoms.columns)


def _fmt_list(values, limit: int = 8) -> str:
    vals = [f"{v:.4g}" for v in values]
    return ", ".join(vals[:limit]) + (f", … ({len(vals)} in all)" if len(vals) > limit else "")


def judge(run: C.RunData) -> list[C.Claim]:
    counts, p, r = run.table(), run.params, run.rules
    folds, timing = run.table("folds"), run.table("timing")
    atoms, diff = run.table("atoms"), run.table("count_differences")
    out = []
    for name in p.sets:
        f = folds[folds.set == name].sort_values("eps_fold")
        c = counts[(counts.set == name) & (counts.method == "union")]
        born = f[f.direction == "born as ε grows"]
        out.append(C.info(f"bifurcation.{name}.n_folds",
                          f"{len(f)} folds at ε = {_fmt_list(f.eps_fold)}; {len(f) - len(born)} annihilate a pair as "
                          f"ε grows, {len(born)} create one; {int((f.found_by != 'continuation').sum())} only on "
                          "branches seeded from multistart points (pass 2)",
                          len(f), why="a count of events; the claim is qualitative", theory="folds as ε grows"))
        total = c[c.type == "all"].sort_values("k")
        n = total["count"].to_numpy()
        rise = int(np.max(np.diff(n))) if len(n) > 1 else 0
        at = f" (at ε = {_fmt_list(born.eps_fold)})" if len(born) else ""
        out.append(C.info(f"bifurcation.{name}.count_monotone",
                          f"critical points: {n[0]} at ε = {total.eps.iloc[0]:.3g}, {n[-1]} at ε = "
                          f"{total.eps.iloc[-1]:.3g}; {len(born)} folds create a pair as ε grows{at}; largest rise "
                          f"of the count between grid neighbours {rise} (a rise without a fold: a branch that enters "
                          "the search box or leaves the roundoff-flat region)",
                          len(born), why="the paper describes merging; a created pair (e.g. an isola) does not "
                                         "contradict it", theory="count falls as ε grows"))
        out.append(_last_min(name, c, f, atoms[atoms.set == name]))
        out.append(_eigen_check(name, f, float(r.fold_eig_tol)))
        out.append(_methods(name, counts[counts.set == name], timing[timing.set == name],
                            diff[diff.set == name] if len(diff) else diff))
    return out


def _last_min(name: str, c: pd.DataFrame, f: pd.DataFrame, atoms: pd.DataFrame) -> C.Claim:
    d = dims(atoms)
    star = len(atoms) ** (-1.0 / d)
    mins = c[c.type == "min"].sort_values("k")
    have = mins[mins["count"] > 0]
    theory = f"ε* = N^(−1/d) = {star:.3g}"
    cid = f"bifurcation.{name}.last_min_eps"
    if len(have) == 0:
        return C.info(cid, "no local minimum of H anywhere on the ε grid", math.nan, why="nothing to locate",
                      theory=theory)
    k_last = int(have.k.max())
    if k_last == int(mins.k.max()):
        return C.info(cid, f"a minimum survives at the largest ε = {mins.eps.max():.3g}", math.nan,
                      why="the last minimum lies beyond the scan", theory=theory)
    e_lo, e_hi = float(mins[mins.k == k_last].eps.iloc[0]), float(mins[mins.k == k_last + 1].eps.iloc[0])
    cand = f[f.types.str.contains("min") & (f.direction == "annihilate as ε grows") &
             (f.eps_fold > e_lo * (1 - 1e-9)) & (f.eps_fold <= e_hi * (1 + 1e-9))]
    if len(cand):
        e, how = float(cand.eps_fold.max()), f"at the refined fold ({cand.sort_values('eps_fold').types.iloc[-1]})"
    else:
        e, how = math.sqrt(e_lo * e_hi), f"between grid ε {e_lo:.4g} and {e_hi:.4g} (no fold there: it left the box)"
    return C.info(cid, f"the last minimum of H disappears at ε = {e:.4g}, {how}; ε/ε* = {e / star:.3g}", e,
                  why="ε* is a scale, not a predicted fold location", theory=theory)


def _eigen_check(name: str, f: pd.DataFrame, tol: float) -> C.Claim:
    cid = f"bifurcation.{name}.fold_eigen_check"
    about = "smallest |eigenvalue of ∇²H| / ‖[∇²H | ∂_logε ∇H]‖₂ at the refined folds, by eigvalsh"
    if len(f) == 0:
        return C.custom(cid, "exact", f"{about}: no fold in the ε range", "0", math.nan, verdict="inconclusive",
                        criterion=f"pass iff the largest ratio ≤ {tol:g} at every fold; no fold to check")
    worst = float(f.rel_min_eig.max())
    conv, inertia = bool(f.converged.all()), bool(f.inertia_changed.all())
    ok = worst <= tol and conv and inertia
    return C.custom(cid, "exact", f"{about}, largest over {len(f)} folds", "0", worst,
                    verdict="pass" if ok else "fail",
                    criterion=f"pass iff the largest ratio ≤ {tol:g}, every refinement converged (measured: "
                              f"{int(f.converged.sum())}/{len(f)}) and every bracketing pair of continuation points "
                              f"differs in Hessian inertia ({int(f.inertia_changed.sum())}/{len(f)}); fail otherwise")


def _methods(name: str, counts: pd.DataFrame, timing: pd.DataFrame, diff: pd.DataFrame) -> C.Claim:
    wide = counts[counts.type == "all"].pivot_table(index="k", columns="method", values="count")
    differ = int((wide.multistart != wide.continuation).sum())
    t = timing.set_index("method").wall_s
    ratio = float(t["multistart"] / t["continuation"])
    parts = []
    for side, sel in (diff.groupby("side") if len(diff) else []):
        reasons = sel.why.value_counts()
        parts.append(f"{len(sel)} {side} ({'; '.join(f'{n}× {w}' for w, n in reasons.items())})")
    return C.info(f"bifurcation.{name}.methods",
                  f"wall time (under the machine's load at run time): multistart {t['multistart']:.3g} s, "
                  f"continuation {t['continuation']:.3g} s (+ pass 2 {t.iloc[-1]:.3g} s); counts differ at "
                  f"{differ} of {len(wide)} grid ε; " + ("; ".join(parts) if parts else "no point found by one only"),
                  ratio, why="a comparison of methods, not a claim of the paper", theory="")
