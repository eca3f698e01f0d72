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
    assert set(summary.claim_id) == set(verdicts) and len(verdicts) == 4

    def rejudge(power_closed: float, power_brute: float) -> dict:
        N = [2**k for k in range(4, 13)]
        rows = [dict(method="closed_form", N=n, queries_per_call=1, clock="process_cpu", seconds_per_query=1e-8 * n**power_closed) for n in N]
        rows += [dict(method="autograd", N=n, queries_per_call=1, seconds_per_query=2e-8 * n) for n in N]
        rows += [dict(method="leave_one_out", N=n, queries_per_call=1, seconds_per_query=1e-9 * n**power_brute) for n in N]
        pd.DataFrame(rows).to_csv(out / "timings.csv", index=False)
        assert cli("judge", str(out)).exit_code == 0
        s = pd.read_csv(out / "summary.csv").set_index("claim_id")
        return dict(zip(s.index, zip(s.verdict, s.measured)))

    linear = rejudge(1.0, 2.0)
    assert linear["influence.cost_exponent"][0] == "pass"
    assert math.isclose(linear["influence.cost_exponent"][1], 1.0, rel_tol=1e-9)
    assert math.isclose(linear["influence.brute_force.cost_exponent"][1], 2.0, rel_tol=1e-9)
    assert rejudge(2.0, 2.0)["influence.cost_exponent"][0] == "fail"  # an O(N²) "closed form" is caught
    assert rejudge(1.4, 2.0)["influence.cost_exponent"][0] == "inconclusive"


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
