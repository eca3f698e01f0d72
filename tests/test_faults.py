"""Faults in real processes: signals mid-run, resume to identical CSVs, concurrent run folders."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from hjexp.results import new_run_dir

HJEXP = [sys.executable, "-c", "from hjexp.cli import main; main()"]
# The run to interrupt (patched in the child only): SIGINT gets Python's handler back, because a suite
# started as a background job (`make test &`) hands its children SIGINT ignored and Python then installs
# none (the run finished with rc 0); and each saved unit is followed by a 1 s pause, so the signal lands
# between units however fast identity's four (~1 s at quick) run.
PAUSED = [sys.executable, "-c", "import signal, time\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"
          "from hjexp.context import RunContext\nsave = RunContext.cached\n"
          "def paused(self, key, compute):\n    out = save(self, key, compute)\n    time.sleep(1)\n    return out\n"
          "RunContext.cached = paused\nfrom hjexp.cli import main\nmain()"]


def _start(out: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen([*PAUSED, "run", "identity", "profile=quick", "threads=1", "seed=7", f"out={out}"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)


def _interrupt_after_first_unit(proc: subprocess.Popen, out: Path, signum: int) -> None:
    deadline = time.time() + 180
    while not list((out / "checkpoints").glob("*.pt")):
        assert proc.poll() is None, proc.stdout.read().decode()
        assert time.time() < deadline, "no unit finished within 180 s"
        time.sleep(0.02)
    proc.send_signal(signum)
    proc.wait(timeout=120)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_marks_interrupted_and_resume_matches_uninterrupted(signum, tmp_path, cli):
    env = {**os.environ, "HJEXP_OUTPUTS": str(tmp_path / "outputs")}
    out = tmp_path / "cut"
    proc = _start(out, env)
    _interrupt_after_first_unit(proc, out, signum)
    assert proc.returncode == 130, proc.stdout.read().decode()
    meta = json.loads((out / "meta.json").read_text())
    assert meta["status"] == "interrupted"
    finished = sorted(p.name for p in (out / "checkpoints").glob("*.pt"))
    assert finished and not (out / "summary.csv").exists()
    if signum == signal.SIGTERM:
        return  # the resume path is the same for both signals; run it once
    resumed = subprocess.run([*HJEXP, "run", "identity", f"resume={out}"], capture_output=True, env=env)
    assert resumed.returncode == 0, resumed.stdout.decode() + resumed.stderr.decode()
    assert json.loads((out / "meta.json").read_text())["status"] == "complete"
    whole = tmp_path / "whole"
    assert cli("run", "identity", "profile=quick", "threads=1", "seed=7", f"out={whole}").exit_code == 0
    for name in ("results.csv", "summary.csv"):
        assert (out / name).read_bytes() == (whole / name).read_bytes(), name


def test_concurrent_runs_never_share_a_folder(tmp_path):
    made, errors = [], []

    def claim():
        try:
            made.append(new_run_dir(tmp_path, "identity", "same config"))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=claim) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(made) == 16 and len(set(made)) == 16


def test_a_diverged_member_is_named_marked_and_kept_out_of_the_fits(cli, tmp_path, monkeypatch):
    """Force NaN into one trained member: the run completes, names it with its config values, marks it
    in results.csv, and every other member and claim is computed as usual."""
    import math

    import pandas as pd

    from hjexp import engine

    real, calls = engine.train, []

    def poisoned(model, *args, **kwargs):
        if not calls:
            model.g[0, 0] = math.nan  # the first member of the first training batch
        calls.append(1)
        return real(model, *args, **kwargs)

    monkeypatch.setattr(engine, "train", poisoned)
    out = tmp_path / "nan"
    result = cli("run", "rate-sweep", "profile=smoke", "threads=1", f"out={out}")
    assert result.exit_code == 0, result.output
    assert "member diverged" in result.output and "seed=" in result.output
    rows = pd.read_csv(out / "results.csv")
    flagged = rows[rows.diverged == True]  # noqa: E712 (a pandas column of True/False/NaN)
    assert len(flagged) == 1 and math.isnan(flagged.train_rmse.iloc[0])
    assert rows[(rows.diverged == False) & rows.rmse.notna()].rmse.map(math.isfinite).all()  # noqa: E712
    summary = pd.read_csv(out / "summary.csv")
    assert summary.verdict.isin(["pass", "fail", "inconclusive", "info"]).all()
