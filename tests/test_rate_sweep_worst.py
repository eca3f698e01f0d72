"""rate-sweep's worst case over the Lipschitz class: the batched smoothers, the family, and the judged sup-slope
rows, against independent computations, with mutations that must flip a verdict."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from omegaconf import OmegaConf

from hjexp import baselines
from hjexp.registry import get


def _pkg(name: str):
    get("rate-sweep")  # imports the experiments package under its private name
    import importlib

    return importlib.import_module(f"hjexp_experiments.rate_sweep.{name}")


def test_smoothers_many_match_a_brute_force_per_label():
    rng = np.random.default_rng(0)
    E, n, m, d, G = 2, 60, 9, 2, 3
    x, q, y = rng.uniform(-1, 1, (E, n, d)), rng.uniform(-1, 1, (E, m, d)), rng.normal(size=(E, n, G))
    k, bw = np.array([1, 7]), np.array([0.3, 0.1])
    knn, nw = baselines.smoothers_many(*(torch.tensor(v) for v in (x, y, q, k, bw)), budget=100)
    for e in range(E):
        d2 = ((q[e][:, None] - x[e][None]) ** 2).sum(-1)  # [m, n]
        near = np.argsort(d2, axis=1, kind="stable")[:, : k[e]]
        assert np.allclose(knn[e].numpy(), y[e][near].mean(1), atol=1e-12)
        w = np.exp(-d2 / (2 * bw[e] ** 2))
        assert np.allclose(nw[e].numpy(), w @ y[e] / w.sum(1, keepdims=True), atol=1e-10)


def _params(**worst):
    base = dict(lip=1.0, hj_amplitudes=[1.0], select=dict(width_factors=[1], eps_factors=[1], t=[0.2, 0.02]),
                dims=[1], cells=[2, 4, 8, 16, 32, 64], max_cells=65536, amplitudes=[0.5, 1.0])
    base.update(worst)
    return OmegaConf.create(dict(worst=base, selection=dict(val_fraction=0.25), sigma=0.1,
                                 train=dict(check_every=100, rel_tol=1e-3, max_steps=600)))


RULES = OmegaConf.create(dict(level=0.95, delta=0.1, band=[0.8, 1.25], stable_tol=0.1, min_fit_sizes=4))


def _table(rng, rate_of):
    """A synthetic worst.csv, d = 1: per model, member (m, a), n and seed an RMSE of the form rate_of(model, m, a, n)."""
    rows = []
    for model in ("constant", "knn"):
        for m in (2, 4, 8, 16, 32, 64):
            for a in (0.5, 1.0):
                for n in (128, 256, 512, 1024, 2048, 4096):
                    for s in range(4):
                        rows.append(dict(model=model, d=1, n=n, seed=s, cells=m, h=2 / m, amp=a, k=n ** (2 / 3),
                                         rmse=rate_of(model, m, a, n) * math.exp(0.02 * rng.standard_normal())))
    return pd.DataFrame(rows)


def _kinked(model, m, a, n):
    """The constant predictor: the bumps' RMS a·(2/m)/√12, whatever n. A learner: the bumps' RMS below its
    resolution h < n^(−1/3), and a smaller, decaying error above it."""
    rms = a * (2 / m) / math.sqrt(12)
    if model == "constant":
        return rms
    return rms if 2 / m < n ** (-1 / 3) else 0.5 * a * n ** (-1 / 3) * (2 / m) ** 0.5


def test_sup_over_the_grid_discriminates_a_learner_from_the_constant():
    jw = _pkg("judge_worst")
    w = _table(np.random.default_rng(2), _kinked)
    p = _params()
    const = jw.worst_claim(w, "constant", 1, p, RULES)
    knn = jw.worst_claim(w, "knn", 1, p, RULES)
    assert const.verdict == "fail" and abs(const.measured) < 0.02
    assert knn.verdict == "pass" and knn.ci_high <= -0.3
    # the supremum per (n, seed), recomputed independently: the measured slope is the mean of per-seed slopes
    sup = w[w.model == "knn"].groupby(["seed", "n"]).rmse.max().unstack("n")
    lo, hi = (float(v) for v in knn.description.split("fit on n = ")[1].split(" ")[0].split("…"))
    cols = [c for c in sup.columns if lo <= c <= hi]
    slopes = [np.polyfit(np.log(cols), np.log(sup.loc[s, cols]), 1)[0] for s in sup.index]
    assert knn.measured == pytest.approx(np.mean(slopes), abs=1e-12)
    assert "Reading tested: the Lipschitz-class minimax statement" in knn.criterion
    assert "constant predictor's sup RMSE" in knn.description


def test_mutation_a_learner_that_stops_learning_coarse_bumps_fails():
    """The same learner, except that it stops improving on the coarsest members (a fixed-t floor): only the sup
    sees it, and the row must flip to fail."""
    jw = _pkg("judge_worst")

    def floored(model, m, a, n):
        base = _kinked(model, m, a, n)
        return max(base, 0.3 * a / math.sqrt(12)) if (model == "knn" and m == 2) else base

    w = _table(np.random.default_rng(3), floored)
    assert jw.worst_claim(w, "knn", 1, _params(), RULES).verdict == "fail"
    # and a grid without the coarse scale misses that floor: the supremum is only over what the grid holds
    fine = w[w.cells >= 8]
    assert jw.worst_claim(fine, "knn", 1, _params(), RULES).verdict == "pass"


def test_family_members_are_in_the_lipschitz_class_with_the_stated_heights():
    worst = _pkg("worst")

    class Ctx:  # the two RunContext members family() uses

        dtype, device = torch.float64, torch.device("cpu")

        def generator(self, offset=0):
            return torch.Generator().manual_seed(offset)

        def tensor(self, v):
            return torch.as_tensor(v, dtype=self.dtype)

    p = OmegaConf.create(dict(sigma=0.1, t=0.2, worst=dict(n_seeds=2, n_grid=[16, 32, 64], n_test=4000, lip=1.0,
                                                           cells=[2, 8], max_cells=100, amplitudes=[0.5, 1.0])))
    dr, members = worst.family(Ctx(), p, 1)
    assert list(members.cells) == [2, 8, 2, 8] and list(members.amp) == [0.5, 0.5, 1.0, 1.0]
    x = dr.x_test[..., 0]  # [S, m]
    for row in members.itertuples():
        f = dr.f_test[row.label]  # [S, m]
        assert float(f.abs().max()) <= row.amp * row.h / 2 + 1e-12  # peaks a·L·h/2
        assert float(f.abs().max()) > 0.9 * row.amp * row.h / 2
        order = x.argsort(-1)
        xs, fs = x.gather(-1, order), f.gather(-1, order)
        lip = ((fs[:, 1:] - fs[:, :-1]).abs() / (xs[:, 1:] - xs[:, :-1]).clamp_min(1e-12)).max()
        assert float(lip) <= row.amp * 1.0 + 1e-6  # a·L-Lipschitz
    # labels = target + one noise draw shared by every member of a seed
    noise = dr.y - dr.f_train  # [G, S, n]
    assert torch.allclose(noise, noise[:1].expand_as(noise))
