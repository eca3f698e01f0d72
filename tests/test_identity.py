"""The identity experiment end to end through the CLI, plus its pieces against oracles."""

import json
import math

import torch

from hjexp.engine import closed as L

EXPECTED = {
    "identity.hopf_cole.max_abs_err", "identity.inverse_map.max_abs_err", "identity.pde_residual.max_rel",
    "identity.softplus_gap.max_over_eps_ln2", "identity.lse_max_gap.within_eps_logN",
    "identity.two_layer_relu.slope_in_eps", "identity.relu_two_atoms.max_abs_err",
    "identity.hopf_lax_semigroup.max_over_bound", "identity.viscous_semigroup.err_decreases",
}


def test_identity_smoke_all_pass(run_smoke):
    out, summary = run_smoke("identity")
    assert EXPECTED <= set(summary.claim_id)
    verdicts = dict(zip(summary.claim_id, summary.verdict))
    assert all(verdicts[c] == "pass" for c in EXPECTED), verdicts
    assert summary.set_index("claim_id").loc["identity.hopf_cole.max_abs_err", "measured"] < 1e-12
    assert json.loads((out / "meta.json").read_text())["status"] == "complete"


def test_identity_fails_when_the_identity_is_broken(run_smoke, monkeypatch):
    """The verdict can come out 'fail': perturb u and the identity claim must fail."""
    real = L.hopf_cole
    monkeypatch.setattr(L, "hopf_cole", lambda *a, **k: real(*a, **k) + 1e-9)
    _, summary = run_smoke("identity")
    verdicts = dict(zip(summary.claim_id, summary.verdict))
    assert verdicts["identity.hopf_cole.max_abs_err"] == "fail"


def test_hopf_lax_matches_brute_force_min():
    """u_0 from atoms equals a brute-force minimum over the atoms computed by hand."""
    y = torch.tensor([[-1.0], [0.5], [2.0]], dtype=torch.float64)
    g = torch.tensor([0.3, -0.1, 0.7], dtype=torch.float64)
    t = 0.7
    x = torch.linspace(-3, 3, 41, dtype=torch.float64)[:, None]
    brute = torch.stack([g[j] + (x[:, 0] - y[j, 0]) ** 2 / (4 * t) for j in range(3)]).min(0).values
    assert torch.allclose(L.hopf_lax(x, y, g, t), brute, atol=0, rtol=1e-15)


def test_softplus_is_lse_with_zero():
    z = torch.linspace(-5, 5, 11, dtype=torch.float64)
    eps = 0.3
    pair = torch.stack([z, torch.zeros_like(z)], -1)
    expected = eps * torch.log1p(torch.exp(z / eps))
    assert torch.allclose(L.lse(pair, eps), expected, rtol=1e-13)
    assert math.isclose(float(L.lse(torch.zeros(1, 2, dtype=torch.float64), eps)), eps * math.log(2), rel_tol=1e-14)
