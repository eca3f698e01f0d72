"""Log–log slope fits with bootstrap confidence intervals."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SlopeFit:
    slope: float
    intercept: float
    ci_low: float
    ci_high: float

    def contains(self, value: float) -> bool:
        return self.ci_low <= value <= self.ci_high


def _ols_slopes(logx: np.ndarray, logy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares slope and intercept of each row of logy [B, K] against logx [K]."""
    xc = logx - logx.mean()
    slope = (logy - logy.mean(-1, keepdims=True)) @ xc / (xc @ xc)
    return slope, logy.mean(-1) - slope * logx.mean()


def power_law(x, y, *, n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> SlopeFit:
    """Fit log y = a + s log x.  x: [K]; y: [S, K] (S seeds/repeats) or [K].

    The point estimate uses the mean of log y over repeats. The interval is a
    percentile bootstrap over repeats when S > 1 (whole curves resampled, so the
    seed-to-seed correlation along x is kept), else over (x, y) pairs.
    """
    logx = np.log(np.asarray(x, dtype=float))
    logy = np.log(np.atleast_2d(np.asarray(y, dtype=float)))
    if not np.all(np.isfinite(logy)) or not np.all(np.isfinite(logx)):
        raise ValueError("power_law needs positive, finite x and y")
    slope, intercept = _ols_slopes(logx, logy.mean(0, keepdims=True))
    rng = np.random.default_rng(seed)
    S, K = logy.shape
    if S > 1:
        pick = rng.integers(0, S, size=(n_boot, S))
        boot, _ = _ols_slopes(logx, logy[pick].mean(1))
    else:
        pick = rng.integers(0, K, size=(n_boot, K))
        lx, ly = logx[pick], logy[0][pick]
        xc = lx - lx.mean(1, keepdims=True)
        denom = (xc * xc).sum(1)
        ok = denom > 0
        boot = ((ly - ly.mean(1, keepdims=True)) * xc).sum(1)[ok] / denom[ok]
    alpha = (1 - level) / 2
    lo, hi = np.quantile(boot, [alpha, 1 - alpha])
    return SlopeFit(float(slope[0]), float(intercept[0]), float(lo), float(hi))
