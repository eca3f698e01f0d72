"""Shared fixtures: drive the CLI in-process (torch imports once per session)."""

from __future__ import annotations

import os
import shutil
import tempfile
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


def _home_cache() -> dict[str, tuple[int, int]]:
    """What the suite must leave alone: every file under ~/.cache/hjexp by (mtime, size), and the names of
    the folders in ~/.cache (other programs rewrite theirs, e.g. pip; a new one would be the suite's)."""
    home = Path.home() / ".cache"
    ours = home / "hjexp"
    listing = {str(f): (f.stat().st_mtime_ns, f.stat().st_size) for f in ours.rglob("*") if f.is_file()}
    return listing | {str(entry): (0, 0) for entry in (home.iterdir() if home.is_dir() else ())}


# Set when this file is imported, before collection, so that a test module building something at import
# time (the C kernel, a data set) builds it here too: the tool's caches and any XDG-following library's.
_TEST_CACHE = Path(tempfile.mkdtemp(prefix="hjexp-test-cache-"))
os.environ["HJEXP_CACHE"] = str(_TEST_CACHE / "hjexp")
os.environ["XDG_CACHE_HOME"] = str(_TEST_CACHE / "xdg")
_HOME_CACHE_BEFORE = _home_cache()


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache():
    """Tests never read or write the user's cache (rebuilt data sets, PCA bases, the compiled kernel):
    the session fails at its end when anything under ~/.cache/hjexp, or the set of folders in ~/.cache,
    differs from what it was before collection."""
    yield
    shutil.rmtree(_TEST_CACHE, ignore_errors=True)
    after = _home_cache()
    changed = sorted(k for k in _HOME_CACHE_BEFORE.keys() | after.keys() if _HOME_CACHE_BEFORE.get(k) != after.get(k))
    assert not changed, f"the tests changed the user's cache (HJEXP_CACHE/XDG_CACHE_HOME not followed?): {changed[:10]}"


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
