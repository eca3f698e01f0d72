"""The command line: discovery, help, bad input, results layout, re-plotting, sweeps."""

import json
import os

import pandas as pd
import pytest
import torch

from hjexp import registry


def test_list_shows_experiments(cli):
    result = cli("list")
    assert result.exit_code == 0
    assert "identity" in result.output


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["plot", "--help"], ["list", "--help"],
                                  ["report", "--help"], ["bench", "--help"]])
def test_help_everywhere(cli, args):
    assert cli(*args).exit_code == 0


BAD = [
    (["run", "nonexist"], "unknown experiment 'nonexist'; choose one of:"),
    (["run", "identity", "foo=1"], "unknown config key 'foo'"),
    (["run", "identity", "params.nothere=1"], "unknown config key 'params.nothere'"),
    (["run", "identity", "profile=nonsense"], "profile=nonsense is not valid; choose one of: smoke, quick, paper"),
    (["run", "identity", "params.tropical.eps=[0.1,-1]"], "params.tropical.eps must be > 0"),
    (["run", "identity", "params.paper.eps=[0.5,0]"], "params.paper.eps must be > 0"),
    (["run", "identity", "params.t=abc"], "params.t='abc' has the wrong type; expected float"),
    (["run", "identity", "seed=x"], "seed=x is not a valid Integer"),
    (["run", "identity", "params.paper.eps=[]"], "params.paper.eps is an empty grid"),
    (["run", "identity", "params.pde.n_points=0"], "params.pde.n_points must be a positive count"),
]


@pytest.mark.parametrize("args,message", BAD, ids=[" ".join(a[1:]) for a, _ in BAD])
def test_bad_input_is_one_clear_line(cli, tmp_path, args, message):
    result = cli(*args)
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert message in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "outputs").exists()  # nothing half-written presented as a result


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda_is_refused(cli, tmp_path):
    result = cli("run", "identity", "device=cuda", f"out={tmp_path / 'x'}")
    assert result.exit_code != 0
    assert "device=cuda was asked for but this torch sees no CUDA device" in result.output
    assert not (tmp_path / "x").exists()


def test_cfg_prints_resolved_config(cli):
    result = cli("run", "identity", "profile=paper", "--cfg")
    assert result.exit_code == 0
    assert "profile: paper" in result.output and "n_points: 500" in result.output


def test_out_must_be_empty(cli, tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file").write_text("x")
    result = cli("run", "identity", "profile=smoke", f"out={tmp_path / 'busy'}")
    assert result.exit_code != 0 and "already holds files" in result.output


def test_default_layout_latest_and_replot(cli, tmp_path):
    result = cli("run", "identity", "profile=smoke")
    assert result.exit_code == 0, result.output
    root = tmp_path / "outputs" / "identity"
    latest = root / "latest"
    assert latest.is_symlink()
    run_dir = latest.resolve()
    assert run_dir.parent == root and len(run_dir.name.split("_")) == 3  # date_time_hash
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["status"] == "complete" and meta["dtype"] == "float64" and meta["wall_time_s"] > 0
    for f in (run_dir / "figures").iterdir():
        f.unlink()
    result = cli("plot", str(run_dir))
    assert result.exit_code == 0, result.output
    assert len(list((run_dir / "figures").glob("*.png"))) == 3
    assert cli("report").exit_code == 0  # default: every latest run, into outputs/report/
    assert "identity.hopf_cole.max_abs_err" in (tmp_path / "outputs" / "report" / "REPORT.md").read_text()


def test_plot_refuses_non_run(cli, tmp_path):
    result = cli("plot", str(tmp_path))
    assert result.exit_code != 0 and "not a run folder" in result.output


def test_interrupted_run_is_marked_and_not_latest(cli, tmp_path, monkeypatch):
    def boom(ctx):
        raise KeyboardInterrupt

    monkeypatch.setattr(registry.get("identity").module, "measure", boom)
    out = tmp_path / "cut"
    result = cli("run", "identity", "profile=smoke", f"out={out}")
    assert result.exit_code == 130
    assert json.loads((out / "meta.json").read_text())["status"] == "interrupted"
    assert not (out / "summary.csv").exists()


def test_same_seed_same_results(run_smoke, tmp_path):
    a, _ = run_smoke("identity", "seed=3")
    os.rename(a, tmp_path / "first")
    b, _ = run_smoke("identity", "seed=3")
    assert (tmp_path / "first" / "results.csv").read_text() == (b / "results.csv").read_text()


def test_multirun_sweep_through_hydra(cli, tmp_path):
    result = cli("run", "identity", "-m", "profile=smoke", "params.t=0.5,2.0")
    assert result.exit_code == 0, result.output
    sweeps = list((tmp_path / "outputs" / "identity" / "multirun").iterdir())
    assert len(sweeps) == 1
    jobs = sorted(p for p in sweeps[0].iterdir() if p.is_dir())
    assert [j.name for j in jobs] == ["0", "1"]
    ts = []
    for job in jobs:
        assert json.loads((job / "meta.json").read_text())["status"] == "complete"
        ts.append([line for line in (job / "config.yaml").read_text().splitlines() if line.strip().startswith("t:")][0])
    assert ts == ["  t: 0.5", "  t: 2.0"]


def test_multirun_rejects_bad_key_early(cli):
    result = cli("run", "identity", "-m", "profile=smoke", "params.nope=1,2")
    assert result.exit_code != 0 and "unknown config key" in result.output


def test_resume_reuses_finished_units(cli, tmp_path, monkeypatch):
    """An interrupted run resumed with resume=DIR reloads finished units and completes."""
    module = registry.get("identity").module
    real_run, computed, calls = module.measure, [], []

    def unit(key):
        computed.append(key)
        return {"key": key, "value": torch.arange(3)}

    def flaky(ctx):
        calls.append(1)
        first = ctx.cached("unit-a", lambda: unit("a"))
        assert torch.equal(first["value"], torch.arange(3))
        if len(calls) == 1:
            raise KeyboardInterrupt  # dies after unit a is saved
        ctx.cached("unit-b", lambda: unit("b"))
        real_run(ctx)

    monkeypatch.setattr(module, "measure", flaky)
    out = tmp_path / "r"
    assert cli("run", "identity", "profile=smoke", "seed=4", f"out={out}").exit_code == 130
    assert json.loads((out / "meta.json").read_text())["status"] == "interrupted"
    refused = cli("run", "identity", f"resume={out}", "seed=5")
    assert refused.exit_code != 0 and "drop the other overrides" in refused.output
    result = cli("run", "identity", f"resume={out}")
    assert result.exit_code == 0, result.output
    assert computed == ["a", "b"]  # a was not computed twice
    meta = json.loads((out / "meta.json").read_text())
    assert meta["status"] == "complete" and meta["resumed"] and meta["seed"] == 4 and meta["profile"] == "smoke"
    again = cli("run", "identity", f"resume={out}")
    assert again.exit_code != 0 and "already complete" in again.output


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["joblib", "submitit_local"])
def test_multirun_with_process_launchers(cli, tmp_path, launcher):
    """Jobs run in other processes (joblib workers, submitit's local executor) and are aggregated."""
    extra = ["hydra.launcher.n_jobs=2"] if launcher == "joblib" else []
    result = cli("run", "identity", "-m", "profile=smoke", "threads=1", "seed=1,2", f"hydra/launcher={launcher}", *extra)
    assert result.exit_code == 0, result.output
    (sweep,) = (tmp_path / "outputs" / "identity" / "multirun").iterdir()
    for job in ("0", "1"):
        assert json.loads((sweep / job / "meta.json").read_text())["status"] == "complete"
    table = pd.read_csv(sweep / "sweep.csv")
    assert sorted(table.seed.unique()) == [1, 2] and set(table.verdict) == {"pass"}


def test_missing_launcher_is_one_line(cli, monkeypatch):
    from hjexp import sweep

    monkeypatch.setitem(sweep.LAUNCHER_PLUGINS, "joblib", "hydra_plugins.not_installed_here")
    result = cli("run", "identity", "-m", "profile=smoke", "seed=1,2", "hydra/launcher=joblib")
    assert result.exit_code == 2 and "pip install 'hjexp[cluster]'" in result.output


def test_skip_done_skips_only_an_identical_complete_run(cli, tmp_path, monkeypatch):
    from hjexp import runner

    monkeypatch.setattr(runner, "_git_commit", lambda: "abc123")
    assert cli("run", "identity", "profile=smoke", "--skip-done").exit_code == 0
    again = cli("run", "identity", "profile=smoke", "--skip-done")
    assert again.exit_code == 0 and "up to date, skipped" in again.output
    other = cli("run", "identity", "profile=smoke", "seed=9", "--skip-done")
    assert "skipped" not in other.output
    monkeypatch.setattr(runner, "_git_commit", lambda: "def456")  # a new commit re-runs
    assert "skipped" not in cli("run", "identity", "profile=smoke", "seed=9", "--skip-done").output
    assert len(list((tmp_path / "outputs" / "identity").glob("20*"))) == 3
