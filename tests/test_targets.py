"""Targets of rate-sweep against independent computations (brute force, hand values)."""

import math

import pytest
import torch

from hjexp.data import targets as T
from hjexp.data.manifolds import uniform_box

F64 = torch.float64


def _brute_hopf_lax(target: T.ConeHopfLax, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """min over the y grid of g0(y) + |x − y|²/4t, by enumeration.  x [m, d], y [G, d] -> [m]."""
    g0 = target.initial(y)  # [G]
    out = []
    for xc in x.split(8):  # chunks keep [8, G] small for the 10⁶-point 2-D grid
        sq = ((xc[:, None, :] - y[None, :, :]) ** 2).sum(-1)  # [8, G]
        out.append((g0[None] + sq / (4 * target.t)).amin(-1))
    return torch.cat(out)


@pytest.mark.parametrize("d, t, h, lo, hi", [(1, 0.1, 2e-4, -4.0, 4.0), (2, 0.3, 5e-3, -2.5, 2.5)])
def test_hj_solution_equals_brute_force_min_over_y_grid(d, t, h, lo, hi):
    gen = torch.Generator().manual_seed(7 + d)
    target = T.random_cones(6, d, lip=2.0, t=t, spread=1.2, value_range=1.0, generator=gen, dtype=F64)
    x = uniform_box(40, d, -1.0, 1.0, generator=gen, dtype=F64)
    axis = torch.arange(lo, hi + h / 2, h, dtype=F64)
    y = torch.cartesian_prod(*[axis] * d).reshape(-1, d)
    brute = _brute_hopf_lax(target, x, y)
    exact = target(x)
    # A grid minimum never undercuts the infimum; it exceeds it by at most the objective's
    # growth over half a cell diagonal δ: slope ≤ L + |x − y*|/2t ≤ 2L, plus δ²/4t.
    delta = h * math.sqrt(d) / 2
    bound = 2 * target.lipschitz * delta + delta**2 / (4 * target.t)
    err = brute - exact
    assert err.min() >= -1e-12
    assert err.max() <= bound
    # Not vacuous: the target varies far more than the bound, and a wrong Huber constant
    # (e.g. −tL²/2 for −tL²) would shift values by ≥ t(L/2)²/2 = 0.15 ≫ bound.
    assert exact.std() > 20 * bound
    r = (x[:, None, :] - target.apex).norm(dim=-1)
    assert (r > 2 * target.t * target.lip).any(-1).float().mean() > 0.5  # the linear (r > 2tL) branch is exercised


def test_hj_solution_is_below_initial_data_and_equals_it_at_t_to_zero():
    gen = torch.Generator().manual_seed(3)
    target = T.random_cones(5, 2, lip=1.5, t=0.5, spread=1.0, value_range=1.0, generator=gen, dtype=F64)
    x = uniform_box(200, 2, -1.0, 1.0, generator=gen, dtype=F64)
    assert (target(x) <= target.initial(x) + 1e-12).all()  # y = x is a candidate in the minimum
    tiny = T.ConeHopfLax(target.apex, target.c, target.lip, 1e-9)
    assert torch.allclose(tiny(x), target.initial(x), atol=1e-8)


def test_huber_hand_values():
    lip, t = torch.tensor(2.0, dtype=F64), 0.25  # knee at 2tL = 1
    r = torch.tensor([0.0, 0.5, 1.0, 3.0], dtype=F64)
    expected = torch.tensor([0.0, 0.25, 1.0, 2 * 3 - 0.25 * 4], dtype=F64)  # r²/4t inside, Lr − tL² outside
    assert torch.allclose(T.huber_hopf_lax(r, lip, t), expected, atol=1e-15)


def test_ridge_target_hand_values_and_lipschitz():
    tgt = T.RidgeKinks(torch.tensor([[1.0, 0.0], [0.6, 0.8]], dtype=F64), torch.tensor([0.5, -0.2], dtype=F64),
                       torch.tensor([0.7, 1.3], dtype=F64))
    x = torch.tensor([[0.0, 0.0], [1.0, -1.0]], dtype=F64)
    expected = torch.tensor([0.7 * 0.5 + 1.3 * 0.2, 0.7 * 0.5 + 1.3 * abs(0.6 - 0.8 + 0.2)], dtype=F64)
    assert torch.allclose(tgt(x), expected, atol=1e-15)
    gen = torch.Generator().manual_seed(1)
    r = T.random_ridges(4, 3, lip=2.0, spread=0.5, generator=gen, dtype=F64)
    a, b = uniform_box(500, 3, -1.0, 1.0, generator=gen, dtype=F64), uniform_box(500, 3, -1.0, 1.0, generator=gen, dtype=F64)
    ratio = (r(a) - r(b)).abs() / (a - b).norm(dim=-1)
    assert ratio.max() <= r.lipschitz + 1e-12 and abs(r.lipschitz - 2.0) < 1e-12
    assert (r((a + b) / 2) <= (r(a) + r(b)) / 2 + 1e-12).all()  # convex kinks only


def test_noise_and_seeding():
    def make(seed):
        return T.make_target("hj-solution", 2, t=0.2, lip=2.0, n_pieces=4, spread=1.0, value_range=1.0,
                             generator=torch.Generator().manual_seed(seed))
    assert torch.equal(make(5).apex, make(5).apex) and not torch.equal(make(5).apex, make(6).apex)
    v = torch.zeros(20000)
    e = T.noisy(v, 0.3, generator=torch.Generator().manual_seed(0))
    assert abs(e.std().item() - 0.3) < 0.01 and abs(e.mean().item()) < 0.01
    with pytest.raises(ValueError, match="unknown target family"):
        T.make_target("smooth", 1, t=1, lip=1, n_pieces=1, spread=1, value_range=1, generator=torch.Generator())
