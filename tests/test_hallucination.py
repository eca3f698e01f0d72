"""The hallucination experiment through the CLI, and its pieces against cases solved by hand."""

import importlib
import math

import torch

from hjexp.registry import PACKAGE, experiments

EXPECTED = {"hallucination.bound_holds": "pass", "hallucination.bound_tightness": "info",
            "hallucination.curvature_peak.slope": "pass", "hallucination.diffusion_radius.outside_fraction": "info"}


def _measure():
    experiments()
    return importlib.import_module(f"{PACKAGE}.hallucination.measure")


def test_hallucination_smoke_verdicts(run_smoke):
    _, summary = run_smoke("hallucination", "threads=1")
    assert dict(zip(summary.claim_id, summary.verdict)) == EXPECTED
    measured = summary.set_index("claim_id").measured
    assert 0 < measured["hallucination.bound_tightness"] <= 1


def test_bound_is_attained_when_all_runners_up_tie():
    """z = (Δ, 0, …, 0): f_ε − max = ε log(1 + (N−1)e^(−Δ/ε)) exactly, so gap/bound = 1."""
    m = _measure()
    N, eps = 7, 0.3
    delta = torch.tensor([0.0, 0.1, 1.0, 3.0], dtype=torch.float64)
    z = torch.zeros(4, N, dtype=torch.float64)
    z[:, 0] = delta
    gap, bound, measured_delta = m.gap_and_bound(z, eps)
    assert torch.allclose(measured_delta, delta)
    by_hand = torch.tensor([eps * math.log(1 + (N - 1) * math.exp(-d / eps)) for d in delta.tolist()], dtype=torch.float64)
    assert torch.allclose(gap, by_hand, rtol=1e-13)
    assert torch.allclose(bound, by_hand, rtol=1e-13)


def test_tie_points_lie_on_ties_and_curvature_matches_two_neurons():
    """Projected points have z_i = z_j for their top two; with a third neuron far below, the
    variance there is |w_i − w_j|²/4 (π = ½, ½)."""
    m = _measure()
    W = torch.tensor([[[1.0, 0.0], [-1.0, 0.5], [0.0, 0.0]]], dtype=torch.float64)
    b = torch.tensor([[0.0, 0.0, -50.0]], dtype=torch.float64)
    x = torch.tensor([[0.3, 0.2], [-0.7, 1.0], [2.0, -1.0]], dtype=torch.float64)
    xt, valid, two = m.tie_points(x, W, b)
    assert bool(valid.all())
    z = xt @ W[0].T + b[0]  # [n, 3]
    assert torch.allclose(z[..., 0], z[..., 1], atol=1e-14)
    var = m.weight_variance(z[None], W, 0.1)[0]
    assert torch.allclose(var, torch.full_like(var, (4 + 0.25) / 4), rtol=1e-12)
    assert torch.allclose(two[0], torch.full((3,), (4 + 0.25) / 4, dtype=torch.float64))


def test_empty_domain_is_one_clear_line(cli, tmp_path):
    result = cli("run", "hallucination", "params.domain=[1.0,-1.0]", f"out={tmp_path / 'x'}")
    assert result.exit_code != 0
    assert "must be [lo, hi] with lo < hi" in " ".join(result.output.split()) and "Traceback" not in result.output
    assert not (tmp_path / "x").exists()
