"""scaling-dim: which widths a rate is fitted over, and replicate slopes pooled across settings.

A log–log fit is a rate only over widths where the RMSE still falls at its own pace. Two things end
that range, and the window stops at the first of them:

- a floor: the RMSE flattens (optimisation, float precision or ε set a floor the width cannot
  lower). Local slopes are taken between successive widths on the seed-mean of log RMSE; the
  window grows from the smallest width while each new local decay rate is at least ``frac`` × the
  mean of the window's earlier ones. The rule is applied to the train RMSE and to the test RMSE
  alike: a floor in train RMSE means the model no longer fits better with width, so the fit must
  stop there even where test ≈ train (the gap rule below cannot see such a floor);
- estimation: the seed-mean test RMSE exceeds ``gap`` × the seed-mean train RMSE.

Every window keeps at least two widths (one slope per seed).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from hjexp import claims as C


def local_decay(widths, Y: np.ndarray) -> np.ndarray:
    """Local decay rates −Δ mean_s log Y / Δ log N between successive widths.  Y [S, K] → [K − 1]."""
    m = np.log(np.asarray(Y, dtype=float)).mean(0)
    return -np.diff(m) / np.diff(np.log(np.asarray(widths, dtype=float)))


def floor_end(widths, Y: np.ndarray, frac: float, skip: int = 0) -> int:
    """Number of widths (from the first) before the curve floors: the window [skip, end) keeps
    growing while each local decay rate is ≥ ``frac`` × the mean of the window's earlier ones."""
    a = local_decay(widths, Y)
    end = min(skip + 2, len(widths))
    for k in range(skip + 1, len(a)):
        if a[k] < frac * a[skip:k].mean():
            break
        end = k + 2
    return end


def gap_end(test: np.ndarray, train: np.ndarray, gap: float) -> int:
    """Number of widths from the first whose seed-mean test RMSE ≤ gap × seed-mean train RMSE."""
    ok = test.mean(0) <= gap * train.mean(0)
    return len(ok) if ok.all() else int(np.argmin(ok))


def window(widths, test: np.ndarray, train: np.ndarray, *, frac: float, gap: float, skip: int = 0) -> tuple[int, str]:
    """(end, why): the fit uses widths[skip:end]; ``why`` names the rule that ended it."""
    ends = {"a floor in test RMSE": floor_end(widths, test, frac, skip),
            "a floor in train RMSE": floor_end(widths, train, frac, skip),
            f"test RMSE > {gap:g} × train RMSE": gap_end(test, train, gap)}
    end = max(min(ends.values()), min(skip + 2, len(widths)))
    if end >= len(widths):
        return end, "no floor and no gap within the measured widths"
    return end, "stopped by " + " and ".join(k for k, v in ends.items() if v <= end)


def rule_words(frac: float, gap: float) -> str:
    return (f"window rule (tool's thresholds judge.floor_frac = {frac:g}, judge.max_gap = {gap:g}): from the "
            f"smallest width up, stopping at a floor — a local decay rate of the seed-mean log RMSE below "
            f"{frac:g} × the mean of the window's earlier ones, in test or in train RMSE — or where test RMSE "
            f"exceeds {gap:g} × train RMSE; at least two widths")


def replicate_slopes(widths, Y: np.ndarray) -> np.ndarray:
    """Least-squares slope of log Y against log N per replicate (row).  Y [R, K] → [R]."""
    lx = np.log(np.asarray(widths, dtype=float))
    ly = np.log(np.asarray(Y, dtype=float))
    xc = lx - lx.mean()
    return (ly - ly.mean(-1, keepdims=True)) @ xc / (xc @ xc)


def pooled_estimate(values: np.ndarray, level: float, what: str) -> C.SlopeEstimate:
    """Mean of independent replicate values with a Student-t interval (R − 1 df)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) < 2:
        return C.SlopeEstimate(float(v.mean()) if len(v) else math.nan, math.nan, math.nan,
                               f"{what}: fewer than two replicates, no interval")
    mean = float(v.mean())
    half = float(stats.t.ppf(1 - (1 - level) / 2, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    return C.SlopeEstimate(mean, mean - half, mean + half,
                           f"{what}: mean over {len(v)} replicates, {level:.0%} t-interval over them")
