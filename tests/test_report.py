"""`hjexp report` over a run and a sweep: Markdown, self-contained HTML, sweep aggregation."""

import pandas as pd


def test_report_of_run_and_sweep(cli, run_smoke, tmp_path):
    run, summary = run_smoke("identity")
    result = cli("run", "identity", "-m", "profile=smoke", "params.t=0.5,2.0")
    assert result.exit_code == 0, result.output
    (sweep,) = (tmp_path / "outputs" / "identity" / "multirun").iterdir()
    out = tmp_path / "rep"
    result = cli("report", str(run), str(sweep), "--out", str(out))
    assert result.exit_code == 0, result.output
    table = pd.read_csv(sweep / "sweep.csv")
    assert sorted(table["params.t"].unique()) == [0.5, 2.0]
    assert len(table) == 2 * len(summary)  # one row per job × claim
    assert (sweep / "figures" / "sweep_params_t.png").exists()
    html = (out / "REPORT.html").read_text()
    md = (out / "REPORT.md").read_text()
    for cid in summary.claim_id:
        assert cid in html and cid in md
    assert html.count("data:image/png;base64,") >= 2  # run figures and the sweep figure, embedded
    assert "pass iff" in html and "| criterion |" in md


def test_report_rejects_what_is_not_a_run(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    result = cli("report", str(tmp_path / "empty"))
    assert result.exit_code == 2 and "neither a run folder" in result.output
    assert cli("report").exit_code == 2  # no runs at all: one line, not a traceback
