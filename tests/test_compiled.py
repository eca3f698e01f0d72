"""engine=compiled (engine/compiled.py): after the first step of a shape variant nothing recompiles — not
across steps, chunk sizes, widths, member counts or row counts — and no graph breaks (fullgraph=True would
raise; the counters must stay empty too). Its answers are checked against autograd in tests/test_fast_train.py
and against the C pass in tests/test_backend_equality.py."""

from __future__ import annotations

import math

import pytest
import torch
import torch._dynamo
from torch import Tensor
from torch._dynamo.utils import counters

from hjexp import engine
from hjexp.engine import kernel

pytestmark = pytest.mark.usefixtures("one_thread")


def _sweep(widths: tuple[int, ...], n: int, seed: int = 0, dtype=torch.float32):
    """A small width sweep like the authors' d = 2 one (prefix masks, ε = N^(−1/2))."""
    gen = torch.Generator().manual_seed(seed)
    N = max(widths)
    mask = torch.arange(N)[None] < torch.tensor(widths)[:, None]
    eps = torch.tensor([w ** -0.5 for w in widths], dtype=dtype)
    model = engine.init_lse(len(widths), N, 2, eps, w_scale=0.35, b_scale=0.3, generator=gen, neuron_mask=mask)
    x = (4 * torch.rand(n, 2, generator=gen) - 2).to(dtype)
    return model, x, x.norm(dim=-1)


def test_no_recompilation_across_steps_chunk_sizes_and_shapes_after_warm_up(engine_pass, monkeypatch):
    engine_pass("compiled")
    monkeypatch.setattr(kernel, "CHUNK_ELEMENTS", 1 << 12)  # many chunks, and a shorter last one
    counters.clear()
    model, x, y = _sweep((5, 9, 30, 30), 700)
    engine.train(model, x, y, max_steps=2, lr=0.01)  # warm-up: first chunk, tail chunk, Adam, final loss
    with torch._dynamo.config.patch(error_on_recompile=True):
        engine.train(model, x, y, max_steps=5, lr=0.01)  # more steps
        m2, x2, y2 = _sweep((3, 40, 40, 64, 64, 64), 1111, seed=1)  # other widths, members, rows -> chunk sizes
        fit = engine.train(m2, x2, y2, max_steps=3, lr=0.01)
        monkeypatch.setattr(kernel, "CHUNK_ELEMENTS", 1 << 11)  # another chunk size
        engine.train(m2, x2, y2, max_steps=3, lr=0.01)
    assert torch.isfinite(fit.loss).all()
    assert not counters["graph_break"], dict(counters["graph_break"])


def test_the_recompile_check_can_fail(engine_pass):
    """A new variant (here float64 after float32) does compile again, and the check above would see it."""
    engine_pass("compiled")
    model, x, y = _sweep((4, 8), 200)
    engine.train(model, x, y, max_steps=2, lr=0.01)
    m64, x64, y64 = _sweep((4, 8), 200, dtype=torch.float64)
    m64 = m64.to(torch.float64)
    with torch._dynamo.config.patch(error_on_recompile=True), pytest.raises(Exception, match="[Rr]ecompil"):
        engine.train(m64, x64, y64, max_steps=2, lr=0.01)


def test_compiled_chunk_equals_the_torch_pass_on_wide_rows(engine_pass):
    """d + 1 > SMALL_K takes the matmul branch of the logits: same loss and gradient as the torch pass
    (float64, a readout, minibatch rows)."""
    gen = torch.Generator().manual_seed(7)
    d = 12
    model = engine.init_lse(3, 10, d, torch.tensor([0.3, 1.0, 3.0], dtype=torch.float64), w_scale=0.3, b_scale=0.1,
                            generator=gen, readout=True)
    x = torch.randn(400, d, generator=gen, dtype=torch.float64)
    y = x[:, 0].sin()
    fits = {}
    for name in ("torch", "compiled"):
        engine_pass(name)
        m = model.clone()
        fits[name] = engine.train(m, x, y, max_steps=4, lr=0.01, batch_size=64,
                                  generator=torch.Generator().manual_seed(3)), m
    (f_t, m_t), (f_c, m_c) = fits["torch"], fits["compiled"]
    torch.testing.assert_close(f_c.loss, f_t.loss, rtol=1e-10, atol=0)
    for k, v in m_t.tensors().items():
        torch.testing.assert_close(m_c.tensors()[k], v, rtol=1e-10, atol=1e-12)
    assert not math.isclose(float(f_c.loss[0]), float(engine.loss(model, x, y)[0]), rel_tol=1e-6)  # it trained


def _replays_overwrite(real):
    """compiled.compiled_version whose mode="reduce-overhead" functions behave as CUDA graphs do for their
    outputs: each call overwrites (here with NaN) the outputs of the call before."""
    previous: list[Tensor] = []

    def version(fn, mode=None):
        f = real(fn, mode)
        if mode is None:
            return f

        def replay(*args):
            for t in previous:
                t.fill_(math.nan)
            previous.clear()
            out = f(*args)
            previous.extend(t for t in out if t is not None)
            return out

        return replay

    return version


def test_graphs_mode_copies_what_it_keeps_and_trains_as_the_torch_pass(one_thread, monkeypatch):
    """engine=graphs runs on CUDA only, but its bookkeeping is the same code on a CPU, where
    mode="reduce-overhead" compiles without graphs. With each call overwriting the previous call's outputs,
    as a graph's replay does, several chunks, a readout and minibatches give the torch pass's answers
    (float64, 1e-10): the sums start from copies."""
    from hjexp.engine import backend, compiled

    if not compiled.available(torch.device("cpu"))[0]:
        pytest.skip(compiled.available(torch.device("cpu"))[1])
    monkeypatch.setattr(compiled, "compiled_version", _replays_overwrite(compiled.compiled_version))
    gen = torch.Generator().manual_seed(11)
    model = engine.init_lse(3, 12, 2, torch.tensor([0.3, 1.0, 3.0], dtype=torch.float64), w_scale=0.3, b_scale=0.1,
                            generator=gen, readout=True)
    x = torch.randn(900, 2, generator=gen, dtype=torch.float64)
    y = x[:, 0].sin()
    fits = {}
    for chosen in (backend.resolve("torch"), backend.Backend("graphs", "graphs", "a CPU test of the bookkeeping")):
        with backend.use(chosen):
            m = model.clone()
            plan = kernel.torch_pass.TorchPlan(chunk=3 * 12 * 128, group_cost=1)  # 128 rows per chunk: 8 chunks
            fits[chosen.name] = [engine.train(m, x, y, max_steps=5, lr=0.01, batch_size=batch, plan=plan,
                                              generator=torch.Generator().manual_seed(3)) for batch in (None, 300)], m
    (f_t, m_t), (f_g, m_g) = fits["torch"], fits["graphs"]
    for a, b in zip(f_g, f_t):
        torch.testing.assert_close(a.loss, b.loss, rtol=1e-10, atol=0)
    for k, v in m_t.tensors().items():
        torch.testing.assert_close(m_g.tensors()[k], v, rtol=1e-10, atol=1e-12)
