"""`make gpu-check`'s dry run on the CPU (DEV=cpu GPU_PROFILE=smoke): the script runs end to end, its
references agree, and the torch pass's steps have no host sync."""

from __future__ import annotations

import json

from hjexp import gpu_check


def test_gpu_check_dry_run_on_the_cpu(tmp_path, one_thread):
    rc = gpu_check.main(["--device", "cpu", "--profile", "smoke", "--out", str(tmp_path)])
    report = json.loads((tmp_path / "gpu-check.json").read_text())
    failed = [c for c in report["checks"] if not c["ok"]]
    assert not failed, failed
    # engine=compiled adds two training checks where torch.compile can generate code
    assert len(report["checks"]) == 6 + 2 * len(gpu_check.torch_engines(gpu_check.torch.device("cpu")))
    syncs = {c["workload"]: c["syncs"] for c in report["counts"]}
    assert syncs == {"d=2 sweep": 0, "PGD, engine.pgd": 0}
    runs = [r for r in report["experiments"] if "experiment" in r]
    assert [r["rc"] for r in runs] == [0, 0] and all(r["verdicts"] for r in runs), runs
    assert rc == 0 and report["ok"]


def test_a_wrong_reference_fails_the_check(monkeypatch):
    """The comparison can fail: a pass whose loss is off by 1 % is caught."""
    from hjexp import engine

    real = engine.loss
    monkeypatch.setattr(engine, "loss", lambda *a, **k: 1.01 * real(*a, **k))
    rows = gpu_check.check_pass(gpu_check.torch.device("cpu"))
    assert not any(r["ok"] for r in rows)
