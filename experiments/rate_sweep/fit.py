"""rate-sweep, slopes from results.csv: the range where they have stabilised, then a t-interval.

Replicated data (every seed redraws target and samples), so the slope is hjexp.claims.seed_slope
over seeds. Which n to fit: small n are pre-asymptotic (few atoms, overfitting, cells larger than
the box), so the fit window is the largest-n run of sizes on which the slope has stabilised:

    start from the whole grid; the window is stable when the per-seed slopes of its lower half
    and its upper half (sharing the middle size) differ by at most tol = stable_tol·|a|, i.e. the
    t-interval over seeds of (upper − lower) meets [−tol, tol]; otherwise drop the smallest n
    and try again, down to ``min_sizes`` sizes.

A window that never stabilises gives no verdict (inconclusive): its slope is not the asymptotic one.
Plot and judge both call :func:`slope_table`, so figure and summary agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from hjexp.claims import SlopeEstimate, seed_slope

from .contract import Family


@dataclass(frozen=True)
class Fit:
    est: SlopeEstimate
    ns: np.ndarray  # [K] every size on the grid
    Y: np.ndarray  # [S, K] RMSE per seed and size
    start: int  # first size of the fitted window
    stable: bool
    curvature: tuple[float, float, float]  # upper − lower half slope: mean and its interval (fitted window)

    @property
    def window(self) -> tuple[float, float]:
        return float(self.ns[self.start]), float(self.ns[-1])

    def words(self, tol: float, min_sizes: int) -> str:
        lo, hi = self.window
        c, c_lo, c_hi = self.curvature
        head = (f"fit on n = {lo:.0f}…{hi:.0f} ({len(self.ns) - self.start} of {len(self.ns)} sizes), the "
                f"largest-n window of ≥ {min_sizes} sizes whose upper- and lower-half slopes differ by ≤ {tol:.3g} "
                f"(interval of the difference meets [−{tol:.3g}, {tol:.3g}]; here {c:+.3f} [{c_lo:+.3f}, {c_hi:+.3f}])")
        return head if self.stable else "slopes have NOT stabilised: " + head.replace("the largest-n window", "even the smallest window")


def _per_seed_slopes(x: np.ndarray, Y: np.ndarray) -> np.ndarray:
    lx, ly = np.log(x), np.log(Y)
    xc = lx - lx.mean()
    return (ly - ly.mean(-1, keepdims=True)) @ xc / (xc @ xc)  # [S]


def _t_interval(v: np.ndarray, level: float) -> tuple[float, float, float]:
    m = float(v.mean())
    if len(v) < 2:
        return m, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    return m, m - half, m + half


def fit_slope(ns, Y, *, a: float, stable_tol: float, level: float, min_sizes: int) -> Fit:
    """Slope of log RMSE vs log n on the stabilised window (module docstring).  ns [K], Y [S, K]."""
    ns, Y = np.asarray(ns, float), np.asarray(Y, float)
    tol = stable_tol * abs(a)
    last = max(0, len(ns) - min_sizes)
    for start in range(last + 1):
        x, y = ns[start:], Y[:, start:]
        half = (len(x) + 1) // 2
        diff = _per_seed_slopes(x[-half:], y[:, -half:]) - _per_seed_slopes(x[:half], y[:, :half])  # [S]
        curv = _t_interval(diff, level)
        stable = math.isfinite(curv[1]) and curv[1] <= tol and curv[2] >= -tol
        if stable or start == last:
            return Fit(seed_slope(x, y, level=level), ns, Y, start, stable, curv)
    raise AssertionError("unreachable")


def paired_ratio(a: np.ndarray, b: np.ndarray, level: float) -> tuple[float, float, float]:
    """exp of the mean of per-seed log(a/b), with its t-interval: a ratio of RMSEs on the same draws."""
    m, lo, hi = _t_interval(np.log(np.asarray(a, float) / np.asarray(b, float)), level)
    return math.exp(m), math.exp(lo) if math.isfinite(lo) else math.nan, math.exp(hi) if math.isfinite(hi) else math.nan


def reference_slope(family: str, d: int) -> float:
    """−1/(d+2) (Lipschitz) or −2/(d+4) (semiconcave-hard)."""
    return -2.0 / (d + 4) if family == Family.SEMICONCAVE_HARD else -1.0 / (d + 2)


def rmse_grid(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(ns [K], RMSE [S, K]) of one (family, model, d); only sizes every seed has."""
    table = df.pivot_table(index="seed", columns="n", values="rmse").dropna(axis=1)
    return table.columns.to_numpy(float), table.to_numpy()


def slope_table(df: pd.DataFrame, rules) -> pd.DataFrame:
    """One row per (family, model, d): the fitted slope, its interval and window."""
    out = []
    for (family, model, d), g in df.groupby(["family", "model", "d"], sort=False):
        ns, Y = rmse_grid(g)
        a = reference_slope(family, int(d))
        f = fit_slope(ns, Y, a=a, stable_tol=float(rules.stable_tol), level=float(rules.level),
                      min_sizes=int(rules.min_fit_sizes))
        out.append(dict(family=family, model=model, d=int(d), slope=f.est.slope, ci_low=f.est.low,
                        ci_high=f.est.high, n_lo=f.window[0], n_hi=f.window[1], stable=f.stable, fit=f))
    return pd.DataFrame(out)
