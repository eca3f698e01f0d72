"""The attention experiment end to end through the CLI, and a mutation that must turn it to fail."""

import importlib

import torch

from hjexp.registry import PACKAGE, experiments

EXPECTED = {
    "attention.gibbs.max_abs_err.d4": "pass", "attention.gibbs.max_abs_err.d16": "pass",
    "attention.gibbs.max_abs_err.d64": "pass", "attention.layernorm.max_abs_err": "pass",
    "attention.lse_ffn.max_abs_err": "pass", "attention.authors_check.max_abs_diff": "info",
}


def _measure_module():
    experiments()  # registers the experiments package
    return importlib.import_module(f"{PACKAGE}.attention.measure")


def test_attention_smoke_verdicts(run_smoke):
    _, summary = run_smoke("attention", "threads=1")
    assert dict(zip(summary.claim_id, summary.verdict)) == EXPECTED
    measured = summary.set_index("claim_id").measured
    assert measured["attention.authors_check.max_abs_diff"] == 0  # same operations: exactly 0, hence no evidence
    assert 0 < measured["attention.gibbs.max_abs_err.d64"] < 1e-13  # roundoff, not an identical computation


def test_attention_fails_when_one_path_is_perturbed(run_smoke, monkeypatch):
    """Perturb the autograd path by 1e-9: every Gibbs claim must fail, the untouched FFN identity must not."""
    m = _measure_module()
    real = m.gibbs_average
    monkeypatch.setattr(m, "gibbs_average", lambda *a: real(*a) + 1e-9)
    _, summary = run_smoke("attention", "threads=1", "params.dims=[4,8]", "params.n_trials=4")
    verdicts = dict(zip(summary.claim_id, summary.verdict))
    assert verdicts["attention.gibbs.max_abs_err.d4"] == "fail"
    assert verdicts["attention.gibbs.max_abs_err.d8"] == "fail"
    assert verdicts["attention.layernorm.max_abs_err"] == "fail"
    assert verdicts["attention.lse_ffn.max_abs_err"] == "pass"


def test_autograd_path_is_the_softmax_average():
    """The hand-written LSE's autograd gradient against softmax computed by hand in float64."""
    m = _measure_module()
    g = torch.Generator().manual_seed(0)
    Q, K, V = (torch.randn(2, n, 4, generator=g, dtype=torch.float64) for n in (3, 5, 5))
    z = Q @ K.transpose(-1, -2) / 2.0  # ε = √4
    w = torch.exp(z - z.amax(-1, keepdim=True))
    by_hand = (w / w.sum(-1, keepdim=True)) @ V
    assert torch.allclose(m.gibbs_average(Q, K, V), by_hand, rtol=0, atol=1e-14)


def test_dimension_one_is_one_clear_line(cli, tmp_path):
    result = cli("run", "attention", "params.dims=[1,4]", f"out={tmp_path / 'x'}")
    assert result.exit_code != 0
    assert "every d must be an integer ≥ 2" in " ".join(result.output.split()) and "Traceback" not in result.output
    assert not (tmp_path / "x").exists()
