"""quadrature: hand-derived values of tiny rules, closed forms, and the smoke run through the CLI."""

from __future__ import annotations

import math

import torch


def _q():
    from hjexp import registry

    return registry.get("quadrature").module


def test_two_point_endpoint_grid_by_hand():
    """n = 2 endpoint grid on [−2, 2]: atoms ±2 with g = 2, ε = t = 1. At x = 0 both bumps equal
    2 + 4/4 = 3, so ū_N(0) = 3. The continuum value (by hand, completing the square):
    ∫_0^2 e^{−y − y²/4} dy = 2e ∫_1^2 e^{−s²} ds = e√π (erf 2 − erf 1), so
    ū(0) = −log[(e√π/2)(erf 2 − erf 1)] ≈ 1.00058 and the error is 3 − ū(0)."""
    q = _q()
    Y, lw = q.nodes("endpoint", 2, 1, -2.0, 2.0)
    x = torch.zeros(1, 1, dtype=torch.float64)
    u_n = q.layer_u(x, Y, lw, q.g_lipschitz(Y), 1.0, 1.0).item()
    assert abs(u_n - 3.0) < 1e-14
    hand = -math.log(math.e * math.sqrt(math.pi) / 2 * (math.erf(2) - math.erf(1)))
    Yr, lwr = q.nodes("gauss", 200, 1, -2.0, 2.0)
    ref = q.layer_u(x, Yr, lwr, q.g_lipschitz(Yr), 1.0, 1.0).item()
    assert abs(ref - hand) < 1e-12
    assert abs((u_n - ref) - (3.0 - hand)) < 1e-12
    assert abs(hand - 1.000582) < 1e-5  # the number written above


def test_midpoint_single_atom_is_a_parabola():
    q = _q()
    Y, lw = q.nodes("midpoint", 1, 2, -2.0, 2.0)  # one atom at 0, g = 0: ū = |x|²/4t exactly
    x = torch.randn(7, 2, dtype=torch.float64)
    u = q.layer_u(x, Y, lw, q.g_lipschitz(Y), 0.3, 0.5)
    torch.testing.assert_close(u, (x * x).sum(-1) / 2.0, rtol=0, atol=1e-14)


def test_smooth_closed_form_against_brute_force():
    """erf closed form of the box integral vs a 4000-point midpoint sum, d = 2."""
    q = _q()
    x = torch.tensor([[0.3, -1.2], [1.4, 0.0]], dtype=torch.float64)
    for eps in (1.0, 0.1):
        Y, lw = q.nodes("midpoint", 2000, 1, -2.0, 2.0)
        # separable: ū = Σ_axes ū_1d(x_k), each from a fine 1-D midpoint sum of the same integrand
        brute = sum(q.layer_u(x[:, k:k + 1], Y, lw, q.g_smooth(Y), eps, 1.0) for k in range(2))
        torch.testing.assert_close(q.smooth_exact(x, eps, 1.0, -2.0, 2.0), brute, rtol=0, atol=1e-6)


def test_trapezoid_weights_sum_to_one_and_gauss_is_exact_on_polynomials():
    q = _q()
    for rule in ("endpoint", "trapezoid", "midpoint", "gauss"):
        _, lw = q.nodes(rule, 5, 2, -2.0, 2.0)
        assert abs(lw.exp().sum().item() - 1) < 1e-13
    Y, lw = q.nodes("gauss", 3, 1, -2.0, 2.0)
    assert abs((lw.exp() * Y[:, 0] ** 4).sum().item() - 16 / 5) < 1e-12  # mean of y⁴ on [−2, 2]


def test_quadrature_smoke(run_smoke):
    run_dir, summary = run_smoke("quadrature")
    ids = set(summary.claim_id)
    for d in (1, 2):
        for rule in ("endpoint", "midpoint", "montecarlo"):
            assert f"quadrature.slope.d{d}.{rule}" in ids and f"quadrature.smooth.slope.d{d}.{rule}" in ids
    assert summary.measured.notna().all()
    # the endpoint rule at fixed ε converges no faster than first order in h, the midpoint rule faster
    end = summary.set_index("claim_id").measured
    assert end["quadrature.slope.d1.midpoint"] < end["quadrature.slope.d1.endpoint"] - 0.5
