"""The C kernels' cache (engine/native_build.py): where it lives, what its key depends on, a rebuild
of a library that cannot load, one compile among concurrent builders, and the reasons
native.availability() gives. Compiles only tiny stand-in libraries (the real build is timed elsewhere);
every test writes into its own temporary cache."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import pytest

from hjexp.engine import native
from hjexp.engine import native_build as build

CC = build.compiler()
needs_cc = pytest.mark.skipif(CC is None, reason="no C compiler here")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HJEXP_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "native"


@pytest.fixture
def tiny_library(tmp_path):
    """A loadable stand-in for the kernels: compile_library fakes copy it (and count their calls)."""
    src = tmp_path / "tiny.c"
    src.write_text("int hj_tiny(void) { return 7; }\n")
    so = tmp_path / "tiny.so"
    subprocess.run([CC, "-shared", "-fPIC", str(src), "-o", str(so)], check=True)
    return so


def test_cache_dir_rule(tmp_path, monkeypatch):
    monkeypatch.setenv("HJEXP_CACHE", str(tmp_path / "mine"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert build.cache_dir() == tmp_path / "mine" / "native"  # HJEXP_CACHE wins
    monkeypatch.delenv("HJEXP_CACHE")
    assert build.cache_dir() == tmp_path / "xdg" / "hjexp" / "native"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert build.cache_dir() == tmp_path / "home" / ".cache" / "hjexp" / "native"


@needs_cc
def test_key_follows_compiler_and_target(monkeypatch):
    base = build.cache_key(CC)
    assert build.cache_key(CC) == base  # deterministic
    monkeypatch.setattr(build, "compiler_version", lambda cc: "gcc (Other) 99.1")
    other_compiler = build.cache_key(CC)
    monkeypatch.undo()
    monkeypatch.setattr(build, "march", lambda cc: "some-other-cpu")
    other_march = build.cache_key(CC)
    assert len({base, other_compiler, other_march}) == 3


@needs_cc
def test_unreadable_cpuinfo_keeps_the_cpu_in_the_key(tmp_path, monkeypatch):
    monkeypatch.setattr(build, "CPUINFO", tmp_path / "no-cpuinfo")
    ident = build.cpu_id(CC)
    assert len(ident) > len(build.platform.machine()) + 10  # more than the architecture name
    monkeypatch.setattr(build, "target_options", lambda cc: "  -mavx512f  [enabled]\n")
    with_avx512 = build.cache_key(CC)
    monkeypatch.setattr(build, "target_options", lambda cc: "  -mavx512f  [disabled]\n")
    assert build.cache_key(CC) != with_avx512  # two node types, two libraries
    assert build.cpu_model()  # some name, not an empty string


@needs_cc
def test_library_that_fails_to_load_is_rebuilt(cache, tiny_library, monkeypatch):
    compiles = []
    monkeypatch.setattr(build, "compile_library", lambda cc, out: (compiles.append(out), out.write_bytes(
        tiny_library.read_bytes())))
    path = build.library_path(CC)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x7fELF truncated")  # a half-copied or foreign library
    lib, got = build.load(CC)
    assert got == path and len(compiles) == 1 and lib.hj_tiny() == 7
    lib, _ = build.load(CC)  # now cached: no second compile
    assert len(compiles) == 1 and lib.hj_tiny() == 7


@needs_cc
def test_concurrent_builders_compile_once(cache, tiny_library, monkeypatch):
    compiles = []

    def slow_compile(cc, out):
        compiles.append(out)
        time.sleep(0.3)  # long enough that every builder arrives while the first compiles
        out.write_bytes(tiny_library.read_bytes())

    monkeypatch.setattr(build, "compile_library", slow_compile)
    out = build.library_path(CC)
    start = threading.Barrier(4)
    got = []

    def builder():
        start.wait()
        got.append(build._locked_build(CC, out))  # each thread opens its own lock file: flock excludes them

    threads = [threading.Thread(target=builder) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(compiles) == 1 and got == [out] * 4


def test_availability_reasons(cache, monkeypatch):
    monkeypatch.setenv("HJEXP_NATIVE", "0")
    assert native._open()["why"] == "HJEXP_NATIVE=0"
    monkeypatch.setenv("HJEXP_NATIVE", "1")
    monkeypatch.setattr(build.platform, "machine", lambda: "riscv64")
    assert native._open()["why"] == "not Linux x86-64"
    monkeypatch.setattr(build, "unsupported_platform", lambda: None)
    monkeypatch.setattr(build, "compiler", lambda: None)
    assert native._open()["why"] == "no C compiler (set CC or install gcc)"


@needs_cc
def test_availability_reports_build_and_load_failures(cache, tmp_path, monkeypatch):
    broken = tmp_path / "broken.c"
    broken.write_text("int hj_broken(void) { return undeclared_name; }\n")
    monkeypatch.setattr(build, "SOURCES", [broken])
    why = native._open()["why"]
    assert why.startswith("build failed: ") and "undeclared_name" in why and "\n" not in why
    monkeypatch.setattr(build, "compile_library", lambda cc, out: out.write_bytes(b"not a library"))
    why = native._open()["why"]
    assert why.startswith("library failed to load: ")


@needs_cc
def test_build_info_is_json():
    info = native.build_info()
    assert set(info) == {"cache_key", "compiler", "march", "cpu_model"}
    assert all(isinstance(v, str) and v for v in info.values())
    assert info["cache_key"] == build.cache_key(CC) and info["compiler"] == build.compiler_version(CC)
    json.dumps(info)


def test_library_is_loaded_from_the_test_cache():
    """conftest points HJEXP_CACHE at a temporary folder: the kernels a test builds land there."""
    ok, _ = native.availability()
    if ok:
        assert Path(native._state["path"]).is_relative_to(build.cache_dir())
