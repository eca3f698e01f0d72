"""Draws on the CPU generator whatever the device (hjexp/draws.py): the numbers a run draws are the same
bytes under device=cpu and elsewhere. No GPU here, so "elsewhere" is the meta device, which holds no
numbers at all: every draw that reaches it must have been made on the CPU first."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace

import torch
from rich.console import Console

from hjexp import config, registry
from hjexp.context import RunContext
from hjexp.draws import CpuDraws

META = torch.device("meta")


def _recorded(fn) -> list[torch.Tensor]:
    """Every CPU draw ``fn`` makes with a CPU generator (a recording mode on the CPU itself)."""
    seen: list[torch.Tensor] = []
    with CpuDraws(record=seen):
        fn()
    return seen


def test_factories_in_place_and_tensor_draws_move_the_cpu_numbers():
    def draws(device):
        g = torch.Generator().manual_seed(5)
        w = torch.empty(3, 4, device=device)
        w.normal_(generator=g)
        return [w, torch.randn(6, generator=g, device=device), torch.randint(0, 9, (4,), generator=g, device=device),
                torch.randperm(7, generator=g, device=device), torch.rand(2, 2, generator=g, device=device)]  # draw order

    on_cpu = draws("cpu")
    seen: list[torch.Tensor] = []
    with CpuDraws(record=seen):
        on_meta = draws(META)
    assert all(t.device == META for t in on_meta)
    assert len(seen) == len(on_cpu)
    for a, b in zip(seen, on_cpu):
        assert a.dtype == b.dtype and a.numpy().tobytes() == b.numpy().tobytes()


def _ctx(device: torch.device) -> RunContext:
    cfg = config.load("rate-sweep", ["profile=smoke"])
    return RunContext("rate-sweep", cfg.params, "smoke", device, torch.float32, 0, Path("."), Console(quiet=True),
                      logging.getLogger("test"))


def test_a_smoke_runs_data_are_the_same_bytes_under_a_meta_default_device():
    """rate-sweep's draws at smoke (targets, inputs, noise, test points for every family and d), once on
    the CPU and once with meta as the run's and torch's default device."""
    registry._package()  # imports the experiments' package
    from hjexp_experiments.rate_sweep import draws

    def every_draw(ctx):
        p = ctx.params
        for family in p.families:
            for d in p.dims:
                draws.draw(ctx, p, family, int(d))

    on_cpu = _recorded(lambda: every_draw(_ctx(torch.device("cpu"))))
    seen: list[torch.Tensor] = []
    with torch.device(META), CpuDraws(record=seen):
        every_draw(_ctx(META))
    assert len(on_cpu) > 10 and len(seen) == len(on_cpu)
    assert all(a.numpy().tobytes() == b.numpy().tobytes() for a, b in zip(seen, on_cpu))


def test_the_run_context_hands_out_cpu_generators():
    ctx = SimpleNamespace(seed=3)
    gen = RunContext.generator(ctx, 2)
    assert gen.device.type == "cpu"
    assert torch.equal(torch.randn(3, generator=gen), torch.randn(3, generator=RunContext.generator(ctx, 2)))


def test_cpu_runs_do_not_enter_the_mode(cli, monkeypatch):
    """On the CPU the runner does not enter CpuDraws (no per-op cost): a run works with the mode broken."""
    import hjexp.runner as runner

    class Broken(CpuDraws):
        def __torch_function__(self, *a, **k):
            raise AssertionError("CpuDraws entered on the CPU")

    monkeypatch.setattr(runner, "CpuDraws", Broken)
    assert cli("run", "identity", "profile=smoke", "device=cpu").exit_code == 0
