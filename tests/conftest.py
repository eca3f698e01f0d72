"""Shared fixtures: drive the CLI in-process (torch imports once per session)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from hjexp.cli import app


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="also run tests marked slow")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: longer than a few seconds; run with --runslow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: use --runslow (make test-full)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    """Tests never read or write the user's cache (rebuilt data sets, PCA bases, the compiled kernel)."""
    import os

    before = os.environ.get("HJEXP_CACHE")
    os.environ["HJEXP_CACHE"] = str(tmp_path_factory.mktemp("hjexp-cache"))
    yield
    if before is None:
        os.environ.pop("HJEXP_CACHE", None)
    else:
        os.environ["HJEXP_CACHE"] = before


@pytest.fixture(autouse=True)
def _isolated_outputs(tmp_path, monkeypatch):
    """Runs without out= land in a temp outputs/ root, never in the repository."""
    monkeypatch.setenv("HJEXP_OUTPUTS", str(tmp_path / "outputs"))


@pytest.fixture
def one_thread():
    """One torch thread, as CLI runs on a shared box use (threads=1): multi-threaded eigh and
    GEMM regions stall at their barriers when the cores are busy."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def engine_pass():
    """``engine_pass("c" | "torch")`` makes that backend (engine/backend.py) the active one until the test
    ends; "c" skips the test where the C kernel cannot be built here."""
    from contextlib import ExitStack

    from hjexp.engine import backend, native

    stack = ExitStack()

    def select(name: str) -> None:
        if name == "c" and not native.availability()[0]:
            pytest.skip(f"the C pass cannot run here ({native.availability()[1]})")
        stack.enter_context(backend.use(name))

    with stack:
        yield select


@pytest.fixture
def cli():
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    return invoke


@pytest.fixture
def run_smoke(cli, tmp_path):
    """`hjexp run NAME profile=smoke out=<tmp>` -> (run_dir, summary DataFrame); asserts success."""

    def go(name: str, *overrides: str) -> tuple[Path, pd.DataFrame]:
        out = tmp_path / f"run-{name}"
        result = cli("run", name, "profile=smoke", f"out={out}", *overrides)
        assert result.exit_code == 0, result.output
        for f in ("config.yaml", "results.csv", "summary.csv", "meta.json", "run.log"):
            assert (out / f).exists(), f"{f} missing"
        summary = pd.read_csv(out / "summary.csv")
        assert list(summary.columns) == ["claim_id", "kind", "description", "theory", "measured", "ci_low", "ci_high",
                                         "criterion", "verdict"]
        assert set(summary.verdict) <= {"pass", "fail", "inconclusive", "info"}
        assert list((out / "figures").glob("*.png")) and list((out / "figures").glob("*.pdf"))
        return out, summary

    return go
