"""The influence experiment through the CLI; the cost rule on synthetic timings; the brute forces by hand."""

import importlib
import math

import pandas as pd
import torch

from hjexp.registry import PACKAGE, experiments


def _measure():
    experiments()
    return importlib.import_module(f"{PACKAGE}.influence.measure")


def test_influence_smoke_verdicts_and_cost_rule(run_smoke, cli):
    out, summary = run_smoke("influence", "threads=1")
    verdicts = dict(zip(summary.claim_id, summary.verdict))
    assert verdicts["influence.matches_autograd.max_abs_err"] == "pass"
    assert verdicts["influence.leave_one_out.max_abs_err"] == "pass"
    assert verdicts["influence.brute_force.cost_exponent"] == "info"

    assert verdicts["influence.cost_exponent"] == "pass" and verdicts["influence.cost_exponent.wall"] == "info"
    assert verdicts["influence.loo_training_point"] == "pass"
    assert set(summary.claim_id) == set(verdicts) and len(verdicts) == 6

    def rejudge(power_closed: float, power_brute: float) -> dict:
        N = [2**k for k in range(4, 13)]
        # operation counts are integers (the contract's dtype): the synthetic costs are rounded
        rows = [dict(method="closed_form", N=n, matmul_flops=0, other_elements=round(3 * power_closed(n)),
                     ops_per_query=round(3 * power_closed(n))) for n in N]
        rows += [dict(method="autograd", N=n, matmul_flops=0, other_elements=4 * n, ops_per_query=4 * n) for n in N]
        rows += [dict(method="leave_one_out", N=n, matmul_flops=0, other_elements=round(n**power_brute),
                      ops_per_query=round(n**power_brute)) for n in N]
        pd.DataFrame(rows).to_csv(out / "op_counts.csv", index=False)
        assert cli("judge", str(out)).exit_code == 0
        s = pd.read_csv(out / "summary.csv").set_index("claim_id")
        return dict(zip(s.index, zip(s.verdict, s.measured)))

    linear = rejudge(lambda n: 5 + n, 2.0)  # affine: local exponent just below 1
    assert linear["influence.cost_exponent"][0] == "pass" and linear["influence.cost_exponent"][1] <= 1.0
    assert math.isclose(linear["influence.brute_force.cost_exponent"][1], 2.0, rel_tol=1e-9)
    assert rejudge(lambda n: n * math.log(n), 2.0)["influence.cost_exponent"][0] == "fail"  # N log N is caught
    assert rejudge(lambda n: n * n, 2.0)["influence.cost_exponent"][0] == "fail"  # an O(N²) "closed form" is caught

    # mutation: predictions unrelated to the actual leave-one-out changes must fail
    loo = pd.read_csv(out / "loo.csv")
    loo["predicted"] = loo.predicted.sample(frac=1.0, random_state=0).to_numpy()
    loo.to_csv(out / "loo.csv", index=False)
    assert cli("judge", str(out)).exit_code == 0
    s = pd.read_csv(out / "summary.csv").set_index("claim_id")
    assert s.verdict["influence.loo_training_point"] == "fail", s.description["influence.loo_training_point"]


def test_op_count_by_hand():
    """The closed form at d = 8 for one query: a [1, d]·[d, N] product (2dN FLOPs), the bias add, the
    division by ε and the softmax write N elements each: (2d + 3)N; the counter must find exactly that."""
    experiments()
    counts = importlib.import_module(f"{PACKAGE}.influence.counts")
    m = _measure()
    for N in (16, 1000):
        W, b, x = (torch.empty(*s, dtype=torch.float64, device="meta") for s in ((1, N, 8), (1, N), (1, 8)))
        mm, other = counts.count(lambda: m.closed_form(x, W, b, 0.1))
        assert (mm, other) == (2 * 8 * N, 3 * N)


def test_loo_jacobian_is_pi_and_refits_converge():
    """∂u/∂g = π (autograd against the closed form), and the batched refit reaches a vanishing gradient in
    every member; the prediction for the full member (nothing left out) is the change of a refit."""
    from types import SimpleNamespace as NS

    from torch.func import jacrev

    experiments()
    loo = importlib.import_module(f"{PACKAGE}.influence.loo")
    gen = torch.Generator().manual_seed(0)
    y = torch.linspace(-2, 2, 6, dtype=torch.float64)[:, None]
    g = 0.3 * torch.randn(6, generator=gen, dtype=torch.float64)
    x = 4 * torch.rand(9, 1, generator=gen, dtype=torch.float64) - 2
    jac = jacrev(loo._u_g)(g, y, x, 0.3, 0.1)  # [9, 6]
    pi = torch.softmax(-(g + (x - y.T) ** 2 / 0.4) / 0.3, -1)
    assert torch.allclose(jac, pi, atol=1e-14, rtol=0)
    q = NS(eps=0.3, t=0.1, gauss_newton_steps=20, newton_steps=5)
    target = loo._u_g(g, y, x, 0.3, 0.1) + 0.05 * torch.randn(9, generator=gen, dtype=torch.float64)
    fits, weight, gnorm = loo.retrain(q, x, target, y)
    assert fits.shape == (10, 6) and bool((weight.sum(-1) == torch.tensor([9] + [8] * 9)).all())
    assert float(gnorm.max()) < 1e-10


def test_brute_forces_recover_pi_by_hand():
    """Three atoms, π written out by hand; autograd and leave-one-out must both give it back."""
    m = _measure()
    z = torch.tensor([[0.2, -0.5, 1.1]], dtype=torch.float64)
    eps = 0.4
    e = [math.exp(v / eps) for v in z[0].tolist()]
    pi = torch.tensor([[v / sum(e) for v in e]], dtype=torch.float64)
    assert torch.allclose(m.by_autograd(z, eps), pi, rtol=1e-14)
    assert torch.allclose(m.leave_one_out(z, eps, chunk_elements=6), pi, rtol=1e-13)


def test_brute_force_beyond_reach_is_one_clear_line(cli, tmp_path):
    result = cli("run", "influence", "params.timing.log2_n_max_brute=15", f"out={tmp_path / 'x'}")
    assert result.exit_code != 0
    assert "takes minutes per query" in " ".join(result.output.split()) and "Traceback" not in result.output
    assert not (tmp_path / "x").exists()
