"""Slope estimates a verdict can rest on.

Two situations, two methods (docs/theory.md §5, "How a verdict is reached"):

* replicated data (seeds that redraw the data): one least-squares slope per seed and a
  Student-t interval over seeds — its coverage is tested by simulation
  (tests/test_claims_stats.py); a percentile bootstrap over 3–5 seeds under-covers;
* a deterministic sequence (a fixed grid, no noise): no interval at all. We report the local
  slopes between successive points and fit only the range where they have stabilised.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class SlopeEstimate:
    """A log–log slope and what a rule may judge it by.

    ``low``/``high`` is a confidence interval when ``deterministic`` is False, and the range of
    the stabilised local slopes when it is True (then it is no interval and is not written into
    ci_low/ci_high). ``method`` says in words how it was obtained, for the criterion column.
    """

    slope: float
    low: float
    high: float
    method: str
    deterministic: bool = False
    intercept: float = math.nan

    @property
    def decided(self) -> bool:
        return math.isfinite(self.low) and math.isfinite(self.high)

    @property
    def ci(self) -> tuple[float, float]:
        return (math.nan, math.nan) if self.deterministic else (self.low, self.high)


def _ols(logx: np.ndarray, logy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slope and intercept of each row of logy [S, K] against logx [K]."""
    xc = logx - logx.mean()
    slope = (logy - logy.mean(-1, keepdims=True)) @ xc / (xc @ xc)
    return slope, logy.mean(-1) - slope * logx.mean()


def _logs(x, y) -> tuple[np.ndarray, np.ndarray]:
    logx = np.log(np.asarray(x, dtype=float))
    logy = np.log(np.atleast_2d(np.asarray(y, dtype=float)))
    if logy.shape[-1] != logx.shape[0]:
        raise ValueError(f"y has {logy.shape[-1]} points per replicate, x has {logx.shape[0]}")
    if not (np.all(np.isfinite(logx)) and np.all(np.isfinite(logy))):
        raise ValueError("slope fits need positive, finite x and y")
    return logx, logy


def seed_slope(x, y, *, level: float = 0.95) -> SlopeEstimate:
    """Slope of log y vs log x over independent replicates.  x: [K]; y: [S, K] or [K].

    S ≥ 2: the mean of the per-seed slopes with a t-interval over seeds (S − 1 df): the seeds
    are the independent units, so the interval needs no assumption about how errors at
    different x are correlated within one seed. S = 1: the ordinary regression interval
    (K − 2 df), which assumes independent errors across x — valid when each x has its own data.
    """
    y = np.atleast_2d(np.asarray(y, dtype=float))
    keep = np.all(np.isfinite(y) & (y > 0), axis=-1)  # a diverged replicate must not poison the fit
    dropped = "" if keep.all() else f"; {int((~keep).sum())} of {len(keep)} replicates dropped (non-finite or ≤ 0)"
    if not keep.any():
        return SlopeEstimate(math.nan, math.nan, math.nan, "no finite replicate" + dropped)
    logx, logy = _logs(x, y[keep])
    S, K = logy.shape
    if K < 2 or np.ptp(logx) == 0:
        return SlopeEstimate(math.nan, math.nan, math.nan, "fewer than two distinct x: no slope")
    slopes, intercepts = _ols(logx, logy)
    q = 1 - (1 - level) / 2
    if S >= 2:
        mean = float(slopes.mean())
        half = float(stats.t.ppf(q, S - 1) * slopes.std(ddof=1) / math.sqrt(S))
        method = f"mean of {S} per-seed least-squares slopes over {K} points, {level:.0%} t-interval over seeds{dropped}"
        return SlopeEstimate(mean, mean - half, mean + half, method, intercept=float(intercepts.mean()))
    slope = float(slopes[0])
    if K < 3:
        return SlopeEstimate(slope, math.nan, math.nan, "one replicate and two points: no interval",
                             intercept=float(intercepts[0]))
    resid = logy[0] - (intercepts[0] + slope * logx)
    se = math.sqrt(float(resid @ resid) / (K - 2) / float(((logx - logx.mean()) ** 2).sum()))
    half = float(stats.t.ppf(q, K - 2)) * se
    method = f"one replicate: least squares over {K} points, {level:.0%} regression t-interval{dropped}"
    return SlopeEstimate(slope, slope - half, slope + half, method, intercept=float(intercepts[0]))


def local_slopes(x, y) -> np.ndarray:
    """Slopes between successive points, in the order given.  [K − 1]."""
    logx, logy = _logs(x, y)
    return np.diff(logy[0]) / np.diff(logx)


def stable_tail(local: np.ndarray, tol: float) -> int:
    """Index where the stabilised tail of ``local`` starts, or −1 if it has none.

    The tail is the longest run of local slopes at the largest x in which successive local
    slopes differ by at most ``tol``; it must hold at least two local slopes (three points).
    """
    start = len(local) - 1
    while start > 0 and abs(local[start] - local[start - 1]) <= tol:
        start -= 1
    return start if len(local) - start >= 2 else -1


def deterministic_slope(x, y, *, tol: float, toward: str = "large") -> SlopeEstimate:
    """Slope of a deterministic sequence, fitted on the range where local slopes have stabilised.

    ``toward`` names the asymptotic end: ``large`` x (N → ∞) or ``small`` x (ε → 0).
    """
    if toward not in ("large", "small"):
        raise ValueError(f"toward must be 'large' or 'small', got {toward!r}")
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    order = np.argsort(x if toward == "large" else -x)  # the asymptotic end last
    x, y = x[order], y[order]
    local = local_slopes(x, y)
    listed = ", ".join(f"{s:.3g}" for s in local)
    start = stable_tail(local, tol) if len(local) else -1
    if start < 0:
        return SlopeEstimate(float(local[-1]) if len(local) else math.nan, math.nan, math.nan,
                             f"deterministic; local slopes ({listed}) have not stabilised "
                             f"(last two differ by more than {tol:.3g})", deterministic=True)
    tail = local[start:]
    fit, intercept = _ols(np.log(x[start:]), np.log(y[start:])[None])
    lo_x, hi_x = sorted((x[start], x[-1]))
    method = (f"deterministic; fit over x ∈ [{lo_x:.4g}, {hi_x:.4g}], where successive local slopes "
              f"differ by ≤ {tol:.3g}; local slopes there {tail.min():.3g}…{tail.max():.3g} (all: {listed})")
    return SlopeEstimate(float(fit[0]), float(tail.min()), float(tail.max()), method, deterministic=True,
                         intercept=float(intercept[0]))
