"""bifurcation, judge: claim rows from results.csv (counts), folds.csv, timing.csv, atoms.csv and
count_differences.csv only."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from hjexp import claims as C

from .contract import Counted, Direction, FoundBy, Method, Timed, Type, dims

CLAIMS = (
    C.Spec("bifurcation.{set}.n_folds", "info", "basins merge in folds as ε grows",
           "number of folds (τ's log ε-component changes sign along a branch) in the ε range, refined by Newton on "
           "{∇H = 0, det ∇²H = 0}; how many annihilate a pair as ε grows and how many create one",
           "", "info at every profile"),
    C.Spec("bifurcation.{set}.count_monotone", "info", "the number of critical points falls as ε grows",
           "number of folds at which a pair of critical points is born as ε grows (0 iff the count never rises); "
           "the counts at both ends of the scan",
           "", "info: the grid count also moves at the search box's edge; no_births judges the folds"),
    C.Spec("bifurcation.{set}.no_births", "bound", "as ε grows, basins merge: critical points vanish in pairs, none are created",
           "number of refined folds at which a pair of critical points is created as ε grows (τ's log ε-component "
           "from − to +: the branch turns back at its smallest ε)",
           "pass iff the number ≤ 0; fail otherwise (one created pair, e.g. an isola appearing, is a counterexample "
           "to 'the landscape only simplifies as ε grows')", "pass on every set at every profile (0 births)"),
    C.Spec("bifurcation.{set}.folds_merge_basins", "count", "each fold merges two attribution basins",
           "fraction of folds that merge basins, i.e. at which a local minimum of H (a basin) meets a saddle (d ≥ 2) or "
           "a maximum (d = 1); a fold merges basins iff every Hessian eigenvalue at the refined fold besides the one "
           "that vanishes is > 0, and clearly does not iff one of them is < −judge.basin_eig_tol·‖[∇²H | ∂_logε ∇H]‖₂ "
           "(1e-6, the tool's threshold, 100× the fold tolerance, so the vanishing eigenvalue is never mistaken for it)",
           "pass iff every fold merges basins; fail iff some fold clearly does not (a saddle meeting a maximum); "
           "inconclusive when there is no fold or the non-merging ones are within the threshold. In d = 1 a pass is "
           "arithmetic (the only eigenvalue is the one that vanishes: a fold always meets a minimum and a maximum)",
           "pass on the 1-D sets (arithmetic); fail on two_clusters (quick: 7 of 18 folds merge basins, the other 11 are max + saddle)"),
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
        c = counts[(counts.set == name) & (counts.method == Method.UNION)]
        born = f[f.direction == Direction.BORN]
        seeded = int((f.found_by != FoundBy.CONTINUATION).sum())
        out.append(C.info(f"bifurcation.{name}.n_folds",
                          f"{len(f)} folds at ε = {_fmt_list(f.eps_fold)}; {len(f) - len(born)} annihilate a pair as "
                          f"ε grows, {len(born)} create one; {seeded} only on "
                          "branches seeded from multistart points (pass 2)",
                          len(f), why="a count of events; the claim is qualitative", theory="folds as ε grows"))
        total = c[c.type == Counted.ALL].sort_values("k")
        n = total["count"].to_numpy()
        rise = int(np.max(np.diff(n))) if len(n) > 1 else 0
        at = f" (at ε = {_fmt_list(born.eps_fold)})" if len(born) else ""
        out.append(C.info(f"bifurcation.{name}.count_monotone",
                          f"critical points: {n[0]} at ε = {total.eps.iloc[0]:.3g}, {n[-1]} at ε = "
                          f"{total.eps.iloc[-1]:.3g}; {len(born)} folds create a pair as ε grows{at}; largest rise "
                          f"of the count between grid neighbours {rise} (a rise without a fold: a branch that enters "
                          "the search box or leaves the roundoff-flat region)",
                          len(born), why="the count also moves when a branch enters or leaves the search box; "
                                         "the folds are judged by no_births", theory="count falls as ε grows"))
        out.append(C.bound(f"bifurcation.{name}.no_births",
                           f"{len(born)} of {len(f)} folds create a pair of critical points as ε grows{at}",
                           len(born), 0, theory="0 (pairs only annihilate as ε grows)"))
        out.append(_merge_basins(name, f, dims(atoms[atoms.set == name]), float(r.basin_eig_tol)))
        out.append(_last_min(name, c, f, atoms[atoms.set == name]))
        out.append(_eigen_check(name, f, float(r.fold_eig_tol)))
        out.append(_methods(name, counts[counts.set == name], timing[timing.set == name],
                            diff[diff.set == name] if len(diff) else diff))
    return out


def _last_min(name: str, c: pd.DataFrame, f: pd.DataFrame, atoms: pd.DataFrame) -> C.Claim:
    d = dims(atoms)
    star = len(atoms) ** (-1.0 / d)
    mins = c[c.type == Counted.MIN].sort_values("k")
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
    cand = f[f.types.str.contains(Type.MIN) & (f.direction == Direction.ANNIHILATE) &
             (f.eps_fold > e_lo * (1 - 1e-9)) & (f.eps_fold <= e_hi * (1 + 1e-9))]
    if len(cand):
        e, how = float(cand.eps_fold.max()), f"at the refined fold ({cand.sort_values('eps_fold').types.iloc[-1]})"
    else:
        e, how = math.sqrt(e_lo * e_hi), f"between grid ε {e_lo:.4g} and {e_hi:.4g} (no fold there: it left the box)"
    return C.info(cid, f"the last minimum of H disappears at ε = {e:.4g}, {how}; ε/ε* = {e / star:.3g}", e,
                  why="ε* is a scale, not a predicted fold location", theory=theory)


def _merge_basins(name: str, f: pd.DataFrame, d: int, tol: float) -> C.Claim:
    cid = f"bifurcation.{name}.folds_merge_basins"
    other = f.rel_other_eig.to_numpy(float)
    merge, clearly_not = other > 0, other < -tol
    n = len(f)
    kinds = "; ".join(f"{k}× {t}" for t, k in f.types.value_counts().items()) or "none"
    words = dict(event="fold", holds_if="it merges basins: every eigenvalue of ∇²H at the fold besides the vanishing "
                                        "one > 0",
                 fails_if=f"one < −{tol:g}·‖[∇²H | ∂_logε ∇H]‖₂, tool's threshold: a saddle meets a maximum")
    if n == 0:
        return C.count(cid, f"{name}: no fold in the ε range", merge, clearly_not, theory="1 (every fold)", **words)
    lost = f[~merge]
    where = f" (not: at ε = {_fmt_list(lost.eps_fold)}, {', '.join(sorted(set(lost.types)))})" if len(lost) else ""
    desc = (f"{name} (d = {d}): {int(merge.sum())} of {n} folds merge basins (a minimum meets a saddle or maximum), "
            f"{int(clearly_not.sum())} clearly do not{where}; types of the meeting pairs: {kinds}; smallest other "
            f"eigenvalue / ‖J‖₂ over the folds " + (f"{np.min(other):.3g}" if d > 1 else "none (d = 1)"))
    why = ("in d = 1 the only Hessian eigenvalue is the one that vanishes, so every fold meets a minimum and a "
           "maximum" if d == 1 else "")
    return C.count(cid, desc, merge, clearly_not, theory="1 (each fold merges basins)", arithmetic=why, **words)


def _eigen_check(name: str, f: pd.DataFrame, tol: float) -> C.Claim:
    cid = f"bifurcation.{name}.fold_eigen_check"
    about = "smallest |eigenvalue of ∇²H| / ‖[∇²H | ∂_logε ∇H]‖₂ at the refined folds, by eigvalsh"
    if len(f) == 0:
        return C.exact(cid, f"{about}: no fold in the ε range", math.nan, tol=tol, theory="0", what="the largest ratio",
                       requires={"a fold in the ε range to check (none)": False})
    return C.exact(cid, f"{about}, largest over {len(f)} folds", float(f.rel_min_eig.max()), tol=tol, theory="0",
                   what="the largest ratio",
                   also={f"every refinement converged ({int(f.converged.sum())}/{len(f)})": bool(f.converged.all()),
                         f"every bracketing pair of continuation points differs in Hessian inertia "
                         f"({int(f.inertia_changed.sum())}/{len(f)})": bool(f.inertia_changed.all())})


def _methods(name: str, counts: pd.DataFrame, timing: pd.DataFrame, diff: pd.DataFrame) -> C.Claim:
    wide = counts[counts.type == Counted.ALL].pivot_table(index="k", columns="method", values="count")
    differ = int((wide[Method.MULTISTART] != wide[Method.CONTINUATION]).sum())
    t = timing.set_index("method").wall_s
    ratio = float(t[Timed.MULTISTART] / t[Timed.CONTINUATION])
    parts = []
    for side, sel in (diff.groupby("side") if len(diff) else []):
        reasons = sel.why.value_counts()
        parts.append(f"{len(sel)} {side} ({'; '.join(f'{n}× {w}' for w, n in reasons.items())})")
    return C.info(f"bifurcation.{name}.methods",
                  f"wall time (under the machine's load at run time): multistart {t[Timed.MULTISTART]:.3g} s, "
                  f"continuation {t[Timed.CONTINUATION]:.3g} s (+ pass 2 {t.iloc[-1]:.3g} s); counts differ at "
                  f"{differ} of {len(wide)} grid ε; " + ("; ".join(parts) if parts else "no point found by one only"),
                  ratio, why="a comparison of methods, not a claim of the paper", theory="")
