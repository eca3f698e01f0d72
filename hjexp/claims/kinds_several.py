"""The kinds judged over several readings: ``at_least`` (readings, each with its interval, against a
floor), ``count`` (k of n events) and ``monotone`` (a sequence that must fall or rise).

Their rules are in kinds.RULES; each takes the terms of kinds.TERMS (conditions, note, arithmetic).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hjexp.claims.kinds import Claim, _finish, fmt

Reading = float | tuple[float, float, float]  # a value, or (value, interval low, interval high)


def _span(reading: Reading) -> tuple[float, float, float, bool]:
    """(value, low, high, has an interval) of one reading; a bare value is its own interval."""
    if isinstance(reading, tuple):
        value, low, high = (float(v) for v in reading)
        return value, low, high, True
    return float(reading), float(reading), float(reading), False


def at_least(claim_id: str, description: str, readings: Mapping[str, Reading], floor: float | Mapping[str, float],
             *, fail_below: float | None = None, strict: bool = False, interval: str = "interval",
             theory: Any = None, **terms) -> Claim:
    """Readings claimed to reach a level (a correlation, a rise, an exponent above 1/D).

    readings   — name → value or (value, low, high); ``interval`` says what low/high are (a 95 % t-interval)
    floor      — the level, one for all readings or one per name
    fail_below — a grey zone: a fail needs an upper end below this level (default: the floor)
    strict     — the claim is "> floor": a pass needs low > floor, and an upper end at the floor fails
    A pass needs every reading's lower end at or above its floor; a fail needs one reading's upper end
    below its fail level; a non-finite reading decides neither. The row's measured value and interval
    are the deciding reading's: on a fail the one farthest below, else the one closest to its floor.
    """
    if not readings:
        raise ValueError(f"{claim_id}: at_least needs at least one reading")
    if fail_below is not None and isinstance(floor, Mapping):
        raise ValueError(f"{claim_id}: a grey zone (fail_below) needs one floor for all readings")
    floors = {k: float(floor[k] if isinstance(floor, Mapping) else floor) for k in readings}
    fail_at = {k: floors[k] if fail_below is None else float(fail_below) for k in readings}
    spans = {k: _span(v) for k, v in readings.items()}
    passes = [(lo > floors[k]) if strict else (lo >= floors[k]) for k, (_, lo, _, _) in spans.items()]
    fails = [(hi <= fail_at[k]) if strict else (hi < fail_at[k]) for k, (_, _, hi, _) in spans.items()]
    verdict = "pass" if all(passes) else "fail" if any(fails) else "inconclusive"

    def margin(k: str) -> float:
        """How far the deciding end lies above its level: on a fail the farthest below decides (an undecided
        reading never does); otherwise the closest to its floor, an undecided reading first."""
        if verdict == "fail":
            m = spans[k][2] - fail_at[k]
            return m if math.isfinite(m) else math.inf
        m = spans[k][1] - floors[k]
        return m if math.isfinite(m) else -math.inf

    key = min(readings, key=margin)
    value, low, high, has_interval = spans[key]
    ge, lt = (">", "≤") if strict else ("≥", "<")
    one = len(readings) == 1 and not has_interval
    level = fmt(next(iter(floors.values()))) if len(set(floors.values())) == 1 else "its floor"
    fail_level = level if fail_below is None else fmt(float(fail_below))
    if one:
        rule = f"pass iff {key} {ge} {level}; fail iff {key} {lt} {fail_level}; else inconclusive"
    else:
        rule = (f"pass iff every reading's {interval} lies above {level} (lower end {ge} it); fail iff one's upper end "
                f"{lt} {fail_level}; else inconclusive. Readings: "
                + "; ".join(f"{k}: {fmt(v)} [{fmt(lo)}, {fmt(hi)}] vs {fmt(floors[k])}" for k, (v, lo, hi, _)
                            in spans.items()) + f"; measured: {key}")
    return _finish(claim_id, "at_least", description, f"{ge} {level}" if theory is None else theory, value,
                   (low, high) if has_interval else (math.nan, math.nan), verdict, rule, **terms)


def count(claim_id: str, description: str, holds: Sequence[bool], clearly_not: Sequence[bool] | None = None, *,
          need: float = 1.0, event: str = "event", holds_if: str = "", fails_if: str = "", theory: Any = None,
          **terms) -> Claim:
    """k of n events have a property (every fold merges basins, every atom is recovered).

    holds       — [n] the event clearly has the property
    clearly_not — [n] it clearly lacks it (default: every event not holding); the rest are undecided
    need        — the fraction of events that must hold (1: every one)
    holds_if / fails_if — what the two mean, in words with their thresholds
    Measured: the fraction that holds (NaN without events: then inconclusive).
    """
    if not 0 < need <= 1:
        raise ValueError(f"{claim_id}: need must lie in (0, 1], got {need}")
    yes = np.asarray(holds, dtype=bool)
    no = ~yes if clearly_not is None else np.asarray(clearly_not, dtype=bool)
    if yes.shape != no.shape or (yes & no).any():
        raise ValueError(f"{claim_id}: holds and clearly_not must be disjoint masks of the same events")
    n, k, m = yes.size, int(yes.sum()), int(no.sum())
    which = f" ({holds_if})" if holds_if else ""
    not_which = f" ({fails_if})" if fails_if else ""
    if need == 1:
        rule = f"pass iff every {event} qualifies{which}; fail iff one clearly does not{not_which}; else inconclusive"
    else:
        rule = (f"pass iff at least a fraction {fmt(float(need))} of the {event}s qualify{which}; fail iff so many "
                f"clearly do not{not_which} that fewer can, even counting the undecided ones; else inconclusive")
    rule += f". Measured: {k} of {n} qualify, {m} clearly do not, {n - k - m} undecided"
    if n == 0:
        verdict, rule = "inconclusive", f"no {event} to judge; {rule}"
    else:
        verdict = "pass" if k / n >= need else "fail" if (n - m) / n < need else "inconclusive"
    return _finish(claim_id, "count", description, f"{fmt(float(need))} of the {event}s" if theory is None else theory,
                   k / n if n else math.nan, (math.nan, math.nan), verdict, rule, **terms)


def monotone(claim_id: str, description: str, values: Sequence[float], *, falls: bool = True, tol: float = 0.0,
             along: str = "in the order given", theory: Any = None, **terms) -> Claim:
    """A sequence claimed to fall (``falls``) or rise at every step, in the order given.

    tol — a step may move the wrong way by this fraction (ratio ≤ 1 + tol when falling, ≥ 1 − tol rising)
    Measured: the worst ratio of successive values (the largest when falling, the smallest when rising).
    Values are compared as products, so zeros are allowed.
    """
    v = np.asarray(values, dtype=float)
    before, after = v[:-1], v[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = after / before
    if falls:
        steps_ok, ends_wrong = after <= (1 + tol) * before, v[-1] >= v[0] if len(v) else False
        worst = float(ratios.max()) if len(ratios) else math.nan
    else:
        steps_ok, ends_wrong = after >= (1 - tol) * before, v[-1] <= v[0] if len(v) else False
        worst = float(ratios.min()) if len(ratios) else math.nan
    way, wrong = ("falls", "lower") if falls else ("rises", "higher")
    bound = f"{'≤' if falls else '≥'} {fmt(1 + tol if falls else 1 - tol)}"
    rule = (f"pass iff it {way} at every step {along} (each ratio of successive values {bound}; measured: the "
            f"{'largest' if falls else 'smallest'}, {fmt(worst)}); fail iff it ends no {wrong} than it began "
            f"({fmt(float(v[0])) if len(v) else '—'} → {fmt(float(v[-1])) if len(v) else '—'}); else inconclusive")
    if len(v) < 2 or not np.all(np.isfinite(v)):
        verdict, rule = "inconclusive", f"fewer than two finite values, so nothing to judge; {rule}"
    else:
        verdict = "pass" if steps_ok.all() else "fail" if ends_wrong else "inconclusive"
    return _finish(claim_id, "monotone", description, f"{way} at every step" if theory is None else theory, worst,
                   (math.nan, math.nan), verdict, rule, **terms)
