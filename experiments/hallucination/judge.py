"""hallucination, judge: claim rows from results.csv and config.yaml only."""

from __future__ import annotations

import math

from hjexp import claims as C
from hjexp.claims.roundoff import roundoff_tol

from .contract import Layers, Part, Q

ARITHMETIC = ("f_ε − max z = ε log(1 + Σ_{j≠top} e^(−(z_top − z_j)/ε)) and each of the N−1 terms is ≤ e^(−Δ/ε), "
              "so the inequality holds for every input; a pass checks the computation, it is no evidence by itself")

CLAIMS = (
    C.Spec("hallucination.bound_holds", "bound", "|f_ε − max_j z_j| ≤ ε log(1 + (N−1)e^(−Δ/ε))",
           "max over random and trained layers, ε and a dense grid of |f_ε − max z| − bound (Δ = top-two logit gap)",
           "pass iff max(|gap| − bound) ≤ 0 + slack judge.roundoff (1e-12 at float64, scaled by machine ε for other dtypes); a pass is arithmetic (every input obeys it)",
           "pass at every profile"),
    C.Spec("hallucination.bound_tightness", "info", "≤ 1 (= 1 when all N−1 runners-up tie)",
           "gap/bound over the grid: the largest ratio, with the medians per layer kind",
           "reported, not judged: the paper states the bound, not its tightness", "info"),
    C.Spec("hallucination.curvature_peak.slope", "attained_rate", "−1 (peak height ∝ 1/ε)",
           "log–log slope of the peak of Var_π(w)/ε on the tie boundaries {z_i = z_j} (grid points projected exactly "
           "onto the tie of their top two neurons) against ε → 0, random layers",
           "deterministic sequence: pass iff the stabilised local slopes lie inside band·(−1) (default [−1.25, −0.8]); "
           "fail iff disjoint; else inconclusive", "pass at every profile"),
    C.Spec("hallucination.diffusion_radius.outside_fraction", "info", "outside √(2εt): the dominant neuron's plane",
           "fraction of the grid farther than √(2εt) from every atom y_j = 2t w_j, per ε, with the largest (f − max z)/ε "
           "outside that radius", "reported, not judged: the paper gives no quantitative statement to test", "info"),
)


def _by_eps(frame, quantity):
    s = frame[frame.quantity == quantity].set_index("eps").value.sort_index(ascending=False)
    return ", ".join(f"{e:g}: {v:.3g}" for e, v in s.items())


def judge(run: C.RunData) -> list[C.Claim]:
    df, p, r = run.table(), run.params, run.rules
    tol, note = roundoff_tol(df, float(r.roundoff))
    bound = df[df.part == Part.BOUND]
    excess = bound[bound.quantity == Q.MAX_EXCESS]
    lowest = bound[bound.quantity == Q.MIN_GAP].value.min()
    out = [C.bound("hallucination.bound_holds",
                   f"max of |f_ε − max z| − ε log(1 + (N−1)e^(−Δ/ε)) over {p.random.n_layers} random layers at every ε and "
                   f"one trained layer per ε (its own), ε ∈ {list(p.eps)}, {p.n_grid}² grid on {list(p.domain)}²; "
                   f"smallest f_ε − max z seen: {lowest:.3g} (never below −roundoff means f_ε ≥ max z){note}",
                   excess.value.max(), 0.0, slack=tol, arithmetic=ARITHMETIC,
                   theory="|f_ε − max_j z_j| ≤ ε log(1 + (N−1)e^(−Δ/ε))")]
    med = {k: bound[(bound.layers == k) & (bound.quantity == Q.MEDIAN_RATIO)].value for k in (Layers.RANDOM, Layers.TRAINED)}
    N = int(bound.N.iloc[0])
    out.append(C.info("hallucination.bound_tightness",
                      f"largest gap/bound over every layer, ε and grid point (points whose bound is below 1e6·machine ε·"
                      f"max(1, |max z|) left out: roundoff over roundoff); median ratio per ε: random {med[Layers.RANDOM].min():.3g}–"
                      f"{med[Layers.RANDOM].max():.3g}, trained {med[Layers.TRAINED].min():.3g}–{med[Layers.TRAINED].max():.3g} "
                      f"(far from ties the ratio tends to the runner-up's share, ≥ 1/(N−1) = {1 / (N - 1):.3g})",
                      bound[bound.quantity == Q.MAX_RATIO].value.max(), theory="≤ 1 (= 1 when all N−1 runners-up tie)",
                      why="the paper states the bound, not how tight it is; ratio 1 needs all N−1 runners-up tied"))
    curv = df[df.part == Part.CURVATURE]
    peak = curv[curv.quantity == Q.PEAK_ON_TIES].groupby("eps").value.max()
    grid_peak = curv[curv.quantity == Q.PEAK_ON_GRID].groupby("eps").value.max()
    est = C.deterministic_slope(peak.index, peak.values, tol=float(r.stable_tol), toward="small")
    e_min = peak.index.min()
    out.append(C.attained_rate("hallucination.curvature_peak.slope",
                               f"slope of max over {p.random.n_layers} random layers (N = {p.random.n_neurons}) of the peak of "
                               f"Var_π(w)/ε on their tie boundaries vs ε ∈ [{e_min:g}, {peak.index.max():g}]; the "
                               f"{p.n_grid}² grid alone reaches {grid_peak[e_min]:.3g} of the tie value {peak[e_min]:.3g} "
                               f"at ε = {e_min:g} (a grid sees the peak only where its points come within ≈ ε/|w_i − w_j| of a tie line)",
                               -1.0, est, band=tuple(r.band), theory="−1 (peak height ∝ 1/ε)",
                               arithmetic="on a two-neuron tie π = (½, ½), so Var_π(w)/ε = |w_i − w_j|²/(4ε) exactly"))
    rad = df[(df.part == Part.RADIUS) & (df.layers == Layers.RANDOM)]
    frac = rad[rad.quantity == Q.OUTSIDE_FRACTION].set_index("eps").value
    outside_gap = rad[rad.quantity == Q.MAX_GAP_OUTSIDE].value.max()
    out.append(C.info("hallucination.diffusion_radius.outside_fraction",
                      f"random layers: fraction of the grid outside √(2εt) of every atom, per ε ({_by_eps(rad, 'outside_fraction')}); "
                      f"measured = at ε = {frac.index.min():g}. Largest (f − max z)/ε outside the radius: {outside_gap:.3g} "
                      f"(log 2 = {math.log(2):.3g} is a two-neuron tie: the distance to the atoms does not decide "
                      "whether the output is the dominant plane, the logit gap Δ does)",
                      frac[frac.index.min()], theory="outside √(2εt): the dominant neuron's plane",
                      why="the paper gives no quantitative statement to test; shown for the figure and the table"))
    return out
