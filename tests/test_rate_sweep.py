"""rate-sweep end to end (smoke) and its pieces against independent computations."""

import numpy as np
import pandas as pd
import pytest

from hjexp import fitting
from hjexp.registry import get


def _core():
    get("rate-sweep")  # imports the experiments package under its private name
    import hjexp_experiments._rate_core as core

    return core


def test_slope_fit_recovers_a_known_exponent_from_noisy_power_law():
    rng = np.random.default_rng(0)
    n = 2.0 ** np.arange(6, 15)
    for true in (-1 / 3, -1 / 6):
        y = 0.7 * n**true * np.exp(0.08 * rng.standard_normal((8, n.size)))  # [S, K] log-normal noise
        fit = fitting.power_law(n, y)
        assert abs(fit.slope - true) < 0.03 and fit.contains(true)
        assert fit.ci_high - fit.ci_low < 0.1  # informative, not a huge interval
        assert not fitting.power_law(n, y * n**0.1).contains(true)  # a different exponent is rejected


def test_width_and_viscosity_schedules():
    core = _core()
    assert core.width(1024, 2, 1.0) == 32 and core.width(64, 4, 1.0) == 16 and core.width(10, 4, 100.0) == 10
    assert abs(core.viscosity(4096, 4, 0.1) - 0.1 * 4096 ** (-1 / 6)) < 1e-15


def test_rate_sweep_smoke(run_smoke):
    out, summary = run_smoke("rate-sweep")
    ids = set(summary.claim_id)
    for d in (1, 2):
        assert {f"rate.hj.slope.d{d}", f"rate.knn.slope.d{d}", f"rate.hj_lipschitz.slope.d{d}",
                f"rate.knn_lipschitz.slope.d{d}", f"rate.hj_lipschitz_shrink_t.slope.d{d}"} <= ids
    for r in summary.itertuples():
        assert np.isfinite([r.measured, r.ci_low, r.ci_high]).all() and r.ci_low <= r.measured <= r.ci_high
        assert r.verdict == ("pass" if r.ci_low <= float(r.theory) <= r.ci_high else "fail")
        assert "paper gives no numbers" in r.description
    rows = pd.read_csv(out / "results.csv")
    hj = rows[(rows.estimator == "hj") & (rows.family == "hj-solution")]
    assert len(hj) == 2 * 3 * 3 and (hj.rmse > 0).all()  # d × n × seeds
    # the claimed slope is the least-squares slope of mean log RMSE, recomputed here from results.csv
    c = hj[hj.d == 1].groupby("n").rmse.apply(lambda v: np.log(v).mean())
    slope = np.polyfit(np.log(c.index.to_numpy(float)), c.to_numpy(), 1)[0]
    assert abs(slope - summary.set_index("claim_id").loc["rate.hj.slope.d1", "measured"]) < 1e-9
    # N and ε follow the configured schedules
    assert (hj.N == [min(n, int(np.ceil(n ** (d / (d + 2))))) for n, d in zip(hj.n, hj.d)]).all()
    assert np.allclose(hj.eps, 0.1 * hj.n ** (-1 / (hj.d + 2)))
    shrink = rows[rows.family == "lipschitz-shrink-t"]
    assert np.allclose(shrink.t, 0.2 * (shrink.n / 32) ** (-1 / (shrink.d + 2)))
    floors = pd.read_csv(out / "floors.csv")  # the noiseless fit: tiny in the model class, a floor outside it
    assert set(floors.family) == {"hj-solution", "lipschitz"} and (floors.rmse > 0).all()
    for name in ("rmse_vs_n", "slope_vs_d", "fitted_d1"):
        assert (out / "figures" / f"{name}.png").exists()


def test_rate_sweep_validation_mode_picks_the_best_held_out_eps(run_smoke):
    out, summary = run_smoke("rate-sweep", "params.dims=[1]", "params.families=[hj-solution]",
                             "params.model.eps_mode=validation", "params.model.eps_grid=[0.3,1.0,3.0]",
                             "params.shrink_t=false")
    rows = pd.read_csv(out / "results.csv")
    hj = rows[rows.estimator == "hj"]
    assert len(hj) == 3 * 3 * 3 and hj.chosen.sum() == 3 * 3
    for _, g in hj.groupby(["n", "seed"]):
        assert g[g.chosen].val_rmse.iloc[0] == g.val_rmse.min()
    assert (hj.n_train == hj.n - np.ceil(0.25 * hj.n)).all()
    assert {"rate.hj.slope.d1", "rate.knn.slope.d1"} == set(summary.claim_id)


@pytest.mark.parametrize("override, message", [("params.n_seeds=1", "n_seeds"),
                                               ("params.families=[smooth]", "unknown"),
                                               ("params.n_grid=[64,128]", "n_grid"),
                                               ("params.model.eps_mode=best", "eps_mode")])
def test_rate_sweep_rejects_bad_input(cli, tmp_path, override, message):
    result = cli("run", "rate-sweep", "profile=smoke", f"out={tmp_path / 'bad'}", override)
    assert result.exit_code != 0 and message in result.output and "Traceback" not in result.output
