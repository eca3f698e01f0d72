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
    x = uniform_box(16, d, -1.0, 1.0, generator=gen, dtype=F64)  # 16 points × 10⁶ grid points in 2-D
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


# ---- the bump families (minimax-hard, semiconcave-hard) ---------------------------------------------------------


def _bumps(family, d, h, seed=0, batch=(), t=0.2, lip=2.0):
    return T.random_bumps(family, d, h, lip=lip, t=t, generator=torch.Generator().manual_seed(seed), batch=batch,
                          dtype=F64)


def _brute_sum(tgt: T.CellBumps, x: torch.Tensor) -> torch.Tensor:
    """Σ over EVERY cell k of σ_k·A·ψ((x − c_k)/h), with ψ written out again here.  x [n, d] -> [n]."""
    u = (x[:, None, :] - tgt.centres()[None].to(x.dtype)) / tgt.h  # [n, K, d]
    if tgt.profile == "pyramid":
        psi = torch.clamp(0.5 - u.abs().max(-1).values, min=0.0)
    else:
        r = u.norm(dim=-1)
        psi = torch.where(r < 0.5, torch.cos(math.pi * r) ** 2, torch.zeros_like(r))
    return (tgt.signs.to(x.dtype) * tgt.amplitude * psi).sum(-1)


@pytest.mark.parametrize("family, d, h", [("minimax-hard", 1, 0.3), ("minimax-hard", 2, 0.45), ("minimax-hard", 3, 0.7),
                                          ("semiconcave-hard", 2, 0.45), ("semiconcave-hard", 3, 0.9)])
def test_bumps_equal_the_sum_over_all_cells(family, d, h):
    """The one-cell lookup equals the definition Σ_k σ_k A ψ((x − c_k)/h) summed over every cell
    (including the cells cut by the box when h does not divide 2)."""
    tgt = _bumps(family, d, h)
    x = uniform_box(400, d, -1.0, 1.0, generator=torch.Generator().manual_seed(1), dtype=F64)
    assert torch.allclose(tgt(x), _brute_sum(tgt, x), atol=1e-14)
    assert tgt(x).abs().max() > 0.3 * tgt.peak  # not vacuous


@pytest.mark.parametrize("family", ["minimax-hard", "semiconcave-hard"])
def test_bump_amplitude_and_support_as_constructed(family):
    d, h, t, lip = 2, 0.4, 0.2, 2.0
    tgt = _bumps(family, d, h, t=t, lip=lip)
    c = tgt.centres().to(F64)  # [K, d]
    assert tgt.per_axis == 5 and c.shape == (25, 2) and torch.allclose(c[:5, 0], -1 + h * (torch.arange(5) + 0.5).double())
    peak = lip * h / 2 if family == "minimax-hard" else h * h / (4 * math.pi**2 * t)
    assert torch.allclose(tgt(c), tgt.signs.double() * peak, atol=1e-14)  # height at every centre, with its sign
    gen = torch.Generator().manual_seed(2)
    u = torch.rand(500, d, generator=gen, dtype=F64) - 0.5  # offsets inside a cell, cell units
    k = torch.randint(25, (500,), generator=gen)
    if family == "minimax-hard":
        face = u.clone()
        face[:, 0] = 0.5 * torch.sign(face[:, 0])  # on a face of the cell: ψ = 0
        assert tgt(c[k] + h * face).abs().max() < 1e-14
    else:
        out = u[u.norm(dim=-1) >= 0.5]  # outside the inscribed ball (cell corners): ψ = 0
        assert len(out) > 50 and tgt(c[k[: len(out)]] + h * out).abs().max() < 1e-14
    assert T.bump_amplitude(family, h, lip=lip, t=t) * (0.5 if family == "minimax-hard" else 1.0) == pytest.approx(peak)


def test_minimax_bumps_are_L_lipschitz_and_the_constant_is_reached():
    lip = 2.0
    for d, h in ((1, 0.13), (2, 0.3), (4, 0.9)):
        tgt = _bumps("minimax-hard", d, h, lip=lip, seed=d)
        gen = torch.Generator().manual_seed(10 + d)
        a = uniform_box(4000, d, -1.0, 1.0, generator=gen, dtype=F64)
        far = uniform_box(4000, d, -1.0, 1.0, generator=gen, dtype=F64)  # pairs across many cells
        near = (a + 0.05 * h * torch.randn(4000, d, generator=gen, dtype=F64)).clamp(-1, 1)  # pairs within a cell
        axis = a.clone()
        axis[:, 0] = (a[:, 0] + 1e-3 * h).clamp(-1, 1)  # axis-aligned: the pyramid's steepest direction
        ratios = [(tgt(a) - tgt(b)).abs() / (a - b).norm(dim=-1).clamp_min(1e-300) for b in (far, near, axis)]
        assert max(r.max().item() for r in ratios) <= lip * (1 + 1e-9)
        assert ratios[2].max() > 0.99 * lip  # the constant is attained, so the check is not vacuous


def test_semiconcave_bumps_hessian_is_bounded_by_one_over_2t():
    t, d, h = 0.2, 2, 0.5
    tgt = _bumps("semiconcave-hard", d, h, t=t)
    gen = torch.Generator().manual_seed(4)
    # (‖u‖ has no derivative at the exact centre, so the last points sit 1e-7 cells beside it)
    pts = torch.cat([uniform_box(60, d, -1.0, 1.0, generator=gen, dtype=F64), tgt.centres().double()[:3] + 1e-7 * h])
    norms = []
    for p in pts:
        H = torch.autograd.functional.hessian(lambda z: tgt(z[None])[0], p)  # [d, d]
        norms.append(torch.linalg.eigvalsh(H).abs().max().item())
    assert max(norms) <= 1 / (2 * t) * (1 + 1e-9)
    assert norms[-1] == pytest.approx(1 / (2 * t), rel=1e-6)  # equality at a centre: −σ/(2t)·I


def test_bump_signs_are_fair_and_independent_across_seeds():
    tgt = _bumps("minimax-hard", 2, 0.02, batch=(3,))  # 100 × 100 cells per seed
    s = tgt.signs.double()  # [3, K]
    assert s.shape == (3, 10000) and set(s.unique().tolist()) == {-1.0, 1.0}
    K = s.shape[1]
    assert (s.mean(-1).abs() < 4 / math.sqrt(K)).all()  # fair coins (4 standard errors)
    for i, j in ((0, 1), (0, 2), (1, 2)):
        assert (s[i] * s[j]).mean().abs() < 4 / math.sqrt(K)  # uncorrelated across seeds
    other = _bumps("minimax-hard", 2, 0.02, seed=1)
    assert not torch.equal(other.signs, tgt.signs[0])
    x = uniform_box((3, 50), 2, -1.0, 1.0, generator=torch.Generator().manual_seed(0), dtype=F64)
    for i in range(3):  # a batched target evaluates seed i with seed i's signs
        solo = T.CellBumps(tgt.signs[i], tgt.h, tgt.amplitude, tgt.profile, 2)
        assert torch.allclose(tgt(x)[i], solo(x[i]), atol=0)


@pytest.mark.parametrize("family", ["minimax-hard", "semiconcave-hard"])
def test_cell_size_balances_noise_and_bump_height(family):
    sigma, lip, t, balance = 0.1, 2.0, 0.2, 1.7
    for d in (1, 2, 4):
        h = T.bump_cell_size(family, 1000, d, sigma=sigma, lip=lip, t=t, balance=balance)
        peak = _bumps(family, d, h, t=t, lip=lip).peak if h > 0.05 else T.bump_amplitude(family, h, lip=lip, t=t) / 2
        assert 1000 * (h / 2) ** d * (peak / sigma) ** 2 == pytest.approx(balance, rel=1e-12)
        s = 1 if family == "minimax-hard" else 2
        h2 = T.bump_cell_size(family, 2000, d, sigma=sigma, lip=lip, t=t, balance=balance)
        assert h2 / h == pytest.approx(2 ** (-1 / (d + 2 * s)), rel=1e-12)


def test_batched_cones_and_ridges_evaluate_each_seed_with_its_own_target():
    gen = torch.Generator().manual_seed(5)
    x = uniform_box((4, 30), 3, -1.0, 1.0, generator=gen, dtype=F64)
    cones = T.random_cones(5, 3, lip=2.0, t=0.2, spread=1.2, value_range=1.0, generator=gen, batch=(4,), dtype=F64)
    ridges = T.random_ridges(3, 3, lip=2.0, spread=0.5, generator=gen, batch=(4,), dtype=F64)
    assert not torch.equal(cones.apex[0], cones.apex[1])
    for i in range(4):
        one = T.ConeHopfLax(cones.apex[i], cones.c[i], cones.lip[i], cones.t)
        assert torch.allclose(cones(x)[i], one(x[i]), atol=0)
        r = T.RidgeKinks(ridges.direction[i], ridges.offset[i], ridges.weight[i])
        assert torch.allclose(ridges(x)[i], r(x[i]), atol=1e-15)
        assert abs(r.lipschitz - 2.0) < 1e-12
