"""Shared fixtures: drive the CLI in-process (torch imports once per session)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import warnings
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
    ours = _HOME_CACHE / "hjexp"
    listing = {str(f): (f.stat().st_mtime_ns, f.stat().st_size) for f in ours.rglob("*") if f.is_file()}
    return listing | {str(entry): (0, 0) for entry in (_HOME_CACHE.iterdir() if _HOME_CACHE.is_dir() else ())}


def _writes_home_cache(event: str, args: tuple) -> str | None:
    """The path or command by which this process would write under ~/.cache, else None."""
    if event == "open":
        path, mode, flags = args
        writing = any(c in mode for c in "wax+") if isinstance(mode, str) else bool(flags & _WRITE_FLAGS)
        paths = [path] if writing else []
    elif event in _PATH_EVENTS:
        paths = [a for a in args[:2] if isinstance(a, str | bytes | os.PathLike)]
    elif event == "subprocess.Popen":  # a child with its own environment must keep the test caches
        _, argv, _, env = args
        if env is not None and any(env.get(k) != os.environ[k] for k in ("HJEXP_CACHE", "XDG_CACHE_HOME")):
            return f"a subprocess without the test caches: {argv}"
        paths = [a for a in (argv if isinstance(argv, list | tuple) else [argv]) if isinstance(a, str)]
    else:
        return None
    for path in paths:
        text = os.fsdecode(path) if not isinstance(path, int) else ""
        if _CACHE_TEXT in text or (text and not text.startswith("/") and ".cache" in text
                                   and os.path.abspath(text).startswith(_CACHE_TEXT)):
            return f"{event} {text}"
    return None


def _audit(event: str, args: tuple) -> None:
    if event in _WATCHED:
        hit = _writes_home_cache(event, args)
        if hit is not None:
            _CACHE_WRITES.append(hit)


# Set when this file is imported, before collection, so that a test module building something at import
# time (the C kernel, a data set) builds it here too: the tool's caches and any XDG-following library's.
_HOME_CACHE = Path.home() / ".cache"
_CACHE_TEXT = str(_HOME_CACHE) + os.sep
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_PATH_EVENTS = {"os.mkdir", "os.rename", "os.remove", "os.rmdir", "os.symlink", "os.link", "os.truncate",
                "shutil.rmtree", "shutil.copyfile", "shutil.move"}
_WATCHED = _PATH_EVENTS | {"open", "subprocess.Popen"}
_CACHE_WRITES: list[str] = []
_TEST_CACHE = Path(tempfile.mkdtemp(prefix="hjexp-test-cache-"))
os.environ["HJEXP_CACHE"] = str(_TEST_CACHE / "hjexp")
os.environ["XDG_CACHE_HOME"] = str(_TEST_CACHE / "xdg")
_HOME_CACHE_BEFORE = _home_cache()
sys.addaudithook(_audit)  # cannot be removed; it only appends to a list


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache():
    """Tests never read or write the user's cache (rebuilt data sets, PCA bases, the compiled kernel).

    The session fails at its end if this process wrote under ~/.cache (every file write, rename, removal
    or new folder, seen by an audit hook) or started a subprocess whose environment dropped the test
    caches. Other changes to ~/.cache/hjexp during the session (or a new folder in ~/.cache) are only
    warned about: they may come from another hjexp process on the machine, which shares that cache."""
    yield
    shutil.rmtree(_TEST_CACHE, ignore_errors=True)
    after = _home_cache()
    changed = sorted(k for k in _HOME_CACHE_BEFORE.keys() | after.keys() if _HOME_CACHE_BEFORE.get(k) != after.get(k))
    assert not _CACHE_WRITES, f"the tests wrote to the user's cache ~/.cache: {_CACHE_WRITES[:10]}"
    if changed:
        warnings.warn(f"~/.cache changed during the tests, not by this process (another hjexp run?): {changed[:10]}",
                      stacklevel=1)


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
    """``engine_pass("c" | "torch" | "compiled")`` makes that backend (engine/backend.py) the active one until
    the test ends; "c" skips the test where the C kernel cannot be built here, "compiled" where
    torch.compile cannot generate code."""
    from contextlib import ExitStack

    from hjexp.engine import backend, compiled, native

    stack = ExitStack()

    def select(name: str) -> None:
        if name == "c" and not native.availability()[0]:
            pytest.skip(f"the C pass cannot run here ({native.availability()[1]})")
        if name == "compiled" and not compiled.available(torch.device("cpu"))[0]:
            pytest.skip(compiled.available(torch.device("cpu"))[1])
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
