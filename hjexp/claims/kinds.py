"""Claim kinds and their rules: what `pass`, `fail` and `inconclusive` mean for each.

| kind          | the paper says              | pass                          | fail                        |
| exact         | an identity                 | |error| ≤ tol                 | otherwise                   |
| bound         | an inequality               | measured ≤ bound (+ slack)    | otherwise                   |
| upper_rate    | O(n^a), a < 0               | decay ≥ (1 − δ)|a| fast       | decay significantly slower  |
| attained_rate | rate attained / exponent θ  | interval inside a band of θ   | interval disjoint from it   |
| info          | —                           | never judged                  | never judged                |

Every rule returns a :class:`Claim` — one summary.csv row whose ``criterion`` states the rule
with its numbers, so a reader never has to look the rule up.
"""

from __future__ import annotations

import math
from dataclasses import astuple, dataclass, fields
from typing import Any

from hjexp.claims.stats import SlopeEstimate

KINDS = ("exact", "bound", "upper_rate", "attained_rate", "info")
VERDICTS = ("pass", "fail", "inconclusive", "info")

RULES = {
    "exact": "pass iff |error| ≤ tol; fail otherwise",
    "bound": "pass iff measured ≤ bound (+ stated slack); fail otherwise",
    "upper_rate": "pass iff the slope's interval lies at or below (1 − δ)·a (decay at least (1 − δ)|a| fast); "
                  "fail iff it lies entirely above; else inconclusive",
    "attained_rate": "pass iff the interval lies inside [lo, hi]·θ (default [0.8, 1.25]); "
                     "fail iff it is disjoint from that band; else inconclusive",
    "info": "reported, never judged",
}
MEANING = {
    "exact": ("the identity holds to the stated tolerance", "the two independent computations disagree"),
    "bound": ("the inequality holds on every point measured", "a measured value exceeds the bound"),
    "upper_rate": ("the error decays at least as fast as the O(·) rate (faster is fine)",
                   "the error decays significantly slower than the stated rate"),
    "attained_rate": ("the measured exponent agrees with θ within the band", "the measured exponent is clearly not θ"),
    "info": ("—", "—"),
}


@dataclass(frozen=True)
class Claim:
    """One row of summary.csv."""

    claim_id: str
    kind: str
    description: str
    theory: Any
    measured: float
    ci_low: float
    ci_high: float
    criterion: str
    verdict: str

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"claim {self.claim_id}: kind {self.kind!r} is not one of {KINDS}")
        if self.verdict not in VERDICTS:
            raise ValueError(f"claim {self.claim_id}: verdict {self.verdict!r} is not one of {VERDICTS}")
        if (self.kind == "info") != (self.verdict == "info"):
            raise ValueError(f"claim {self.claim_id}: kind info goes with verdict info and only with it")

    def row(self) -> dict:
        return dict(zip(COLUMNS, astuple(self)))


COLUMNS = [f.name for f in fields(Claim)]


FORCED = "a pass is arithmetic"


def _forced(rule: str, arithmetic: str) -> str:
    """Append the phrase that marks a pass as forced by mathematics (``is_forced`` reads it back)."""
    return f"{rule} ({FORCED}: {arithmetic})" if arithmetic else rule


def is_forced(criterion: Any) -> bool:
    """True when a row's criterion says its pass is forced by mathematics, so it is no evidence by itself.

    The report counts such passes apart from the informative ones.
    """
    return isinstance(criterion, str) and f"({FORCED}:" in criterion


def fmt(value: float) -> str:
    """A number as written in a criterion: four significant digits, no float noise."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def exact(claim_id: str, description: str, error: float, *, tol: float, theory: Any = 0,
          what: str = "|error|", arithmetic: str = "") -> Claim:
    """An identity: ``error`` is a non-negative discrepancy between independent computations.

    ``arithmetic`` — when the identity holds by construction or by algebra (a solver checking itself, a
    relation that every input obeys), say why: the row then tells the reader its pass is no evidence.
    """
    error = _num(error)
    if not math.isfinite(error):
        verdict, rule = "inconclusive", f"{what} is not finite, so it cannot be judged (pass iff ≤ {fmt(tol)})"
    else:
        verdict, rule = ("pass" if abs(error) <= tol else "fail"), f"pass iff {what} ≤ {fmt(tol)}; fail otherwise"
    return Claim(claim_id, "exact", description, theory, error, math.nan, math.nan, _forced(rule, arithmetic), verdict)


def bound(claim_id: str, description: str, measured: float, limit: float, *, slack: float = 0.0,
          arithmetic: str = "", theory: Any = None) -> Claim:
    """An inequality ``measured ≤ limit (+ slack)``.

    ``arithmetic`` — when the bound holds for every input by arithmetic alone, say why here:
    the row then tells the reader that its pass is no evidence by itself.
    """
    measured = _num(measured)
    rule = f"pass iff measured ≤ {fmt(limit)}" + (f" + slack {fmt(slack)}" if slack else "") + "; fail otherwise"
    rule = _forced(rule, arithmetic)
    if not math.isfinite(measured):
        verdict = "inconclusive"
        rule = "measured is not finite, so it cannot be judged; " + rule
    else:
        verdict = "pass" if measured <= limit + slack else "fail"
    return Claim(claim_id, "bound", description, fmt(limit) if theory is None else theory, measured,
                 math.nan, math.nan, rule, verdict)


def _interval_words(est: SlopeEstimate) -> str:
    return "local-slope range" if est.deterministic else "interval"


def upper_rate(claim_id: str, description: str, a: float, est: SlopeEstimate, *, delta: float = 0.1,
               theory: Any = None, arithmetic: str = "") -> Claim:
    """O(x^a), a < 0: a fast decay never fails; a significantly slower one does.

    ``arithmetic`` — when the slope is forced by the construction (e.g. π → uniform at large ε), say why.
    """
    if not a < 0:
        raise ValueError(f"{claim_id}: an upper rate needs a < 0, got {a}")
    threshold = (1 - delta) * a
    words = _interval_words(est)
    rule = (f"pass iff the slope's {words} lies at or below (1 − {fmt(delta)})·{fmt(a)} = {fmt(threshold)} "
            f"(decay at least {1 - delta:.0%} of the stated rate; faster is fine); fail iff it lies entirely above; "
            f"else inconclusive. Slope: {est.method}")
    if not est.decided:
        verdict = "inconclusive"
    elif est.high <= threshold:
        verdict = "pass"
    elif est.low > threshold:
        verdict = "fail"
    else:
        verdict = "inconclusive"
    lo, hi = est.ci
    return Claim(claim_id, "upper_rate", description, fmt(a) if theory is None else theory, est.slope, lo, hi,
                 _forced(rule, arithmetic), verdict)


def attained_rate(claim_id: str, description: str, theta: float, est: SlopeEstimate, *,
                  band: tuple[float, float] = (0.8, 1.25), theory: Any = None, arithmetic: str = "") -> Claim:
    """An exponent claimed equal to θ (or a rate claimed attained/tight); ``arithmetic`` as for upper_rate."""
    lo_band, hi_band = sorted((band[0] * theta, band[1] * theta))
    words = _interval_words(est)
    rule = (f"pass iff the {words} lies inside [{fmt(band[0])}, {fmt(band[1])}]·{fmt(theta)} = "
            f"[{fmt(lo_band)}, {fmt(hi_band)}]; fail iff it is disjoint from it; else inconclusive. "
            f"Estimate: {est.method}")
    if not est.decided:
        verdict = "inconclusive"
    elif lo_band <= est.low and est.high <= hi_band:
        verdict = "pass"
    elif est.high < lo_band or est.low > hi_band:
        verdict = "fail"
    else:
        verdict = "inconclusive"
    lo, hi = est.ci
    return Claim(claim_id, "attained_rate", description, fmt(theta) if theory is None else theory, est.slope,
                 lo, hi, _forced(rule, arithmetic), verdict)


def info(claim_id: str, description: str, measured: float, *, why: str, theory: Any = "",
         ci_low: float = math.nan, ci_high: float = math.nan) -> Claim:
    """Reported, never judged — ``why`` says why (best-of-seeds, the authors' protocol, a diagnostic)."""
    return Claim(claim_id, "info", description, theory, _num(measured), _num(ci_low), _num(ci_high),
                 f"reported, not judged: {why}", "info")


def custom(claim_id: str, kind: str, description: str, theory: Any, measured: float, *, verdict: str,
           criterion: str, ci_low: float = math.nan, ci_high: float = math.nan, arithmetic: str = "") -> Claim:
    """A rule the kinds above do not cover; ``criterion`` must state it with its numbers."""
    return Claim(claim_id, kind, description, theory, _num(measured), _num(ci_low), _num(ci_high),
                 _forced(criterion, arithmetic), verdict)
