"""The torch pass as a GPU would run it, checked on a CPU: what one training step dispatches
(engine.opcount's TorchDispatchMode: launched ops and host syncs), the device-sized plan
(engine.torch_pass.TorchPlan; the CUDA plan simulated with a stated free memory), and that the
sync-free trainer still gives the answers of autograd and of the C pass, stopping rule included."""

from __future__ import annotations

import pytest
import test_fast_train as ref  # the trainer's references (tests/ is on sys.path under pytest)
import torch

from hjexp import bench, engine
from hjexp.engine import kernel, native, opcount, torch_pass

pytestmark = pytest.mark.usefixtures("one_thread")
CPU = torch.device("cpu")
CUDA_PLAN = torch_pass.TorchPlan.for_device("cuda", free_bytes=80 << 30)  # an H100's memory, simulated
MAX_D2_LAUNCHES = 60  # the issue's bound for the authors' d = 2 sweep at the CUDA plan


@pytest.fixture
def torch_path(engine_pass):
    engine_pass("torch")


def _record(train, steps: int = 5) -> opcount.Recorder:
    with opcount.Recorder() as rec:
        train(steps, rec.mark)
    return rec


def test_recorder_sees_syncs_and_skips_views():
    """The recorder can fail: each classic sync is counted, views are not launches."""
    t = torch.randn(4, 3)
    cases = [(lambda: float(t.sum()), 1), (lambda: bool((t > 0).any()), 1), (lambda: t[t > 0], 1),
             (lambda: torch.nonzero(t), 1), (lambda: int(t.argmax()), 1), (lambda: t + 1, 0)]
    for fn, syncs in cases:
        with opcount.Recorder() as rec:
            fn()
            rec.mark()
        assert rec.steps[0]["syncs"] == syncs, rec.steps[0]
    with opcount.Recorder() as rec:
        t.transpose(0, 1).unsqueeze(0).expand(2, 3, 4)
        t.mul(2)
        rec.mark()
    assert rec.steps[0]["launches"] == 1 and rec.steps[0]["syncs"] == 0


def _d2(plan):
    model, x, y, _ = bench._workload(CPU)
    return lambda s, p: engine.train(model, x, y, max_steps=s, lr=0.006, progress=p, plan=plan)


@pytest.mark.parametrize("load", ["d2_cpu_plan", "d2_cuda_plan", "image_regression", "cross_entropy"])
def test_a_training_step_of_the_torch_pass_reads_nothing(load, torch_path):
    """0 host syncs in every step after the first (which builds the groups) on the four training workloads."""
    train = {"d2_cpu_plan": lambda: _d2(None), "d2_cuda_plan": lambda: _d2(CUDA_PLAN),
             "image_regression": lambda: bench._wide_workload(CPU, plan=CUDA_PLAN)[0],
             "cross_entropy": lambda: bench._classify_workload(CPU, plan=CUDA_PLAN)[0]}[load]()
    rec = _record(train)
    assert len(rec.steps) == 5
    assert [s["syncs"] for s in rec.steps[1:]] == [0] * 4, [dict(s["sync_ops"]) for s in rec.steps]


def test_d2_sweep_is_one_group_and_at_most_60_launches_per_step_at_the_cuda_plan(torch_path):
    model, x, y, _ = bench._workload(CPU)
    assert len(kernel.groups(model, x, y, plan=CUDA_PLAN)) == 1  # five widths share one masked group
    assert len(kernel.groups(model, x, y)) == 5  # on this CPU each width is its own group
    st = opcount.steady(_record(_d2(CUDA_PLAN)))
    assert st["syncs"] == 0 and st["launches"] <= MAX_D2_LAUNCHES, st["ops"]


def test_the_rule_is_read_once_every_sync_every_steps(torch_path):
    """With the convergence rule on, the host reads exactly once per SYNC_EVERY steps, nowhere else."""
    model, x, target, w = ref._setup("lse", "prefix", True, False, True)
    K = torch_pass.SYNC_EVERY
    rec = _record(lambda s, p: engine.train(model, x, target, weight=w, lr=0.01, max_steps=s, rel_tol=1e-12,
                                            check_every=3, progress=p), 2 * K + 3)
    syncs = [s["syncs"] for s in rec.steps]
    assert [k + 1 for k, v in enumerate(syncs) if v and k] == [K, 2 * K] and syncs[K - 1] == syncs[2 * K - 1] == 1


def test_loop_ends_within_sync_every_steps_of_the_last_stop(torch_path):
    model, x, y, w = ref._hc_problem()
    calls: list[int] = []
    fit = engine.train(model, x, y, weight=w, lr=0.01, max_steps=400, check_every=100, rel_tol=10.0,
                       progress=calls.append)
    assert (fit.steps == 100).all() and fit.converged.all() and sum(calls) == 400
    assert calls.count(1) <= 101 + torch_pass.SYNC_EVERY


@pytest.mark.parametrize("test", [ref.test_convergence_rule_stops_each_member_where_the_rule_says_and_freezes_it,
                                  ref.test_huge_tolerance_stops_everyone_at_the_first_check_and_ends_the_bar,
                                  ref.test_a_diverging_member_is_frozen_flagged_and_harms_no_other],
                         ids=["rule", "huge_tol", "diverging"])
def test_stopping_semantics_on_the_torch_pass_are_the_references(test, torch_path):
    """tests/test_fast_train.py's stopping-rule references (autograd Adam member by member), on the
    sync-free trainer: members stop at the same step and stay frozen."""
    test()


@pytest.mark.parametrize("form,mask_kind,readout,per_member_x,weighted", ref.CASES)
def test_fast_train_references_at_the_cuda_plan(form, mask_kind, readout, per_member_x, weighted, monkeypatch,
                                                engine_pass):
    """tests/test_fast_train.py's float64 autograd references (both forms, masks, readout, per-member
    rows, weights) on the torch pass with the plan a GPU gets: widths merged, one chunk."""
    monkeypatch.setattr(torch_pass.TorchPlan, "for_device", staticmethod(lambda *a, **k: CUDA_PLAN))
    ref.test_fused_trainer_equals_autograd_adam_float64(form, mask_kind, readout, per_member_x, weighted, False,
                                                         monkeypatch, engine_pass)


def _sweep64(seed=0):
    """A small width sweep in float64: prefix masks of four widths, shared rows."""
    gen = torch.Generator().manual_seed(seed)
    widths = torch.tensor([3, 3, 8, 8, 20, 20, 40, 40])
    mask = torch.arange(40)[None] < widths[:, None]
    eps = widths.double() ** -0.5
    model = engine.init_lse(8, 40, 2, eps, w_scale=0.35, b_scale=0.3, generator=gen, neuron_mask=mask)
    x = 4 * torch.rand(500, 2, generator=gen, dtype=torch.float64) - 2
    return model, x, x.norm(dim=-1)


@pytest.mark.parametrize("plan", [CUDA_PLAN, torch_pass.TorchPlan(1 << 10, 0)], ids=["cuda_plan", "tiny_chunks"])
def test_torch_pass_plans_equal_autograd_and_the_c_pass(plan, engine_pass):
    """One merged masked group in one chunk (the CUDA plan) and one group per width in many chunks
    train the same as autograd Adam and as the C pass, to roundoff."""
    model, x, y = _sweep64()
    engine_pass("torch")
    assert len(kernel.groups(model, x, y, plan=plan)) == (1 if plan is CUDA_PLAN else 4)
    fast, auto = model.clone(), model.clone()
    fit = engine.train(fast, x, y, lr=0.02, max_steps=30, plan=plan)
    loss_ref = engine.train_autograd(auto, x, y, steps=30, lr=0.02)
    m = model.neuron_mask
    assert (fast.W[m] - model.W[m]).abs().max() > 1e-3  # it trained
    torch.testing.assert_close(fit.loss, loss_ref, rtol=1e-10, atol=0)
    torch.testing.assert_close(fast.W[m], auto.W.detach()[m], rtol=1e-9, atol=1e-11)
    torch.testing.assert_close(engine.predict(fast, x, plan), engine.predict(fast, x, torch_pass.TorchPlan(1 << 9, 0)),
                               rtol=1e-12, atol=1e-12)
    if native.library() is not None:
        engine_pass("c")
        c = model.clone()
        fit_c = engine.train(c, x, y, lr=0.02, max_steps=30)
        torch.testing.assert_close(fit.loss, fit_c.loss, rtol=1e-10, atol=0)
        torch.testing.assert_close(fast.W[m], c.W[m], rtol=1e-9, atol=1e-11)


def test_minibatches_over_rows_nobody_weighs_equal_autograd(torch_path):
    """A minibatch may draw rows beyond every member's weighted prefix; the torch pass reads them at
    weight 0 instead of compacting them (a host sync) and must still equal autograd Adam's draws."""
    gen = torch.Generator().manual_seed(11)
    x = torch.rand(40, 2, generator=gen, dtype=torch.float64) * 4 - 2
    weight = (torch.arange(40)[None, :] < torch.tensor([10, 15, 30, 30])[:, None]).double()
    mask = torch.arange(6)[None, :] < torch.tensor([3, 3, 6, 6])[:, None]
    model = engine.init_lse(4, 6, 2, torch.tensor([0.3, 0.5, 0.3, 1.0], dtype=torch.float64), w_scale=0.5,
                            b_scale=0.3, generator=torch.Generator().manual_seed(1), neuron_mask=mask)
    fast, auto = model.clone(), model.clone()
    grs = kernel.groups(fast, x, x.norm(dim=-1), weight, order_rows=False, plan=torch_pass.TorchPlan(1 << 18, 0))
    assert all(gr.xa.shape[-2] < 40 for gr in grs)  # trailing rows were dropped: the path under test
    rec = _record(lambda s, p: engine.train(fast, x, x.norm(dim=-1), weight=weight, lr=0.02, max_steps=s, batch_size=16,
                                            generator=torch.Generator().manual_seed(3), progress=p,
                                            plan=torch_pass.TorchPlan(1 << 18, 0)), 25)
    loss_ref = engine.train_autograd(auto, x, x.norm(dim=-1), steps=25, lr=0.02, weight=weight, batch_size=16,
                                     generator=torch.Generator().manual_seed(3))
    assert [s["syncs"] for s in rec.steps[1:]] == [0] * 24
    torch.testing.assert_close(engine.loss(fast, x, x.norm(dim=-1), weight), loss_ref, rtol=1e-10, atol=0)
    torch.testing.assert_close(fast.W[mask], auto.W.detach()[mask], rtol=1e-9, atol=1e-11)


def test_a_non_finite_parameter_poisons_only_its_member_on_the_torch_pass(torch_path):
    """An inf bias that leaves the pass finite (an atom at −∞ is simply absent) still marks its member
    NaN, as the C pass's explicit check does; the others are untouched."""
    model, x, y = _sweep64()
    clean = engine.loss(model, x, y)
    model.b[2, 1] = -float("inf")
    out = engine.loss(model, x, y, plan=CUDA_PLAN)
    assert out.isnan().tolist() == [k == 2 for k in range(8)]
    torch.testing.assert_close(out[[0, 1, 3, 4, 5, 6, 7]], clean[[0, 1, 3, 4, 5, 6, 7]], rtol=1e-12, atol=0)


def _torch_pass_lines(monkeypatch, times: dict[str, float]) -> str:
    """What bench.print_torch_pass prints for one workload "w" of 100 launches, 0 syncs and these step times
    (s per step by pass), with an empty op of 2 µs."""
    from rich.console import Console

    monkeypatch.setattr(bench, "dispatch_counts", lambda device, plan=None: {"w": (100.0, 0.0, "a workload")})
    monkeypatch.setattr(bench, "pass_times", lambda device: {"w": times})
    monkeypatch.setattr(bench, "launch_time", lambda device: 2e-6)
    console = Console(record=True, width=400)
    bench.print_torch_pass(torch.device("meta"), console)
    return console.export_text()


def test_bench_sets_each_step_against_its_launch_floor(monkeypatch):
    """hjexp bench's torch-pass lines (the same on a CPU and on CUDA): a step of 1 ms with 100 launches of
    2 µs each is 5× its 0.2 ms launch floor; the empty-op time is measured, positive and finite."""
    assert 0 < bench.launch_time(CPU, reps=200) < 1e-3
    text = _torch_pass_lines(monkeypatch, {"torch pass": 1e-3})
    assert "an empty op costs 2.0 µs" in text
    assert "torch pass, w: 100 launches and 0 host syncs per step; step 1.00 ms = 5.0× its launch floor (0.20 ms)" in text


def test_bench_lists_the_captured_steps_beside_eager(monkeypatch):
    """On CUDA the bench times the compiled step and the compiled step replayed as CUDA graphs (engine=graphs)
    beside the eager one; on a CPU there is no graphs line. Each line states its ratio to the eager step."""
    from hjexp.engine import compiled

    assert "graphs" not in [key for _label, key in bench.engine_paths(CPU)]
    if compiled.available(torch.device("cuda"))[0]:  # needs Triton, not a GPU: the paths are read off the device type
        assert [key for _label, key in bench.engine_paths(torch.device("cuda"))] == ["torch", "compiled", "graphs"]
    text = _torch_pass_lines(monkeypatch, {"torch pass": 4e-3, "compiled pass": 2e-3, "graphs pass": 1e-3})
    assert "compiled pass (engine=compiled), w: step 2.00 ms = 0.5× the torch pass, 2.0× faster" in text
    assert "graphs pass (engine=graphs), w: step 1.00 ms = 0.2× the torch pass, 4.0× faster" in text
