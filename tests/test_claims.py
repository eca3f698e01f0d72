"""Claim kinds give pass, fail and inconclusive where they should; slope intervals cover."""

import math

import numpy as np
import pytest

from hjexp import claims as C
from hjexp.claims.stats import stable_tail


def est(slope, lo, hi, deterministic=False):
    return C.SlopeEstimate(slope, lo, hi, "constructed", deterministic=deterministic)


@pytest.mark.parametrize("error,verdict", [(1e-15, "pass"), (1e-12, "pass"), (2e-12, "fail"), (math.nan, "inconclusive")])
def test_exact(error, verdict):
    c = C.exact("x", "d", error, tol=1e-12)
    assert c.verdict == verdict and "1e-12" in c.criterion


@pytest.mark.parametrize("measured,verdict", [(0.5, "pass"), (1.0, "pass"), (1.01, "fail"), (math.inf, "inconclusive")])
def test_bound(measured, verdict):
    c = C.bound("x", "d", measured, 1.0, arithmetic="a variance of unit vectors is ≤ 1")
    assert c.verdict == verdict
    assert "arithmetic" in c.criterion


def test_bound_slack():
    assert C.bound("x", "d", 1.05, 1.0, slack=0.1).verdict == "pass"


@pytest.mark.parametrize("lo,hi,verdict", [
    (-0.60, -0.40, "pass"),          # decays faster than the O(·) rate: never a failure
    (-0.36, -0.31, "pass"),          # at the rate, within δ
    (-0.32, -0.20, "inconclusive"),  # straddles (1 − δ)·a = −0.3
    (-0.25, -0.10, "fail"),          # significantly slower
    (math.nan, math.nan, "inconclusive"),
])
def test_upper_rate(lo, hi, verdict):
    c = C.upper_rate("x", "d", -1 / 3, est((lo + hi) / 2, lo, hi), delta=0.1)
    assert c.verdict == verdict, c.criterion
    assert "-0.3" in c.criterion  # the threshold is written with its number


def test_upper_rate_needs_negative_exponent():
    with pytest.raises(ValueError):
        C.upper_rate("x", "d", 0.5, est(0, 0, 0))


@pytest.mark.parametrize("lo,hi,verdict", [
    (-0.36, -0.30, "pass"),          # inside [1.25, 0.8]·(−1/3) = [−0.4167, −0.2667]
    (-0.30, -0.20, "inconclusive"),  # overlaps the band's edge
    (-0.20, -0.10, "fail"),          # disjoint
    (-0.90, -0.50, "fail"),
])
def test_attained_rate_negative_theta(lo, hi, verdict):
    assert C.attained_rate("x", "d", -1 / 3, est((lo + hi) / 2, lo, hi)).verdict == verdict


def test_attained_rate_positive_theta_and_band():
    assert C.attained_rate("x", "d", 0.5, est(0.5, 0.45, 0.55)).verdict == "pass"
    assert C.attained_rate("x", "d", 0.5, est(0.5, 0.45, 0.55), band=(0.95, 1.05)).verdict == "inconclusive"


def test_deterministic_estimate_writes_no_interval():
    x = 2.0 ** np.arange(2, 10)
    c = C.upper_rate("x", "d", -1.0, C.deterministic_slope(x, 3 * x ** -1.0, tol=0.1))
    assert c.verdict == "pass" and math.isnan(c.ci_low) and math.isnan(c.ci_high)
    assert "local slopes" in c.criterion


def test_info_and_kind_checks():
    assert C.info("x", "d", 1.0, why="best of seeds").verdict == "info"
    with pytest.raises(ValueError):
        C.custom("x", "exact", "d", 0, 0, verdict="info", criterion="c")
    with pytest.raises(ValueError):
        C.custom("x", "nonsense", "d", 0, 0, verdict="pass", criterion="c")


def test_spec_patterns():
    spec = C.Spec("rate.minimax.hj.slope.d{d}", "attained_rate", "−1/(d+2)", "about")
    assert spec.matches("rate.minimax.hj.slope.d3")
    assert not spec.matches("rate.minimax.hj.slope.d3.extra")
    assert not spec.matches("rate.minimax.knn.slope.d3")


def test_stable_tail_and_deterministic_slope():
    # pre-asymptotic curvature at small x, then a clean x^-1/2 tail
    x = 2.0 ** np.arange(0, 12)
    y = x ** -0.5 * (1 + 4 / x)
    local = C.local_slopes(x, y)
    start = stable_tail(local, 0.02)
    assert 0 < start < len(local) - 1
    fit = C.deterministic_slope(x, y, tol=0.02)
    assert abs(fit.slope + 0.5) < 0.03 and fit.low <= fit.slope <= fit.high
    # ε → 0 asymptotics: the small-x end is the asymptotic one
    eps = np.logspace(-4, 0, 9)
    gap = eps * (1 + eps)  # linear as ε → 0
    small = C.deterministic_slope(eps, gap, tol=0.02, toward="small")
    assert abs(small.slope - 1) < 0.01
    # never stabilises: undecided
    assert not C.deterministic_slope([1, 2, 4, 8], [1, 0.5, 0.05, 0.04], tol=0.01).decided


def _coverage(seeds: int, trials: int = 600) -> float:
    rng = np.random.default_rng(seeds)
    x = 2.0 ** np.arange(6, 13)
    true = -0.25
    hits = 0
    for _ in range(trials):
        # seeds redraw the data: per-seed multiplicative noise plus a seed-level offset and tilt
        noise = rng.normal(0, 0.15, (seeds, len(x))) + rng.normal(0, 0.1, (seeds, 1))
        tilt = rng.normal(0, 0.03, (seeds, 1)) * np.log(x / x[0])
        y = 2.0 * x ** true * np.exp(noise + tilt)
        fit = C.seed_slope(x, y, level=0.95)
        hits += fit.low <= true <= fit.high
    return hits / trials


@pytest.mark.parametrize("seeds", [3, 5])
def test_seed_interval_coverage(seeds):
    """The nominal 95 % interval covers the true slope 90–99 % of the time (≥ 500 simulated sets)."""
    assert 0.90 <= _coverage(seeds) <= 0.99


def test_single_replicate_uses_regression_interval():
    x = 2.0 ** np.arange(1, 9)
    y = x ** -1.0 * np.exp(np.random.default_rng(0).normal(0, 0.05, len(x)))
    fit = C.seed_slope(x, y)
    assert fit.decided and fit.low < -1.0 < fit.high and "regression" in fit.method


def test_a_diverged_seed_is_dropped_not_propagated():
    x = 2.0 ** np.arange(4, 10)
    y = np.vstack([x ** -0.5 * c for c in (1.0, 1.1, 0.9, 1.05)])
    y[2, 3] = np.nan
    fit = C.seed_slope(x, y)
    assert fit.decided and abs(fit.slope + 0.5) < 1e-9 and "1 of 4 replicates dropped" in fit.method


def test_every_kind_can_mark_a_forced_pass_and_the_mark_reads_back():
    est = C.SlopeEstimate(slope=-1.0, low=-1.1, high=-0.9, method="test")
    rows = [C.exact("a", "", 0.0, tol=1e-9, arithmetic="by construction"),
            C.bound("b", "", 0.5, 1.0, arithmetic="Popoviciu"),
            C.upper_rate("c", "", -1.0, est, arithmetic="π → uniform"),
            C.attained_rate("d", "", -1.0, est, arithmetic="fixed W at large ε"),
            C.custom("e", "bound", "", "", 0.0, verdict="pass", criterion="rule", arithmetic="why")]
    assert all(r.verdict == "pass" and C.is_forced(r.criterion) for r in rows)
    plain = [C.exact("a", "", 0.0, tol=1e-9), C.bound("b", "", 0.5, 1.0), C.upper_rate("c", "", -1.0, est)]
    assert not any(C.is_forced(r.criterion) for r in plain)
    assert not C.is_forced(float("nan"))
