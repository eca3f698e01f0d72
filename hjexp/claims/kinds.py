"""Claim kinds and their rules: what `pass`, `fail` and `inconclusive` mean for each.

| kind          | the paper says              | pass                          | fail                        |
| exact         | an identity                 | |error| ≤ tol                 | otherwise                   |
| bound         | an inequality               | measured ≤ bound (+ slack)    | otherwise                   |
| at_least      | readings reach a level      | every interval ≥ the floor    | one entirely below          |
| count         | every (k of n) event        | ≥ need of the events hold     | too many clearly do not     |
| monotone      | a sequence falls (rises)    | it does at every step         | it ends no lower            |
| upper_rate    | O(n^a), a < 0               | decay ≥ (1 − δ)|a| fast       | decay significantly slower  |
| attained_rate | rate attained / exponent θ  | interval inside a band of θ   | interval disjoint from it   |
| info          | —                           | never judged                  | never judged                |

at_least, count and monotone live in kinds_several.py. Every rule returns a :class:`Claim` — one
summary.csv row whose ``criterion`` states the rule with its numbers, so a reader never has to
look the rule up. Every judged kind also takes the keywords of :data:`TERMS` (conditions that gate
the verdict, a note, the arithmetic mark); ``custom`` is left for a rule none of them states, and
its row says why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import astuple, dataclass, fields
from typing import Any

from hjexp.claims.stats import SlopeEstimate

KINDS = ("exact", "bound", "at_least", "count", "monotone", "upper_rate", "attained_rate", "info")
VERDICTS = ("pass", "fail", "inconclusive", "info")

RULES = {
    "exact": "pass iff |error| ≤ tol; fail otherwise",
    "bound": "pass iff measured ≤ bound (+ stated slack); fail otherwise",
    "at_least": "pass iff every reading's interval (or value) lies at or above its floor; fail iff one lies "
                "entirely below the fail level (the floor unless a grey zone is stated); else inconclusive",
    "count": "pass iff at least the stated fraction (default all) of the n events hold; fail iff so many clearly "
             "do not that fewer can, even counting the undecided ones; else inconclusive (also when n = 0)",
    "monotone": "pass iff the sequence falls (rises) at every step, each ratio of successive values ≤ 1 (≥ 1) up "
                "to a stated tolerance; fail iff it ends no lower (higher) than it began; else inconclusive",
    "upper_rate": "pass iff the slope's interval lies at or below (1 − δ)·a (decay at least (1 − δ)|a| fast); "
                  "fail iff it lies entirely above; else inconclusive",
    "attained_rate": "pass iff the interval lies inside [lo, hi]·θ (default [0.8, 1.25]); "
                     "fail iff it is disjoint from that band; else inconclusive",
    "info": "reported, never judged",
}
MEANING = {
    "exact": ("the identity holds to the stated tolerance", "the two independent computations disagree"),
    "bound": ("the inequality holds on every point measured", "a measured value exceeds the bound"),
    "at_least": ("every reading reaches its level, interval included", "a reading clearly stays below it"),
    "count": ("enough of the events have the property", "too many events clearly lack it"),
    "monotone": ("the sequence moves the stated way at every step", "it ends where it began or beyond, the wrong way"),
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


Conditions = Mapping[str, bool]  # a condition in words, with its measured numbers → whether it holds

TERMS = {
    "requires": "conditions without which the rule cannot be applied: one unmet → inconclusive",
    "also": "further conditions of the statement itself: one unmet → fail",
    "pass_requires": "conditions a pass needs (e.g. every entry could be judged): one unmet → a pass is inconclusive",
    "fail_requires": "conditions a fail needs (a shortfall is evidence only with them): one unmet → a fail is "
                     "inconclusive",
    "note": "a sentence appended to the criterion (which reading of the paper's statement the rule tests)",
    "arithmetic": "why a pass is forced by mathematics: the row then says its pass is no evidence by itself",
}


def _said(conditions: Conditions) -> str:
    return " and ".join(f"{c} ({'yes' if ok else 'no'})" for c, ok in conditions.items())


def _unmet(conditions: Conditions | None) -> bool:
    return bool(conditions) and not all(conditions.values())


def _finish(claim_id: str, kind: str, description: str, theory: Any, measured: float, ci: tuple[float, float],
            verdict: str, rule: str, *, requires: Conditions | None = None, also: Conditions | None = None,
            pass_requires: Conditions | None = None, fail_requires: Conditions | None = None, note: str = "",
            arithmetic: str = "") -> Claim:
    """Apply the conditions of :data:`TERMS` to a kind's verdict and write each, with whether it held, into the
    criterion. ``requires`` is applied last, so an unmet precondition always leaves the row inconclusive."""
    if also:
        rule += f"; a pass also needs: {_said(also)}, else fail"
        verdict = "fail" if _unmet(also) else verdict
    if pass_requires:
        rule += f"; a pass needs: {_said(pass_requires)}, else inconclusive"
        verdict = "inconclusive" if verdict == "pass" and _unmet(pass_requires) else verdict
    if fail_requires:
        rule += f"; a fail needs: {_said(fail_requires)}, else inconclusive"
        verdict = "inconclusive" if verdict == "fail" and _unmet(fail_requires) else verdict
    if requires:
        rule += f"; judged only if: {_said(requires)}, else inconclusive"
        verdict = "inconclusive" if _unmet(requires) else verdict
    if note:
        rule += f". {note}"
    return Claim(claim_id, kind, description, theory, _num(measured), _num(ci[0]), _num(ci[1]),
                 _forced(rule, arithmetic), verdict)


def exact(claim_id: str, description: str, error: float, *, tol: float, theory: Any = 0,
          what: str = "|error|", **terms) -> Claim:
    """An identity: ``error`` is a non-negative discrepancy between independent computations.

    ``arithmetic`` — when the identity holds by construction or by algebra (a solver checking itself, a
    relation that every input obeys), say why: the row then tells the reader its pass is no evidence.
    ``also`` — further checks of the identity (a solver converged, an inertia changed). Other terms: TERMS.
    """
    error = _num(error)
    if not math.isfinite(error):
        verdict, rule = "inconclusive", f"{what} is not finite, so it cannot be judged (pass iff ≤ {fmt(tol)})"
    else:
        verdict, rule = ("pass" if abs(error) <= tol else "fail"), f"pass iff {what} ≤ {fmt(tol)}; fail otherwise"
    return _finish(claim_id, "exact", description, theory, error, (math.nan, math.nan), verdict, rule, **terms)


def bound(claim_id: str, description: str, measured: float, limit: float, *, slack: float = 0.0,
          theory: Any = None, what: str = "measured", **terms) -> Claim:
    """An inequality ``measured ≤ limit (+ slack)``.

    ``arithmetic`` — when the bound holds for every input by arithmetic alone, say why here:
    the row then tells the reader that its pass is no evidence by itself. Other terms: TERMS.
    """
    measured = _num(measured)
    rule = f"pass iff {what} ≤ {fmt(limit)}" + (f" + slack {fmt(slack)}" if slack else "") + "; fail otherwise"
    if not math.isfinite(measured):
        verdict = "inconclusive"
        rule = f"{what} is not finite, so it cannot be judged; " + rule
    else:
        verdict = "pass" if measured <= limit + slack else "fail"
    return _finish(claim_id, "bound", description, fmt(limit) if theory is None else theory, measured,
                   (math.nan, math.nan), verdict, rule, **terms)


def _interval_words(est: SlopeEstimate) -> str:
    return "local-slope range" if est.deterministic else "interval"


def upper_rate(claim_id: str, description: str, a: float, est: SlopeEstimate, *, delta: float = 0.1,
               theory: Any = None, steeper: str = "", steep: float = 1.25, **terms) -> Claim:
    """O(x^a), a < 0: a fast decay never fails; a significantly slower one does.

    ``arithmetic`` — when the slope is forced by the construction (e.g. π → uniform at large ε), say why.
    An ``a`` that is not a decay is an error, unless it comes from data and ``requires`` says so
    (unmet: the row is inconclusive). ``steeper`` — why a decay entirely steeper than ``steep``·a cannot
    be the asymptotic rate (no estimator beats a on a lower-bound family, so it is pre-asymptotic);
    given, such a pass is inconclusive. Other terms: TERMS.
    """
    if not a < 0:
        if not _unmet(terms.get("requires")):  # only a precondition that failed excuses it
            raise ValueError(f"{claim_id}: an upper rate needs a < 0, got {a}")
        rule = f"the stated exponent {fmt(a)} is not a decay, so there is no O(·) rate to judge. Slope: {est.method}"
        return _finish(claim_id, "upper_rate", description, fmt(a) if theory is None else theory, est.slope, est.ci,
                       "inconclusive", rule, **terms)
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
    if steeper:
        end = steep * a
        rule += (f". Exception: a {words} entirely steeper than {fmt(steep)}·a = {fmt(end)} is inconclusive, not "
                 f"pass: {steeper}")
        verdict = "inconclusive" if verdict == "pass" and est.high < end else verdict
    return _finish(claim_id, "upper_rate", description, fmt(a) if theory is None else theory, est.slope, est.ci,
                   verdict, rule, **terms)


def attained_rate(claim_id: str, description: str, theta: float, est: SlopeEstimate, *,
                  band: tuple[float, float] = (0.8, 1.25), theory: Any = None, steeper: str = "",
                  **terms) -> Claim:
    """An exponent claimed equal to θ (or a rate claimed attained/tight); ``arithmetic`` as for upper_rate.

    ``steeper`` — why an interval entirely beyond the band's end farther from 0 (a steeper rate) cannot
    contradict θ, e.g. on a lower-bound family no estimator beats θ for large n, so such a range is
    pre-asymptotic. Given, such an interval is inconclusive, not fail. Other terms: TERMS.
    """
    lo_band, hi_band = sorted((band[0] * theta, band[1] * theta))
    words = _interval_words(est)
    rule = (f"pass iff the {words} lies inside [{fmt(band[0])}, {fmt(band[1])}]·{fmt(theta)} = "
            f"[{fmt(lo_band)}, {fmt(hi_band)}]; fail iff it is disjoint from it; else inconclusive. "
            f"Estimate: {est.method}")
    far = max(lo_band, hi_band, key=abs)
    beyond = est.high < far if far < 0 else est.low > far  # entirely steeper than the band
    if steeper:
        rule += f". Exception: an {words} entirely beyond {fmt(far)} (steeper than the band) is inconclusive, not fail: {steeper}"
    if not est.decided:
        verdict = "inconclusive"
    elif lo_band <= est.low and est.high <= hi_band:
        verdict = "pass"
    elif est.high < lo_band or est.low > hi_band:
        verdict = "inconclusive" if steeper and beyond else "fail"
    else:
        verdict = "inconclusive"
    return _finish(claim_id, "attained_rate", description, fmt(theta) if theory is None else theory, est.slope,
                   est.ci, verdict, rule, **terms)


def info(claim_id: str, description: str, measured: float, *, why: str, theory: Any = "",
         ci_low: float = math.nan, ci_high: float = math.nan) -> Claim:
    """Reported, never judged — ``why`` says why (best-of-seeds, the authors' protocol, a diagnostic)."""
    return Claim(claim_id, "info", description, theory, _num(measured), _num(ci_low), _num(ci_high),
                 f"reported, not judged: {why}", "info")


def custom(claim_id: str, kind: str, description: str, theory: Any, measured: float, *, verdict: str,
           criterion: str, because: str, ci_low: float = math.nan, ci_high: float = math.nan,
           arithmetic: str = "") -> Claim:
    """A rule no kind states (none is set this way today); ``criterion`` must state it with its numbers, and
    ``because`` why no kind (with the conditions of TERMS) can: the row then reads "custom because …"."""
    if not because:
        raise ValueError(f"claim {claim_id}: a custom verdict must say why no kind states its rule")
    return Claim(claim_id, kind, description, theory, _num(measured), _num(ci_low), _num(ci_high),
                 _forced(f"custom because {because}: {criterion}", arithmetic), verdict)
