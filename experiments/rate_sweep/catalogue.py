"""rate-sweep, the claim catalogue: every id judge.py can emit, its kind, rule and expected verdict."""

from __future__ import annotations

from hjexp import claims as C

from .contract import Family, Model

LIP = "−1/(d+2)"
SEMI = "−2/(d+4)"
WINDOW = ("slope = mean of per-seed least-squares slopes (seeds redraw target and data) with a judge.level t-interval, "
          "on the largest-n window of ≥ judge.min_fit_sizes sizes where the upper- and lower-half slopes differ by "
          "≤ judge.stable_tol·|a|; inconclusive if no window is stable")
UPPER = f"upper_rate vs a = {LIP}, δ = judge.delta (0.1): pass iff the interval ≤ (1 − δ)·a; fail iff it lies entirely above; {WINDOW}"
ATTAINED = ("attained_rate: pass iff the interval lies in judge.band (default [0.8, 1.25])·θ; fail iff it lies entirely "
            "on the shallow side of the band (decay significantly slower than the minimax rate); inconclusive otherwise, "
            "including entirely steeper than the band: on a lower-bound family no estimator decays faster than θ for "
            "large n, so a steeper slope marks a pre-asymptotic range; " + WINDOW)

# (family, model) -> (claim id with {d}, kind)
CLAIM_ID = {
    (Family.HJ_SOLUTION, Model.HJ): ("rate.hj.slope.d{d}", "upper_rate"),
    (Family.HJ_SOLUTION, Model.KNN): ("rate.knn.slope.d{d}", "upper_rate"),
    (Family.HJ_SOLUTION, Model.NW): ("rate.nw.slope.d{d}", "upper_rate"),
    (Family.LIPSCHITZ, Model.HJ): ("rate.hj_lipschitz.slope.d{d}", "upper_rate"),
    (Family.LIPSCHITZ, Model.HJ_SHRINK_T): ("rate.hj_lipschitz_shrink_t.slope.d{d}", "upper_rate"),
    (Family.LIPSCHITZ, Model.KNN): ("rate.knn_lipschitz.slope.d{d}", "upper_rate"),
    (Family.LIPSCHITZ, Model.NW): ("rate.nw_lipschitz.slope.d{d}", "upper_rate"),
    (Family.MINIMAX_HARD, Model.HJ): ("rate.minimax.hj.slope.d{d}", "info"),
    (Family.MINIMAX_HARD, Model.HJ_SELECTED): ("rate.minimax.hj_selected.slope.d{d}", "info"),
    (Family.MINIMAX_HARD, Model.KNN): ("rate.minimax.knn.slope.d{d}", "info"),
    (Family.MINIMAX_HARD, Model.NW): ("rate.minimax.nw.slope.d{d}", "info"),
    (Family.MINIMAX_HARD, Model.HJ_FIXED_T): ("rate.minimax.hj_fixed_t.slope.d{d}", "info"),
    (Family.MINIMAX_HARD, Model.CONSTANT): ("rate.minimax.constant.slope.d{d}", "info"),
    (Family.SEMICONCAVE_HARD, Model.HJ): ("rate.semiconcave.hj.slope.d{d}", "attained_rate"),
    (Family.SEMICONCAVE_HARD, Model.HJ_SELECTED): ("rate.semiconcave.hj_selected.slope.d{d}", "attained_rate"),
    (Family.SEMICONCAVE_HARD, Model.KNN): ("rate.semiconcave.knn.slope.d{d}", "info"),
    (Family.SEMICONCAVE_HARD, Model.NW): ("rate.semiconcave.nw.slope.d{d}", "info"),
    (Family.SEMICONCAVE_HARD, Model.CONSTANT): ("rate.semiconcave.constant.slope.d{d}", "info"),
}

# which reading of the paper's statement each family's rows test (appended to every judged row's criterion)
READING = {
    Family.HJ_SOLUTION: ("Reading tested: an upper rate on one target inside the model class (u*(·, t) at the "
                         "model's own t); a single target says nothing about the minimax (worst-case) statement."),
    Family.LIPSCHITZ: ("Reading tested: the Lipschitz reading on one target with convex kinks, outside the class at "
                       "fixed t: at fixed t the model misses each kink by ≈ L²t/2, a floor no n removes, so a fail at "
                       "fixed t is that floor, and the shrinking-t row tests the statement with t_n → 0."),
    Family.MINIMAX_HARD: ("Reading tested: none judged — the Lipschitz class's lower-bound construction at its one "
                          "critical scale, where every estimator's slope is −1/(d+2); the class statement is judged "
                          "by rate.worst.*."),
    Family.SEMICONCAVE_HARD: ("Reading tested: the semiconcave-class reading, the one the minimax statement can hold "
                              "for at fixed t: targets with |D²f| ≤ 1/(2t) (inside the model class at time t), whose "
                              "minimax rate is the faster n^(−2/(d+4)), on that class's lower-bound construction at "
                              "its critical scale (a slope test only; a pass is marked foregone where the constant "
                              "predictor does as well)."),
}

REFERENCE_WORDS = {
    Family.HJ_SOLUTION: "The target u*(·, t) is in the model class and nearly parametric at t = 0.2 (one quadratic "
                        "on much of the box), so a decay faster than −1/(d+2) is expected and does not contradict the "
                        "O(·) claim.",
    Family.LIPSCHITZ: "Ridge kinks are convex, outside the class at fixed t: a soft minimum of quadratics of curvature "
                      "1/(2t) misses a kink of slope jump 2a by ≈ t·a²/2, a floor no n removes unless t shrinks.",
    Family.MINIMAX_HARD: "Minimax-hard family: one pyramid bump of height L·h/2 per cell of side h = c·n^(−1/(d+2)), "
                         "random signs per seed, noise and bump balanced, so no estimator's RMSE can fall faster than "
                         "n^(−1/(d+2)); the constant predictor's RMSE (the bumps' RMS) falls exactly that fast, so "
                         "the constants below say how much an estimator learnt.",
    Family.SEMICONCAVE_HARD: "Semiconcave-hard family: one smooth bump of height h²/(4π²t) (|D²f| ≤ 1/(2t), inside "
                             "the Hopf–Cole class at time t) per cell of side h = c·n^(−1/(d+4)), random signs per "
                             "seed: the lower-bound construction for the semiconcave class, minimax rate "
                             "n^(−2/(d+4)).",
}


WORST = (f"upper_rate vs a = {LIP}, δ = judge.delta (0.1), on the per-seed supremum of test RMSE over the grid of "
         "params.worst (random-sign pyramids of side 2/m and height a·L·h/2, every member L-Lipschitz): pass iff the "
         "slope's interval ≤ (1 − δ)·a; fail iff it lies entirely above; " + WINDOW + ". Reading tested: the "
         "Lipschitz-class minimax statement, sup over the class of the RMSE = O(n^(−1/(d+2)))")
WORST_MODELS = {
    Model.CONSTANT: ("the constant predictor (training-label mean), the negative control: its sup is the coarsest "
                     "bumps' RMS, which no n reduces",
                     "fail for every d (slope ≈ 0: quick −0.0005…−0.002); that fail is the test that the grid "
                     "discriminates"),
    Model.KNN: ("kNN, k = ⌈n^(2/(d+2))⌉", "quick: pass d = 1…3 (−0.41, −0.29, −0.21), inconclusive d = 4 (−0.153, "
                                         "interval straddles −0.15)"),
    Model.NW: ("Nadaraya–Watson, bandwidth 0.5·n^(−1/(d+2))", "quick: pass d = 1…3, inconclusive d = 4 (straddles)"),
    Model.HJ_FIXED_T: ("the paper's model: trained Hopf–Cole at the fixed t, N ~ n^(d/(d+2)), ε ~ n^(−1/(d+2)); at "
                       "fixed t the L²t/2 kink floor predicts a fail once the floor is reached",
                       "quick: fail d = 1 (the floor: sup 0.051 at n = 4096, flat), inconclusive d = 2 (straddles), "
                       "d = 3, 4 (steeper than 1.25·a: starts above the constant predictor, an overfit fading)"),
    Model.HJ_SELECTED: ("trained Hopf–Cole with (N, ε, t) chosen per data set on held-out samples "
                        "(params.worst.select)",
                        "quick: pass d = 1 (−0.39; t = 0.05 chosen in 56 % of data sets), inconclusive d = 2 "
                        "(straddles), d = 3, 4 (steeper than 1.25·a)"),
}


def _spec(claim_id: str, kind: str, theory: str, about: str, expected: str) -> C.Spec:
    rule = {"upper_rate": UPPER, "attained_rate": f"{ATTAINED} (θ = {SEMI if 'semiconcave' in claim_id else LIP})",
            "info": "reported, not judged (a contrast or diagnostic)"}[kind]
    return C.Spec(claim_id, kind, theory, about, rule, expected)


CLAIMS = tuple(
    C.Spec(f"rate.worst.{m}.slope.d{{d}}", "upper_rate", f"O(n^({LIP})) uniformly over the Lipschitz class",
           about, WORST, expected) for m, (about, expected) in WORST_MODELS.items()
) + (
    _spec("rate.hj.slope.d{d}", "upper_rate", f"O(n^({LIP}))",
          "trained Hopf–Cole (fixed t, N ~ n^(d/(d+2)), ε ~ n^(−1/(d+2))) on the exact HJ solution u*(·, t)",
          "quick: pass d = 2…4, inconclusive d = 1 (interval straddles 0.9·a: seeds redraw the target)"),
    _spec("rate.knn.slope.d{d}", "upper_rate", f"O(n^({LIP})) (classical)", "kNN, k ~ n^(2/(d+2)), on u*(·, t)",
          "quick: pass d = 2…4, inconclusive d = 1"),
    _spec("rate.nw.slope.d{d}", "upper_rate", f"O(n^({LIP})) (classical)",
          "Nadaraya–Watson, bandwidth ~ n^(−1/(d+2)), on u*(·, t)", "quick: pass d = 2…4, inconclusive d = 1"),
    _spec("rate.hj_lipschitz.slope.d{d}", "upper_rate", f"O(n^({LIP}))",
          "trained Hopf–Cole at fixed t on ridge kinks (outside the class at fixed t)",
          "quick: fail d = 1 (the fixed-t floor), inconclusive d = 2, 3, pass d = 4 (floor not reached by n = 2048)"),
    _spec("rate.hj_lipschitz_shrink_t.slope.d{d}", "upper_rate", f"O(n^({LIP}))",
          "the same with t_n = t·(n/n_min)^(−1/(d+2)), which removes the floor",
          "quick: pass d = 1, 3, 4, inconclusive d = 2"),
    _spec("rate.knn_lipschitz.slope.d{d}", "upper_rate", f"O(n^({LIP})) (classical)", "kNN on ridge kinks",
          "quick: pass d = 2…4, inconclusive d = 1"),
    _spec("rate.nw_lipschitz.slope.d{d}", "upper_rate", f"O(n^({LIP})) (classical)",
          "Nadaraya–Watson on ridge kinks", "pass at quick"),
    _spec("rate.minimax.hj.slope.d{d}", "info", LIP,
          "trained Hopf–Cole at t_n = τ·h_n/L, one atom per cell, on the minimax-hard family at its critical scale "
          "(info: there every estimator, the constant predictor included, has slope −1/(d+2); judged: rate.worst.*)",
          "info"),
    _spec("rate.minimax.hj_selected.slope.d{d}", "info", LIP,
          "trained Hopf–Cole at fixed t with (N, ε) chosen on held-out samples, minimax-hard at its critical scale "
          "(info, as above)", "info"),
    _spec("rate.minimax.knn.slope.d{d}", "info", LIP, "kNN on the minimax-hard family at its critical scale (info)",
          "info"),
    _spec("rate.minimax.nw.slope.d{d}", "info", LIP,
          "Nadaraya–Watson on the minimax-hard family at its critical scale (info)", "info"),
    _spec("rate.minimax.hj_fixed_t.slope.d{d}", "info", LIP,
          "contrast: trained Hopf–Cole at the fixed t (cannot bend into the pits) on the minimax-hard family", "info"),
    _spec("rate.minimax.constant.slope.d{d}", "info", LIP,
          "check of the construction: the constant predictor's RMSE is the bumps' RMS ∝ h ∝ n^(−1/(d+2))", "info"),
    C.Spec("rate.minimax.hj_vs_knn.d{d}", "info", "no factor stated",
           "RMSE of the trained Hopf–Cole form (t_n) over kNN's at the largest n, minimax-hard family at its critical "
           "scale, paired by seed; the same ratio of the paper's fixed-t model, hj_selected and the constant predictor "
           "in the description", "reported, not judged: the paper states no factor; the judged comparison is the "
           "worst-case rows rate.worst.*", "info"),
    _spec("rate.semiconcave.hj.slope.d{d}", "attained_rate", f"n^({SEMI}) (semiconcave minimax rate; a pass is "
          "marked arithmetic where the constant predictor does as well at the largest n)",
          "trained Hopf–Cole at fixed t, N ~ n^(d/(d+4)), ε ~ n^(−2/(d+4)), on the semiconcave-hard family (in class)",
          "quick: inconclusive for every d (straddling the band in d = 1, 2; steeper in d = 3; unstable in d = 4)"),
    _spec("rate.semiconcave.hj_selected.slope.d{d}", "attained_rate", f"n^({SEMI})",
          "the same with (N, ε) chosen on held-out samples from a fixed grid", "quick: inconclusive for every d"),
    _spec("rate.semiconcave.knn.slope.d{d}", "info", SEMI, "kNN, k ~ n^(4/(d+4)), on the semiconcave-hard family",
          "info"),
    _spec("rate.semiconcave.nw.slope.d{d}", "info", SEMI, "Nadaraya–Watson, bandwidth ~ n^(−1/(d+4)), same family",
          "info"),
    _spec("rate.semiconcave.constant.slope.d{d}", "info", SEMI, "check of the construction: the bumps' RMS ∝ h²",
          "info"),
)
