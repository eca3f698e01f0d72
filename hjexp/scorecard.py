"""The paper's scorecard: each headline statement of arXiv 2605.28983, its verdict rolled up from the
judged claim rows that test it, and the one number that decides it.

The roll-up rule (written into every report, ``RULE``):

- ``fail`` — a judged row of the statement fails: the data contradict part of what the paper says;
- ``inconclusive`` — otherwise, if a control did not come out as it must (a negative control that
  should fail passes: the test cannot tell estimators apart; a positive control fails: the measurement
  itself is not to be trusted), or a judged row is inconclusive;
- ``pass`` — every judged row passes; the evidence column says how many of those passes are forced
  by mathematics (arithmetic) and so carry no evidence by themselves;
- ``not run`` — no run in the report holds a row of the statement.

Controls and literature anchors are shown beside the statement but never count as its rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

import pandas as pd

from hjexp.claims.kinds import is_forced

RULE = ("fail if any judged row of the statement fails; else inconclusive if a control misbehaves (a negative "
        "control passes, a positive control fails) or any judged row is inconclusive; else pass. Info rows, "
        "controls and literature anchors never count; passes forced by mathematics are counted apart.")


@dataclass(frozen=True)
class Headline:
    """One statement of the paper and where hjexp tests it.

    rows       — fnmatch patterns of the claim ids that judge the statement itself
    decisive   — pattern of the row whose number is shown when the statement passes
    must_fail  — negative controls: rows that must fail for the test to discriminate
    must_pass  — positive controls: rows that must pass for the measurement to be trusted
    anchors    — rows judging the literature's prediction (shown, not counted)
    """

    key: str
    statement: str
    experiments: tuple[str, ...]
    rows: tuple[str, ...]
    decisive: str
    must_fail: tuple[str, ...] = ()
    must_pass: tuple[str, ...] = ()
    anchors: tuple[str, ...] = ()
    literature: str = ""

    def _any(self, patterns: tuple[str, ...], claim_id: str) -> bool:
        return any(fnmatchcase(claim_id, p) for p in patterns)

    def own(self, claim_id: str) -> bool:
        side = self.must_fail + self.must_pass + self.anchors
        return self._any(self.rows, claim_id) and not self._any(side, claim_id)


# In the paper's order: the identity (its §4), then the consequences as its abstract lists them.
HEADLINES = (
    Headline("identity", "An LSE layer is the Hopf–Cole solution of a viscous HJ equation: f_ε + u_ε = |x|²/4t "
             "exactly, for every ε; ε → 0 gives the tropical (max-plus) network and Hopf–Lax",
             ("identity",), ("identity.*",), "identity.hopf_cole.max_abs_err",
             literature="Maslov dequantisation; tropical geometry of ReLU nets (Zhang, Naitzat & Lim 2018)"),
    Headline("recovery", "Training is a search over initial data: (y_j, g_j) read off a trained net recover g* "
             "as ε → 0", ("recovery",), ("recovery.*",), "recovery.*.delta_decreases"),
    Headline("generalisation", "Generalisation at the minimax rate O(n^(−1/(d+2))) for fixed t",
             ("rate-sweep",), ("rate.hj*", "rate.minimax.hj*", "rate.semiconcave.hj*", "rate.worst.hj*"),
             "rate.worst.hj_fixed_t.slope.d*",
             must_fail=("rate.worst.constant.*",),
             must_pass=("rate.worst.knn.*", "rate.worst.nw.*", "rate.knn*", "rate.nw*", "rate.minimax.knn*",
                        "rate.minimax.nw*"),
             literature="Stone (1982): minimax RMSE rate n^(−1/(d+2)) for Lipschitz regression, attained by kNN "
                        "and Nadaraya–Watson (the positive controls)"),
    Headline("quadrature", "A width-N layer on a grid is an N-point quadrature of the Hopf–Cole integral: "
             "sup error O(N^(−1/d)) for Lipschitz data", ("quadrature",), ("quadrature.*",),
             "quadrature.slope.d*", literature="grid quadrature of Lipschitz integrands: N^(−1/d) is optimal "
             "among deterministic rules (Bakhvalov 1959; Novak 1988)"),
    Headline("scaling", "Scaling exponents are set by the data's intrinsic dimension: loss ∝ N^(−1/d_int)",
             ("scaling-dim",), ("scaling.*",), "scaling.manifold.alpha*",
             anchors=("scaling.manifold.alpha_literature.*", "scaling.literature.*"),
             literature="Sharma & Kaplan (JMLR 2022): α ≈ 4/d for MSE, 2/d for RMSE; Schmidt-Hieber (2020): "
                        "β/d* for β-smooth targets"),
    Headline("robustness", "Robustness is controlled by ε: ‖∇²f‖ ≤ ‖W‖²_{2,∞}/ε, so larger ε is more robust",
             ("eps-robustness",), ("robust.*",), "robust.attack.eps_effect.*",
             must_pass=("robust.attack.peer_gap.*",),
             literature="curvature regularisation and robustness (Moosavi-Dezfooli et al. 2019); attacks checked "
                        "against APGD (Croce & Hein 2020) as RobustBench does"),
    Headline("costate", "Backpropagation is the co-state equation of Pontryagin's principle and converges to "
             "the adjoint ODE", ("costate",), ("costate.*",), "costate.discrete.max_rel_err",
             literature="LeCun (1988); Li, Chen, Tai & E (2018); the neural-ODE adjoint (Chen et al. 2018)"),
    Headline("architectures", "Residual nets, transformers, RNNs, LSTMs and SSMs discretise the same class of HJ "
             "equations (backprop = co-state for each)", ("architectures",), ("architectures.*",),
             "architectures.*.costate.max_rel_err", must_fail=("architectures.control.*",),
             literature="backprop through time as the adjoint method (Pearlmutter 1995); S4D/Mamba ZOH "
                        "(Gu et al. 2022); Feynman–Kac for the noisy recurrence"),
    Headline("diagram", "One ε unifies four views (network, tropical algebra, viscous PDE, convex optimisation) in a "
             "commutative diagram closed under Lipschitz conditions", ("diagram",),
             ("diagram.edge.*", "diagram.vertical.*", "diagram.gap_order.*", "diagram.lipschitz.*", "diagram.convex.*",
              "diagram.legendre.*"), "diagram.edge.network_convex.value_err", must_fail=("diagram.gap_order.control.*",),
             literature="Maslov dequantisation; the Gibbs variational principle; the linear-time Legendre transform "
                        "(Lucet 1997)"),
    Headline("influence", "π_j(x) is the exact, O(N)-per-query attribution of the prediction to atom j",
             ("influence",), ("influence.*",), "influence.matches_autograd.max_abs_err",
             literature="influence functions (Koh & Liang 2017) for the training-point sense"),
    Headline("phase", "Attribution entropy goes from particle (H → 0) to wave (H → log N), with the transition "
             "at ε* = N^(−1/d)", ("phase-diagram",), ("phase.*",), "phase.*.transition_eps"),
    Headline("bifurcation", "As ε grows, attribution basins merge in fold bifurcations, each merging basins",
             ("bifurcation",), ("bifurcation.*",), "bifurcation.*.folds_merge_basins"),
    Headline("hallucination", "Hallucination is bounded: |f_ε − max z| ≤ ε log(1 + (N−1)e^(−Δ/ε)); curvature "
             "peaks on ties, growing like 1/ε", ("hallucination",), ("hallucination.*",),
             "hallucination.curvature_peak.slope"),
    Headline("attention", "Attention is a Gibbs average: softmax(qKᵀ/√d_k)V = ∇LSE_ε · V with ε = √d_k",
             ("attention",), ("attention.*",), "attention.gibbs.max_abs_err.*",
             literature="attention as a Hopfield/Gibbs update (Ramsauer et al. 2021)"),
    Headline("activations", "The activation table: softplus = LSE_ε(z, 0) → ReLU; sigmoid and tanh are gradients of "
             "LSE (exact); SiLU and GELU open", ("diagram",), ("diagram.activation.*",),
             "diagram.activation.sigmoid.max_abs_err", must_pass=("diagram.activation.softmax.*",)),
)


@dataclass(frozen=True)
class Line:
    """One scorecard row, ready to print."""

    headline: Headline
    verdict: str
    number: str
    evidence: str
    controls: str
    anchors: str


def _num(value) -> str:
    try:
        return f"{float(value):.4g}"
    except (TypeError, ValueError):
        return str(value)


def _cite(row: pd.Series) -> str:
    theory = "" if pd.isna(row.theory) or row.theory == "" else f" (paper: {row.theory})"
    return f"{row.claim_id} = {_num(row.measured)}{theory}"


def _controls(h: Headline, rows: pd.DataFrame) -> tuple[str, list[pd.Series]]:
    """Text on the controls and the rows whose verdict says the test cannot be trusted."""
    parts, broken = [], []
    for patterns, must in ((h.must_fail, "fail"), (h.must_pass, "pass")):
        sel = rows[[any(fnmatchcase(c, p) for p in patterns) for c in rows.claim_id]]
        sel = sel[sel.kind != "info"]
        if sel.empty:
            continue
        bad = sel[sel.verdict != must]
        broken += [r for _, r in bad.iterrows()]
        parts.append(f"{len(sel) - len(bad)} of {len(sel)} must-{must} controls {must}")
    return "; ".join(parts), broken


def score(h: Headline, summary: pd.DataFrame) -> Line:
    """Roll one headline up from the summary rows of every run (columns of summary.csv)."""
    mine = summary[[h.own(c) for c in summary.claim_id]]
    judged = mine[mine.kind != "info"]
    controls, broken = _controls(h, summary)
    anchor_rows = summary[[h._any(h.anchors, c) for c in summary.claim_id]]
    anchor_rows = anchor_rows[anchor_rows.kind != "info"]
    anchors = ", ".join(f"{r.claim_id} {r.verdict}" for _, r in anchor_rows.iterrows())
    if judged.empty:
        return Line(h, "not run", "", "no judged row in the runs reported", controls, anchors)
    counts = judged.verdict.value_counts()
    forced = int(sum(is_forced(c) for c in judged[judged.verdict == "pass"].criterion))
    evidence = (f"{len(judged)} judged: {counts.get('pass', 0)} pass ({forced} arithmetic), "
                f"{counts.get('fail', 0)} fail, {counts.get('inconclusive', 0)} inconclusive")
    fails, undecided = judged[judged.verdict == "fail"], judged[judged.verdict == "inconclusive"]
    if not fails.empty:
        verdict, number = "fail", _cite(fails.iloc[0])
    elif broken:
        verdict, number = "inconclusive", f"control {_cite(broken[0])} is {broken[0].verdict}"
    elif not undecided.empty:
        verdict, number = "inconclusive", _cite(undecided.iloc[0])
    else:
        decisive = judged[[fnmatchcase(c, h.decisive) for c in judged.claim_id]]
        verdict, number = "pass", _cite((decisive if not decisive.empty else judged).iloc[0])
    return Line(h, verdict, number, evidence, controls, anchors)


def scorecard(summaries: list[pd.DataFrame]) -> list[Line]:
    """The scorecard over the summary tables of the runs in a report (sweeps are not scored)."""
    frames = [s for s in summaries if {"claim_id", "kind", "verdict"} <= set(s.columns)]
    every = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["claim_id", "kind", "theory", "measured", "criterion", "verdict"])
    every = every.dropna(subset=["claim_id"])
    return [score(h, every) for h in HEADLINES]


def experiment_order() -> list[str]:
    """Experiments in the paper's order, for the report's sections."""
    seen: list[str] = []
    for h in HEADLINES:
        seen += [e for e in h.experiments if e not in seen]
    return seen
