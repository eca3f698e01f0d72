"""scaling-dim: smoke run through the CLI and bad input."""

from __future__ import annotations

import pandas as pd


def test_scaling_dim_smoke(run_smoke):
    run_dir, summary = run_smoke("scaling-dim")
    ids = set(summary.claim_id)
    for d in (1, 2):
        assert f"scaling.paper.alpha.d{d}" in ids
        assert f"scaling.manifold.alpha.dint{d}" in ids and f"scaling.manifold.deff_vs_twonn.dint{d}" in ids
    res = pd.read_csv(run_dir / "results.csv")
    assert {"test_rmse", "train_rmse", "width", "seed", "eps", "eps_mode"} <= set(res.columns)
    assert (res.test_rmse > 0).all() and res.test_rmse.notna().all()
    # training reduced the loss: trained RMSE well below the RMSE of predicting the mean target (~0.5 here)
    sel = res[(res.setup == "authors") & (res.d == 1)]
    assert sel.train_rmse.median() < 0.3
    dims = pd.read_csv(run_dir / "intrinsic_dim.csv")
    assert ((dims.twonn - dims.d_int).abs() < 0.5).all()
    assert (run_dir / "figures" / "scaling_alpha_vs_dint.png").exists()


def test_scaling_dim_rejects_bad_eps_mode(cli, tmp_path):
    result = cli("run", "scaling-dim", "profile=smoke", f"out={tmp_path / 'x'}", "params.manifold.eps_modes=[tied,bogus]")
    assert result.exit_code != 0
    assert "eps_modes" in result.output
