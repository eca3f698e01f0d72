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


def _start(out: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen([*HJEXP, "run", "identity", "profile=quick", "threads=1", "seed=7", f"out={out}"],
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
