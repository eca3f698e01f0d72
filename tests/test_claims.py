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
        C.custom("x", "exact", "d", 0, 0, verdict="info", criterion="c", because="b")
    with pytest.raises(ValueError):
        C.custom("x", "nonsense", "d", 0, 0, verdict="pass", criterion="c", because="b")
    with pytest.raises(ValueError):  # a custom verdict must say why no kind states its rule
        C.custom("x", "bound", "d", 0, 0, verdict="pass", criterion="c", because="")
    row = C.custom("x", "bound", "d", 0, 0, verdict="pass", criterion="rule", because="no kind has it")
    assert row.criterion.startswith("custom because no kind has it: rule")


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
            C.custom("e", "bound", "", "", 0.0, verdict="pass", criterion="rule", because="test", arithmetic="why"),
            C.at_least("f", "", {"ρ": 0.95}, 0.9, arithmetic="by construction"),
            C.count("g", "", [True, True], arithmetic="d = 1"),
            C.monotone("h", "", [3.0, 2.0, 1.0], arithmetic="a sum of positive terms")]
    assert all(r.verdict == "pass" and C.is_forced(r.criterion) for r in rows)
    plain = [C.exact("a", "", 0.0, tol=1e-9), C.bound("b", "", 0.5, 1.0), C.upper_rate("c", "", -1.0, est)]
    assert not any(C.is_forced(r.criterion) for r in plain)
    assert not C.is_forced(float("nan"))


# --- the conditions every judged kind takes (kinds.TERMS) ---------------------------------------------------------

@pytest.mark.parametrize("error,terms,verdict", [
    (0.0, dict(also={"the solver converged": True}), "pass"),
    (0.0, dict(also={"the solver converged": False}), "fail"),          # a further condition of the identity
    (1.0, dict(also={"the solver converged": True}), "fail"),
    (0.0, dict(requires={"a fold to check": False}), "inconclusive"),  # nothing can be decided without it
    (1.0, dict(requires={"a fold to check": False}), "inconclusive"),
    (0.0, dict(pass_requires={"no tie": False}), "inconclusive"),      # a pass needs every entry judged ...
    (1.0, dict(pass_requires={"no tie": False}), "fail"),              # ... a fail does not
    (1.0, dict(fail_requires={"the fit is good": False}), "inconclusive"),
    (0.0, dict(fail_requires={"the fit is good": False}), "pass"),
])
def test_conditions_gate_the_verdict(error, terms, verdict):
    row = C.exact("x", "d", error, tol=1e-9, **terms)
    assert row.verdict == verdict
    (condition, held), = next(iter(terms.values())).items()
    assert f"{condition} ({'yes' if held else 'no'})" in row.criterion  # written with whether it held


def test_note_and_unknown_term():
    assert C.bound("x", "d", 0.5, 1.0, note="Reading tested: one.").criterion.endswith("Reading tested: one.")
    with pytest.raises(TypeError):
        C.bound("x", "d", 0.5, 1.0, require={"typo": True})


def test_upper_rate_against_a_rate_from_data_that_is_no_decay():
    row = C.upper_rate("x", "d", 0.3, est(-1.0, -1.1, -0.9), requires={"the bound falls (slope 0.3 < 0)": False})
    assert row.verdict == "inconclusive" and "not a decay" in row.criterion and row.measured == -1.0
    with pytest.raises(ValueError):  # without the stated precondition it is a programming error
        C.upper_rate("x", "d", 0.3, est(-1.0, -1.1, -0.9), requires={"the bound falls": True})


@pytest.mark.parametrize("lo,hi,steeper,verdict", [
    (-0.90, -0.50, "", "fail"),                         # entirely steeper than [−0.4167, −0.2667]
    (-0.90, -0.50, "a lower-bound family", "inconclusive"),
    (-0.20, -0.10, "a lower-bound family", "fail"),     # shallower: still a fail
    (-0.36, -0.30, "a lower-bound family", "pass"),
])
def test_attained_rate_steeper_exception(lo, hi, steeper, verdict):
    row = C.attained_rate("x", "d", -1 / 3, est((lo + hi) / 2, lo, hi), steeper=steeper)
    assert row.verdict == verdict and (steeper in row.criterion)


def test_attained_rate_steeper_side_for_a_positive_theta():
    assert C.attained_rate("x", "d", 0.5, est(0.9, 0.8, 1.0), steeper="why").verdict == "inconclusive"
    assert C.attained_rate("x", "d", 0.5, est(0.1, 0.05, 0.2), steeper="why").verdict == "fail"


# --- at_least, count, monotone -------------------------------------------------------------------------------------

@pytest.mark.parametrize("readings,verdict,measured", [
    ({"linf": (0.10, 0.07, 0.13), "l2": (0.20, 0.15, 0.25)}, "pass", 0.10),          # both lower ends ≥ 0.05
    ({"linf": (0.06, 0.04, 0.08), "l2": (0.20, 0.15, 0.25)}, "inconclusive", 0.06),  # one straddles the floor
    ({"linf": (0.06, 0.01, 0.20), "l2": (0.02, 0.01, 0.03)}, "fail", 0.02),          # l2 entirely below decides
    ({"linf": (math.nan, math.nan, math.nan), "l2": (0.20, 0.15, 0.25)}, "inconclusive", math.nan),
    ({"linf": (math.nan, math.nan, math.nan), "l2": (0.02, 0.01, 0.03)}, "fail", 0.02),
])
def test_at_least_intervals(readings, verdict, measured):
    row = C.at_least("x", "d", readings, 0.05)
    assert row.verdict == verdict
    assert (math.isnan(measured) and math.isnan(row.measured)) or row.measured == measured
    assert "0.05" in row.criterion and "linf" in row.criterion


@pytest.mark.parametrize("rho,converged,verdict", [
    (0.95, True, "pass"), (0.90, True, "pass"), (0.80, True, "inconclusive"), (0.60, True, "fail"),
    (0.95, False, "inconclusive"), (0.60, False, "inconclusive"), (math.nan, True, "inconclusive")])
def test_at_least_point_with_a_grey_zone(rho, converged, verdict):
    row = C.at_least("x", "d", {"ρ": rho}, 0.9, fail_below=0.7, requires={"every refit converged": converged})
    assert row.verdict == verdict and math.isnan(row.ci_low)
    assert "ρ ≥ 0.9" in row.criterion and "ρ < 0.7" in row.criterion


def test_at_least_strict_and_per_reading_floors():
    floors = {"d=1": 0.25, "d=2": 0.5}
    assert C.at_least("x", "d", {"d=1": (1.0, 0.25, 1.2), "d=2": (1.0, 0.6, 1.2)}, floors).verdict == "pass"
    assert C.at_least("x", "d", {"d=1": (1.0, 0.25, 1.2), "d=2": (1.0, 0.6, 1.2)}, floors,
                      strict=True).verdict == "inconclusive"  # "> 1/D": a lower end at the floor does not pass
    row = C.at_least("x", "d", {"d=1": (0.2, 0.1, 0.25), "d=2": (1.0, 0.6, 1.2)}, floors, strict=True)
    assert row.verdict == "fail" and row.measured == 0.2  # an upper end at the floor fails a strict claim
    with pytest.raises(ValueError):
        C.at_least("x", "d", {"a": 1.0}, floors, fail_below=0.1)


@pytest.mark.parametrize("holds,clearly_not,need,verdict,measured", [
    ([True] * 4, None, 1.0, "pass", 1.0),
    ([True, True, True, False], None, 1.0, "fail", 0.75),
    ([True, True, True, False], [False] * 4, 1.0, "inconclusive", 0.75),     # the fourth is undecided
    ([True, True, True, False], [False, False, False, True], 0.75, "pass", 0.75),
    ([True, True, False, False], [False, False, False, True], 0.75, "inconclusive", 0.5),  # 3 of 4 still possible
    ([True, True, False, False], [False, False, True, True], 0.75, "fail", 0.5),
    ([], None, 1.0, "inconclusive", math.nan),                                # no event to judge
])
def test_count(holds, clearly_not, need, verdict, measured):
    row = C.count("x", "d", holds, clearly_not, need=need, event="fold")
    assert row.verdict == verdict
    assert (math.isnan(measured) and math.isnan(row.measured)) or row.measured == measured
    assert f"{sum(holds)} of {len(holds)} qualify" in row.criterion


def test_count_checks_its_masks():
    with pytest.raises(ValueError):
        C.count("x", "d", [True, False], [True, False])  # an event cannot both hold and clearly not
    with pytest.raises(ValueError):
        C.count("x", "d", [True], need=0.0)


@pytest.mark.parametrize("values,falls,tol,verdict,measured", [
    ([4.0, 2.0, 1.0], True, 0.0, "pass", 0.5),
    ([4.0, 2.0, 2.0], True, 0.0, "pass", 1.0),           # non-increasing is enough
    ([4.0, 1.0, 2.0], True, 0.0, "inconclusive", 2.0),   # one rise, but it ends lower
    ([1.0, 0.5, 1.5], True, 0.0, "fail", 3.0),           # ends higher than it began
    ([4.0, 4.2, 1.0], True, 0.1, "pass", 1.05),          # a 5 % rise within the stated tolerance
    ([1.0, 2.0, 4.0], False, 0.0, "pass", 2.0),
    ([2.0, 3.0, 1.0], False, 0.0, "fail", 1 / 3),
    ([1.0, math.nan, 0.5], True, 0.0, "inconclusive", math.nan),
    ([1.0], True, 0.0, "inconclusive", math.nan),
])
def test_monotone(values, falls, tol, verdict, measured):
    row = C.monotone("x", "d", values, falls=falls, tol=tol)
    assert row.verdict == verdict
    assert (math.isnan(measured) and math.isnan(row.measured)) or abs(row.measured - measured) < 1e-12
