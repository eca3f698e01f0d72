"""scaling-dim judge: the floor-and-gap fit window, pooled replicate rows, the sawtooth family — each
against an independent computation, and a changed input that must flip a verdict."""

from __future__ import annotations

import importlib
import math

import numpy as np
import pandas as pd
import pytest
import torch
from omegaconf import OmegaConf
from scipy import stats

from hjexp import registry

registry.get("scaling-dim")  # imports experiments/ as the package hjexp_experiments
W = importlib.import_module("hjexp_experiments.scaling_dim.window")
MJ = importlib.import_module("hjexp_experiments.scaling_dim.manifold_judge")
WORST = importlib.import_module("hjexp_experiments.scaling_dim.worst")
WIDTHS = np.array([4, 8, 16, 32, 64, 128])
RULES = OmegaConf.create(dict(level=0.95, band=[0.8, 1.25], floor_frac=0.5, max_gap=1.5, fit_skip_manifold=0,
                              deff_band=[0.75, 1.33]))


def _floored(slope: float, floor: float, seeds: int = 3) -> np.ndarray:
    """RMSE = N^(−slope) until it reaches ``floor``, then ``floor``; seeds differ by a constant factor."""
    y = np.maximum(WIDTHS.astype(float) ** -slope, floor)
    return np.outer(1 + 0.1 * np.arange(seeds), y)


def test_window_stops_at_a_floor_that_the_gap_rule_cannot_see():
    """The issue's d_int = 1 curve: slope 2 down to N = 16, then flat (train ≈ test): the gap rule keeps
    every width (and a line through all of them has slope ≈ 0.9); the floor rule stops at N = 16 (or 32)."""
    test = _floored(2.0, 16.0 ** -2 * 0.95)
    train = test / 1.05
    assert W.gap_end(test, train, 1.5) == len(WIDTHS)
    whole = -W.replicate_slopes(WIDTHS, test).mean()
    assert whole < 1.25  # the old reading: a 'pass' against 1/d_int = 1
    end, why = W.window(WIDTHS, test, train, frac=0.5, gap=1.5)
    assert WIDTHS[end - 1] in (16, 32) and "floor" in why
    assert -W.replicate_slopes(WIDTHS[:3], test[:, :3]).mean() == pytest.approx(2.0)


def test_window_keeps_a_clean_power_law_and_stops_at_a_train_floor_or_a_gap():
    test = _floored(0.5, 0.0)
    assert W.window(WIDTHS, test, test, frac=0.5, gap=1.5)[0] == len(WIDTHS)
    train_floor = _floored(0.5, 64.0 ** -0.5)  # the train RMSE floors from N = 64 on
    end, why = W.window(WIDTHS, test, train_floor, frac=0.5, gap=10.0)
    assert WIDTHS[end - 1] == 64 and "train" in why
    gapped = test.copy()
    gapped[:, 4:] *= 2.0  # test RMSE twice the train RMSE from N = 64 on
    end, why = W.window(WIDTHS, gapped, test, frac=0.0, gap=1.5)
    assert WIDTHS[end - 1] == 32 and "train RMSE" in why


def test_pooled_estimate_is_the_student_t_interval():
    v = np.array([1.9, 2.1, 2.3, 1.7, 2.05])
    est = W.pooled_estimate(v, 0.9, "x")
    lo, hi = stats.t.interval(0.9, len(v) - 1, loc=v.mean(), scale=stats.sem(v))
    assert (est.slope, est.low, est.high) == pytest.approx((v.mean(), lo, hi))


def _results(k: float, floor: float = 0.0, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Synthetic results.csv / intrinsic_dim.csv of the manifold part: RMSE ∝ N^(−k/d_int) with noise."""
    rng = np.random.default_rng(seed)
    rows, dims = [], []
    for d in (1, 2, 3):
        for emb in ("linear", "curved"):
            for s in range(4):
                c = math.exp(rng.normal(0, 0.2))
                for N in WIDTHS:
                    y = max(c * N ** (-k / d) * math.exp(rng.normal(0, 0.03)), floor)
                    rows.append(dict(setup="manifold", d=d, embedding=emb, D=16, width=N, seed=s, selected=True,
                                     test_rmse=y, train_rmse=y / 1.05, converged=True))
                dims.append(dict(embedding=emb, D=16, d_int=d, seed=s, twonn=d * math.exp(rng.normal(0, 0.03))))
    return pd.DataFrame(rows), pd.DataFrame(dims)


def _verdicts(m, dims) -> dict:
    p = OmegaConf.create(dict(manifold=dict(embeddings=["linear", "curved"], D=[16], max_steps=100,
                                            target=dict(t=0.25, n_cones=4))))
    return {c.claim_id: c.verdict for c in MJ.manifold_rows(m, dims, p, RULES)}


def test_pooled_rows_judge_the_finding_and_flip_with_the_data():
    v = _verdicts(*_results(2.0))
    assert v["scaling.manifold.alpha_literature.pooled"] == "pass"
    assert v["scaling.manifold.alpha.pooled"] == "fail"
    assert v["scaling.manifold.deff_vs_twonn.pooled"] == "fail"
    assert v["scaling.manifold.separates.pooled"] == "pass"
    assert v["scaling.manifold.alpha.dint2.curved.D16"] == "info" and v["scaling.manifold.alpha.dint1"] == "info"
    judged = [k for k, x in v.items() if x != "info"]
    assert len(judged) == 4  # one judged row per finding, whatever the number of settings
    flipped = _verdicts(*_results(1.0))  # mutation: the data follow N^(−1/d_int)
    assert flipped["scaling.manifold.alpha.pooled"] == "pass"
    assert flipped["scaling.manifold.alpha_literature.pooled"] == "fail"
    assert flipped["scaling.manifold.deff_vs_twonn.pooled"] == "pass"


def test_a_floor_does_not_drag_the_pooled_exponent_down():
    m, dims = _results(2.0, floor=1e-3)  # d_int = 1 floors from N = 32 on, as in the paper run
    assert _verdicts(m, dims)["scaling.manifold.alpha_literature.pooled"] == "pass"


def test_sawtooth_is_the_distance_to_the_tip_lattice_and_lipschitz():
    g = torch.Generator().manual_seed(0)
    z = 4 * torch.rand(500, 2, generator=g, dtype=torch.float64) - 2
    s, w = 0.3, 2.0
    u = WORST.sawtooth(z, torch.tensor(s, dtype=torch.float64), w, 1.0)
    k = torch.arange(-2, 16, dtype=torch.float64)
    tips = torch.cartesian_prod(k, k) * s + s / 2 - w  # [T, 2], covers [−2, 2]^2 and a margin
    brute = torch.cdist(z, tips).min(-1).values
    assert torch.allclose(u, brute, atol=1e-12)
    i, j = torch.randint(500, (2, 3000), generator=g)
    assert ((u[i] - u[j]).abs() <= (z[i] - z[j]).norm(dim=-1) + 1e-12).all()
    assert float(u.max()) <= s / 2 * math.sqrt(2) + 1e-12


REAL = importlib.import_module("hjexp_experiments.scaling_dim.real")


def _real(k: float, T: float = 7.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Synthetic real-part rows: test RMSE ∝ N^(−k/T) over 6 seeds, TwoNN T."""
    rng = np.random.default_rng(1)
    rows = [dict(width=N, seed=s, selected=True, test_rmse=N ** (-k / T) * math.exp(rng.normal(0, 0.01)),
                 train_rmse=N ** (-k / T)) for s in range(6) for N in WIDTHS]
    dims = pd.DataFrame([dict(digit=1, seed=s, twonn=T, target_sd=0.2) for s in range(6)])
    return pd.DataFrame(rows), dims


def test_real_rows_judge_against_one_and_two_over_twonn():
    p = OmegaConf.create(dict(real=dict(digit=1, pca_dims=20, radius=1.0, eps=0.01, target=dict(t=0.25, n_cones=4))))
    for k, paper, lit in ((2.0, "fail", "pass"), (1.0, "pass", "fail")):
        v = {c.claim_id: c.verdict for c in REAL.real_rows(*_real(k), p, RULES)}
        assert v == {"scaling.real.alpha.mnist1": paper, "scaling.literature.real_alpha.mnist1": lit}


def test_published_rows_give_the_three_readings():
    rows = {c.claim_id: c for c in REAL.published_rows()}
    kaplan = rows["scaling.literature.published.kaplan2020_params"]
    assert kaplan.measured == 0.076 and kaplan.verdict == "info"
    assert f"{1 / 0.076:.3g}" in kaplan.description and f"{4 / 0.076:.3g}" in kaplan.description
