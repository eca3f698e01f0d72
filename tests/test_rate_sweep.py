"""rate-sweep end to end (smoke, through the CLI) and its pieces against independent computations."""

import numpy as np
import pandas as pd
import pytest

from hjexp.registry import get


def _pkg(name: str):
    get("rate-sweep")  # imports the experiments package under its private name
    import importlib

    return importlib.import_module(f"hjexp_experiments.rate_sweep.{name}")


def test_fit_window_drops_pre_asymptotic_sizes_and_recovers_the_slope():
    fit = _pkg("fit")
    rng = np.random.default_rng(0)
    ns = 2.0 ** np.arange(6, 15)  # 64 … 16384
    a = -1 / 3
    noise = np.exp(0.03 * rng.standard_normal((5, ns.size)))  # [S, K]
    straight = fit.fit_slope(ns, ns**a * noise, a=a, stable_tol=0.1, level=0.95, min_sizes=4)
    assert straight.stable and straight.start == 0 and straight.est.low <= a <= straight.est.high
    bent = ns**a * (1 + 30 * (64 / ns) ** 1.5) * noise  # a steep pre-asymptotic start
    got = fit.fit_slope(ns, bent, a=a, stable_tol=0.1, level=0.95, min_sizes=4)
    whole = np.polyfit(np.log(ns), np.log(bent).mean(0), 1)[0]
    assert got.start >= 2 and got.stable and abs(got.est.slope - a) < abs(whole - a) / 3
    never = fit.fit_slope(ns, np.exp(-0.3 * np.log(ns) ** 2)[None] * noise, a=a, stable_tol=0.1, level=0.95,
                          min_sizes=4)  # curves everywhere
    assert not never.stable and never.start == ns.size - 4


def test_schedules_and_members():
    sch = _pkg("schedules")
    assert sch.width(1024, 2, 1, 1.0, 10**6) == 32 and sch.width(4096, 4, 2, 1.0, 10**6) == 64
    assert sch.width(10, 4, 1, 100.0, 10) == 10
    assert sch.viscosity(4096, 4, 1, 0.1) == pytest.approx(0.1 * 4096 ** (-1 / 6))
    assert sch.viscosity(4096, 4, 2, 0.1) == pytest.approx(0.1 * 4096 ** (-1 / 4))


def test_rate_sweep_smoke_and_rejudge(run_smoke, cli):
    out, summary = run_smoke("rate-sweep", "threads=1")  # 1 thread: no OpenMP spinning on a shared CPU
    ids, rows = set(summary.claim_id), pd.read_csv(out / "results.csv")
    for d in (1, 2):
        assert {f"rate.hj.slope.d{d}", f"rate.knn.slope.d{d}", f"rate.nw.slope.d{d}", f"rate.hj_lipschitz.slope.d{d}",
                f"rate.hj_lipschitz_shrink_t.slope.d{d}", f"rate.minimax.hj.slope.d{d}", f"rate.minimax.knn.slope.d{d}",
                f"rate.minimax.hj_selected.slope.d{d}", f"rate.minimax.hj_vs_knn.d{d}",
                f"rate.semiconcave.hj.slope.d{d}", f"rate.semiconcave.constant.slope.d{d}"} <= ids
        assert {f"rate.worst.{m}.slope.d{d}" for m in ("constant", "knn", "nw", "hj_fixed_t", "hj_selected")} <= ids
    kinds = dict(zip(summary.claim_id, summary.kind))
    assert kinds["rate.hj.slope.d1"] == "upper_rate" and kinds["rate.minimax.hj.slope.d1"] == "info"
    assert kinds["rate.semiconcave.hj.slope.d2"] == "attained_rate" and kinds["rate.minimax.hj_vs_knn.d1"] == "info"
    assert kinds["rate.worst.knn.slope.d1"] == "upper_rate"
    verdict = summary.set_index("claim_id").verdict
    # the negative control: the constant predictor's supremum over the grid does not decay
    assert verdict["rate.worst.constant.slope.d1"] == verdict["rate.worst.constant.slope.d2"] == "fail"
    # every judged row says which reading of the paper's statement it tests
    judged = summary[summary.kind != "info"]
    assert judged.criterion.str.contains("Reading tested: ").all()
    # the worst-case slope is the mean of per-seed slopes of the per-seed supremum over the grid, recomputed here
    worst = pd.read_csv(out / "worst.csv")
    r = summary.set_index("claim_id").loc["rate.worst.nw.slope.d2"]
    lo, hi = (float(v) for v in r.description.split("fit on n = ")[1].split(" ")[0].split("…"))
    sup = worst[(worst.model == "nw") & (worst.d == 2) & worst.n.between(lo, hi)].groupby(["seed", "n"]).rmse.max()
    per_seed = [np.polyfit(np.log(s.index.get_level_values("n")), np.log(s), 1)[0] for _, s in sup.groupby("seed")]
    assert abs(np.mean(per_seed) - r.measured) < 1e-9
    # a semiconcave-hard pass where the constant predictor does as well is marked as no evidence
    for row in summary[summary.claim_id.str.startswith("rate.semiconcave.hj")].itertuples():
        assert ("a pass is arithmetic" in row.criterion) == ("does as well here" in row.criterion)
    # every seed redraws the target: the constant predictor's RMSE (the bumps' RMS) differs between seeds
    const = rows[(rows.model == "constant") & (rows.family == "minimax-hard") & (rows.d == 1) & (rows.n == rows.n.max())]
    assert const.rmse.nunique() == len(const) == 3
    # the measured slope is the mean of per-seed least-squares slopes on the stated window, recomputed here
    r = summary.set_index("claim_id").loc["rate.minimax.knn.slope.d1"]
    lo, hi = (float(v) for v in r.description.split("fit on n = ")[1].split(" ")[0].split("…"))
    g = rows[(rows.family == "minimax-hard") & (rows.model == "knn") & (rows.d == 1) & rows.n.between(lo, hi)]
    per_seed = [np.polyfit(np.log(s.n), np.log(s.rmse), 1)[0] for _, s in g.groupby("seed")]
    assert abs(np.mean(per_seed) - r.measured) < 1e-9
    # the verdict follows the stated rule from the row's own numbers
    for row in summary[summary.kind == "upper_rate"].itertuples():
        if "NOT stabilised" in row.description:
            assert row.verdict == "inconclusive"
            continue
        thr = 0.9 * float(row.theory)
        want = "pass" if row.ci_high <= thr else "fail" if row.ci_low > thr else "inconclusive"
        if row.claim_id.startswith("rate.worst.") and want == "pass" and row.ci_high < 1.25 * float(row.theory):
            want = "inconclusive"  # steeper than any estimator's worst case can fall: pre-asymptotic
        assert row.verdict == want, row.claim_id
    hj = rows[rows.model.str.startswith("hj")]
    assert (hj.steps <= 100).all() and hj.converged.notna().all()  # smoke cap
    sel = pd.read_csv(out / "selection.csv")
    chosen = sel[sel.chosen].set_index(["family", "d", "n", "seed"]).val_rmse.sort_index()
    best = sel.groupby(["family", "d", "n", "seed"]).val_rmse.min()  # sorted by its keys
    assert chosen.index.equals(best.index) and (chosen.to_numpy() == best.to_numpy()).all()
    for name in ("rmse_vs_n", "slope_vs_d", "fitted_d1", "scaled_rmse_hard_families", "worst_case_sup_rmse"):
        assert (out / "figures" / f"{name}.png").exists()
    # judging again from the saved CSVs gives the same summary, byte for byte
    before = (out / "summary.csv").read_bytes()
    assert cli("judge", str(out)).exit_code == 0
    assert (out / "summary.csv").read_bytes() == before
    # mutation: kNN's saved errors replaced by the constant predictor's on every member -> its worst-case row fails,
    # and nothing else changes
    worst = pd.read_csv(out / "worst.csv")
    key = ["d", "n", "seed", "cells", "amp"]
    const = worst[worst.model == "constant"].set_index(key).rmse
    knn = worst.model == "knn"
    worst.loc[knn, "rmse"] = const.loc[pd.MultiIndex.from_frame(worst.loc[knn, key])].to_numpy()
    worst.to_csv(out / "worst.csv", index=False)
    res = cli("judge", str(out))
    assert res.exit_code == 0, res.output
    after = pd.read_csv(out / "summary.csv").set_index("claim_id").verdict
    assert after["rate.worst.knn.slope.d1"] == after["rate.worst.knn.slope.d2"] == "fail"
    moved = [i for i in after.index if after[i] != verdict[i]]
    assert set(moved) <= {"rate.worst.knn.slope.d1", "rate.worst.knn.slope.d2"}


@pytest.mark.parametrize("override, message", [("params.n_seeds=1", "n_seeds"),
                                               ("params.families=[smooth]", "unknown"),
                                               ("params.n_grid=[64,128]", "n_grid"),
                                               ("params.selection.val_fraction=1.5", "val_fraction"),
                                               ("params.hard.balance=0", "balance")])
def test_rate_sweep_rejects_bad_input(cli, tmp_path, override, message):
    result = cli("run", "rate-sweep", "profile=smoke", f"out={tmp_path / 'bad'}", override)
    assert result.exit_code != 0 and message in result.output and "Traceback" not in result.output


def test_attained_rate_on_a_lower_bound_family_fails_only_when_too_slow():
    """θ = −1/3 (d = 1): a shallow slope fails, a slope in the band passes, a slope steeper than any estimator
    can keep up on the minimax family is pre-asymptotic (inconclusive), and so is an unstable window."""
    fit, judge = _pkg("fit"), _pkg("judge")
    from omegaconf import OmegaConf

    rules = OmegaConf.create(dict(level=0.95, delta=0.1, band=[0.8, 1.25], stable_tol=0.1, min_fit_sizes=4))
    rng = np.random.default_rng(1)
    ns = 2.0 ** np.arange(6, 12)
    verdicts = {}
    for slope in (-0.1, -1 / 3, -0.6):
        Y = ns**slope * np.exp(0.01 * rng.standard_normal((4, ns.size)))
        f = fit.fit_slope(ns, Y, a=-1 / 3, stable_tol=0.1, level=0.95, min_sizes=4)
        row = judge._claim("rate.minimax.knn.slope.d1", "attained_rate", "minimax-hard", f, "test", rules)
        verdicts[slope] = row.verdict
        assert "pre-asymptotic" in row.criterion
    assert verdicts == {-0.1: "fail", -1 / 3: "pass", -0.6: "inconclusive"}
    curved = np.exp(-0.3 * np.log(ns) ** 2)[None] * np.exp(0.01 * rng.standard_normal((4, ns.size)))
    f = fit.fit_slope(ns, curved, a=-1 / 3, stable_tol=0.1, level=0.95, min_sizes=4)
    assert judge._claim("rate.minimax.hj.slope.d1", "attained_rate", "minimax-hard", f, "x", rules).verdict == "inconclusive"
