"""The engine's backend (engine/backend.py): the run key engine=auto|c|torch|compiled|graphs, resolved once, active while
measure runs, recorded in meta.json and compared by --skip-done."""

from __future__ import annotations

import json

import pytest
import torch

from hjexp.engine import backend, kernel, native
from hjexp.engine.models import init_lse
from hjexp.errors import UserError


def test_resolution_and_its_one_line_refusals(monkeypatch):
    assert backend.resolve("torch").name == "torch"
    auto_gpu = backend.resolve("auto", "cuda")  # needs no GPU: resolution only reads the device's type
    assert auto_gpu.name == "torch" and "cuda" in auto_gpu.reason
    with pytest.raises(UserError, match="engine=c runs on the CPU only"):
        backend.resolve("c", "cuda")
    with pytest.raises(UserError, match="engine=fast is not valid; choose one of: auto, c, torch, compiled, graphs"):
        backend.resolve("fast")
    monkeypatch.setattr(native, "availability", lambda: (False, "no C compiler (set CC or install gcc)"))
    fallback = backend.resolve("auto")
    assert fallback.name == "torch" and fallback.reason == "no C compiler (set CC or install gcc)"
    with pytest.raises(UserError) as err:
        backend.resolve("c")
    assert "\n" not in str(err.value) and "no C compiler" in str(err.value)


def test_engine_compiled_resolves_and_refuses_without_a_cpp_compiler(monkeypatch):
    import shutil

    with monkeypatch.context() as m:
        m.setattr(shutil, "which", lambda _name: None)
        with pytest.raises(UserError) as err:
            backend.resolve("compiled")
    assert "\n" not in str(err.value) and "no C++ compiler" in str(err.value)
    if shutil.which("g++") is None and shutil.which("c++") is None:
        pytest.skip("no C++ compiler here: engine=compiled cannot resolve")
    chosen = backend.resolve("compiled")
    assert chosen.compiled and not chosen.c and "torch.compile" in chosen.reason


def test_engine_graphs_is_cuda_only_and_says_so_in_one_line():
    with pytest.raises(UserError) as err:
        backend.resolve("graphs", "cpu")
    assert "\n" not in str(err.value) and "CUDA" in str(err.value) and "engine=compiled" in str(err.value)
    from hjexp.engine import compiled

    if not compiled.available(torch.device("cuda"))[0]:
        pytest.skip(compiled.available(torch.device("cuda"))[1])
    chosen = backend.resolve("graphs", "cuda")  # needs no GPU: resolution reads the device's type and Triton
    assert chosen.compiled and chosen.compile_mode == "reduce-overhead" and "CUDA graphs" in chosen.reason
    assert backend.resolve("compiled", "cuda").compile_mode is None


def test_use_selects_the_pass_and_restores_the_previous_one():
    if not native.availability()[0]:
        pytest.skip(f"the C pass cannot run here ({native.availability()[1]})")
    model = init_lse(2, 5, 2, torch.tensor([0.1, 0.2]), w_scale=1.0, b_scale=0.1, generator=torch.Generator().manual_seed(0))
    x = torch.randn(30, 2, generator=torch.Generator().manual_seed(1))
    outer = backend.active()
    with backend.use("torch"):
        assert not kernel.groups(model, x)[0].use_c
        with backend.use("c"):
            assert kernel.groups(model, x)[0].use_c
        assert backend.active().name == "torch"
    assert backend.active() is outer


def test_a_run_records_its_backend_and_skip_done_compares_it(cli, tmp_path, monkeypatch):
    from hjexp import runner

    monkeypatch.setattr(runner, "_git_commit", lambda: "abc123")
    assert cli("run", "identity", "profile=smoke", "engine=torch", "--skip-done").exit_code == 0
    meta_path = next((tmp_path / "outputs" / "identity").glob("20*")) / "meta.json"
    meta = json.loads(meta_path.read_text())
    assert meta["engine"]["backend"] == "torch" and meta["engine"]["torch"] == torch.__version__
    assert meta["engine"]["cpu_model"]
    assert "up to date, skipped" in cli("run", "identity", "profile=smoke", "engine=torch", "--skip-done").output
    meta["engine"]["torch"] = "0.0.1"  # the same config run under another torch is not the same run
    meta_path.write_text(json.dumps(meta))
    assert "skipped" not in cli("run", "identity", "profile=smoke", "engine=torch", "--skip-done").output


def test_engine_c_records_the_kernel(cli, tmp_path):
    if not native.availability()[0]:
        pytest.skip(f"the C pass cannot run here ({native.availability()[1]})")
    assert cli("run", "recovery", "profile=smoke", "engine=c", f"out={tmp_path / 'run'}").exit_code == 0
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    assert meta["engine"]["backend"] == "c" and meta["engine"]["kernel"]["cache_key"]
