"""The fused kernel and trainer (engine.kernel, engine.adam) against the autograd reference path
(torch.optim.Adam on the closed forms), member by member, in float64 and float32."""

from __future__ import annotations

import pytest
import torch

from hjexp.engine import (
    LSE,
    HopfCole,
    Model,
    backend,
    init_lse,
    kernel,
    member_mse,
    native,
    predict,
    train,
    train_autograd,
)

DT = torch.float64


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny programs: a second thread only waits


def _setup(form: str, mask_kind: str, readout: bool, per_member_x: bool, weighted: bool, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    E, N, d, n = 5, 7, 3, 300
    eps = torch.tensor([1.0, 0.5, 0.2, 0.3, 0.05], dtype=DT)
    if mask_kind == "prefix":
        widths = torch.tensor([7, 3, 7, 1, 5])
        mask = torch.arange(N)[None, :] < widths[:, None]
    elif mask_kind == "scattered":
        mask = torch.rand(E, N, generator=gen) < 0.6
        mask[:, 0] = True
    else:
        mask = None
    x = torch.randn(E, n, d, generator=gen, dtype=DT) if per_member_x else torch.randn(n, d, generator=gen, dtype=DT)
    target = (x * x).sum(-1).sqrt()
    if not per_member_x:
        target = target + 0.1 * torch.randn(E, n, generator=gen, dtype=DT)  # per-member targets
    weight = (torch.rand(E, n, generator=gen) < 0.7).to(DT) if weighted else None
    if form == "lse":
        model = init_lse(E, N, d, eps, w_scale=0.5, b_scale=0.3, generator=gen, readout=readout, neuron_mask=mask)
    else:
        y = torch.randn(E, N, d, generator=gen, dtype=DT)
        model = HopfCole(y, torch.rand(E, N, generator=gen, dtype=DT), eps, 0.7, mask)
    return model, x, target, weight


CASES = [
    ("lse", "prefix", False, False, False),
    ("lse", "scattered", True, True, True),
    ("lse", "none", True, False, True),
    ("hopf_cole", "prefix", False, True, True),
    ("hopf_cole", "scattered", False, False, False),
]


def _path(engine_pass, use_c: bool | str) -> None:
    """Select the C pass, the torch pass or (a str) that backend (skip where it cannot run here)."""
    engine_pass(use_c if isinstance(use_c, str) else "c" if use_c else "torch")


@pytest.mark.parametrize("use_c", [True, False, "compiled"], ids=["c", "torch", "compiled"])
@pytest.mark.parametrize("form,mask_kind,readout,per_member_x,weighted", CASES)
def test_fused_trainer_equals_autograd_adam_float64(form, mask_kind, readout, per_member_x, weighted, use_c,
                                                     monkeypatch, engine_pass):
    """Tolerance 1e-10 relative in float64: the two paths differ only by roundoff."""
    _path(engine_pass, use_c)
    monkeypatch.setattr(kernel, "CHUNK_ELEMENTS", 2048)  # several row chunks per step
    model, x, target, weight = _setup(form, mask_kind, readout, per_member_x, weighted)
    ref, fast = model.clone(), model.clone()
    steps, lr, calls = 6, 0.05, []
    loss_ref = train_autograd(ref, x, target, steps=steps, lr=lr, weight=weight)
    fit = train(fast, x, target, max_steps=steps, lr=lr, weight=weight, progress=calls.append)
    assert len(calls) == steps and (fit.steps == steps).all() and not fit.converged.any()
    start = model.tensors()
    moved = max((ref.tensors()[k] - v).abs().max().item() for k, v in start.items())
    assert moved > 1e-3  # training really moved the parameters
    for k, v in start.items():
        if model.neuron_mask is not None and k != "c":
            m = model.neuron_mask if v.ndim == 2 else model.neuron_mask[..., None].expand_as(v)
            assert torch.equal(fast.tensors()[k][~m], v[~m])  # absent neurons untouched
        torch.testing.assert_close(fast.tensors()[k], ref.tensors()[k].detach(), rtol=1e-10, atol=1e-11)
    torch.testing.assert_close(fit.loss, loss_ref, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(predict(fast, x), ref.predict(x).detach(), rtol=1e-10, atol=1e-11)


@pytest.mark.parametrize("use_c", [True, False], ids=["c", "torch"])
@pytest.mark.parametrize("form,mask_kind,readout,per_member_x,weighted", CASES[:2] + CASES[3:4])
def test_fused_trainer_float32_tracks_float64_autograd(form, mask_kind, readout, per_member_x, weighted, use_c,
                                                       engine_pass):
    """float32 fused path against the float64 reference over 30 steps: within 1e-3 (no drift, no blow-up)."""
    _path(engine_pass, use_c)
    model, x, target, weight = _setup(form, mask_kind, readout, per_member_x, weighted, seed=3)
    ref = model.clone()
    f32 = model.to(torch.float32)
    w32 = None if weight is None else weight.float()
    train_autograd(ref, x, target, steps=30, lr=0.01, weight=weight)
    fit = train(f32, x.float(), target.float(), max_steps=30, lr=0.01, weight=w32)
    for k, v in ref.tensors().items():
        torch.testing.assert_close(f32.tensors()[k].double(), v.detach(), rtol=1e-3, atol=1e-3)
    torch.testing.assert_close(fit.loss.double(), train_autograd(ref, x, target, steps=0, lr=0.01, weight=weight),
                               rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("form,mask_kind", [("lse", "prefix"), ("lse", "scattered"), ("hopf_cole", "prefix"),
                                            ("hopf_cole", "none")])
def test_chunked_prediction_equals_unchunked_and_closed_forms(form, mask_kind, monkeypatch):
    model, x, _, _ = _setup(form, mask_kind, form == "lse", False, False)
    whole = predict(model, x)  # one chunk holds every row
    monkeypatch.setattr(kernel, "CHUNK_ELEMENTS", 97)  # rows per chunk far below n, not a divisor
    torch.testing.assert_close(predict(model, x), whole, rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(whole, model.predict(x), rtol=1e-12, atol=1e-12)  # distances for Hopf–Cole


@pytest.mark.parametrize("dtype,rtol", [(torch.float64, 1e-12), (torch.float32, 2e-5)])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("d", [1, 3, 8, 16, 64])
def test_c_pass_equals_torch_pass(d, threads, dtype, rtol, monkeypatch):
    """Prediction, loss and gradient of the C pass against the torch pass: scattered masks, weights
    with whole blocks of absent rows, n not a multiple of the lane count, 1 and 2 threads."""
    if native.library() is None:
        pytest.skip("the C pass could not be built here (no compiler)")
    gen = torch.Generator().manual_seed(d)
    E, N, n = 4, 37, 203
    mask = torch.rand(E, N, generator=gen) < 0.7
    mask[:, 0] = True
    w = (torch.rand(E, n, generator=gen) < 0.8).to(dtype)
    w[1, :64] = 0  # whole blocks with no sample
    x = torch.randn(E, n, d, generator=gen, dtype=dtype)
    model = HopfCole(torch.randn(E, N, d, generator=gen, dtype=dtype), torch.rand(E, N, generator=gen, dtype=dtype),
                     torch.tensor([0.05, 0.3, 1.0, 0.01], dtype=dtype), 0.4, mask)
    target = (x * x).sum(-1)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        got = {}
        for use_c in (True, False):
            with backend.use("c" if use_c else "torch"):
                gr = kernel.groups(model, x, target, w)[0]
                got[use_c] = (gr.run("grad"), predict(model, x))
    finally:
        torch.set_num_threads(before)
    (loss_c, g_c, _), pred_c = got[True]
    (loss_t, g_t, _), pred_t = got[False]
    torch.testing.assert_close(pred_c, pred_t, rtol=rtol, atol=rtol)
    torch.testing.assert_close(loss_c, loss_t, rtol=rtol, atol=0)
    torch.testing.assert_close(g_c, g_t, rtol=10 * rtol, atol=10 * rtol * float(g_t.abs().max()))
    absent = ~mask[..., None].expand_as(g_c)
    assert torch.equal(g_c[absent], torch.zeros_like(g_c[absent]))  # exactly: Adam would move them otherwise


def test_rows_beyond_every_members_n_are_skipped_exactly():
    """Sample-size sweeps weigh only a prefix of rows per member; the trainer drops the rows nobody
    in a width group weighs, and must still equal autograd Adam."""
    gen = torch.Generator().manual_seed(11)
    E, N, d, n = 4, 6, 2, 40
    x = torch.rand(n, d, generator=gen, dtype=DT) * 4 - 2
    target = x.norm(dim=-1)
    mask = torch.arange(N)[None, :] < torch.tensor([3, 3, 6, 6])[:, None]
    weight = (torch.arange(n)[None, :] < torch.tensor([10, 15, 30, 40])[:, None]).to(DT)  # prefixes
    eps = torch.tensor([0.3, 0.5, 0.3, 1.0], dtype=DT)
    ref = init_lse(E, N, d, eps, w_scale=0.5, b_scale=0.3, generator=torch.Generator().manual_seed(1), neuron_mask=mask)
    fast = ref.clone()
    loss_ref = train_autograd(ref, x, target, steps=20, lr=0.02, weight=weight)
    fit = train(fast, x, target, max_steps=20, lr=0.02, weight=weight)
    assert torch.allclose(fit.loss, loss_ref, rtol=1e-10)
    for k in ("W", "b"):
        assert torch.allclose(getattr(fast, k)[mask], getattr(ref, k).detach()[mask], rtol=1e-10, atol=1e-12)


@pytest.mark.skipif(native.library() is None, reason="the C pass is not built here")
def test_merged_width_buckets_equal_one_group_per_bucket(monkeypatch):
    """Cheap width buckets share one C-pass group (each member still loops over its own width);
    training must not depend on the grouping, and members weighing different rows stay apart."""
    gen = torch.Generator().manual_seed(5)
    widths = torch.tensor([20, 3, 50, 9, 50, 3])
    E, N, d, n = len(widths), int(widths.max()), 2, 2000
    x = torch.rand(n, d, generator=gen, dtype=DT) * 4 - 2
    target = x.norm(dim=-1)
    mask = torch.arange(N)[None, :] < widths[:, None]
    eps = widths.to(DT) ** -0.5
    base = init_lse(E, N, d, eps, w_scale=0.5, b_scale=0.3, generator=gen, neuron_mask=mask)
    assert len(kernel.groups(base, x, target)) == 1
    weight = (torch.arange(n)[None, :] < torch.tensor([2000, 2000, 2000, 2000, 1000, 1000])[:, None]).to(DT)
    assert len(kernel.groups(base, x, target, weight)) > 1  # different row prefixes: separate groups
    fits = {}
    for share in (kernel.PAD_SHARE, 0.0):
        monkeypatch.setattr(kernel, "PAD_SHARE", share)
        model = base.clone()
        if share == 0.0:
            assert len(kernel.groups(model, x, target)) == 4  # buckets of widths 3, 9, 20, 50
        fits[share] = train(model, x, target, max_steps=25, lr=0.01), model
    (fit_a, a), (fit_b, b) = fits.values()
    assert torch.allclose(fit_a.loss, fit_b.loss, rtol=1e-12)
    for k in ("W", "b"):
        assert torch.allclose(getattr(a, k)[mask], getattr(b, k)[mask], rtol=1e-10, atol=1e-13)
        assert torch.equal(getattr(a, k)[~mask], getattr(base, k)[~mask])  # padding never moves


def _hc_problem():
    gen = torch.Generator().manual_seed(0)
    E, n, N, d = 4, 40, 6, 2
    x = torch.rand(E, n, d, generator=gen, dtype=DT) * 2 - 1
    y = (x**2).sum(-1) + 0.1 * torch.randn(E, n, generator=gen, dtype=DT)
    w = torch.ones(E, n, dtype=DT)
    w[1, 30:] = 0
    mask = torch.arange(N)[None, :] < torch.tensor([3, 6, 6, 4])[:, None]
    eps = torch.tensor([0.05, 0.1, 0.05, 0.2], dtype=DT)
    return HopfCole(x[:, :N].clone(), y[:, :N].clone(), eps, 0.3, mask), x, y, w


def _autograd_run(model: Model, e: int, steps: int, x, y, w, every: int) -> tuple[Model, list[float]]:
    """Member e alone under torch.optim.Adam on the closed forms; its loss every ``every`` steps."""
    solo = model.member(e).clone(requires_grad=True)
    opt = torch.optim.Adam(solo.trainable(), lr=0.01)
    xe, ye, we = x[e : e + 1], y[e : e + 1], w[e : e + 1]
    losses = []
    for s in range(steps + 1):
        loss = member_mse(solo.predict(xe), ye, we).sum()
        if s % every == 0:
            losses.append(loss.item())
        if s == steps:
            return solo, losses
        opt.zero_grad()
        loss.backward()
        opt.step()


def test_convergence_rule_stops_each_member_where_the_rule_says_and_freezes_it():
    """Each member's parameters equal autograd Adam run for exactly the steps that member took, and
    it stopped at the first check where its loss changed by less than rel_tol over the window."""
    model, x, y, w = _hc_problem()
    start, every, tol = model.clone(), 25, 0.02
    fit = train(model, x, y, weight=w, lr=0.01, max_steps=600, check_every=every, rel_tol=tol)
    assert fit.converged.any() and (fit.steps % every == 0).all()
    for e in range(model.size):
        k = int(fit.steps[e])
        solo, losses = _autograd_run(start, e, k, x, y, w, every)
        torch.testing.assert_close(model.member(e).y, solo.y.detach(), rtol=1e-10, atol=1e-11)
        torch.testing.assert_close(model.member(e).g, solo.g.detach(), rtol=1e-10, atol=1e-11)
        change = [abs(a - b) / a for a, b in zip(losses[:-1], losses[1:])]  # at checks every, 2·every, …
        if bool(fit.converged[e]):
            assert change[-1] < tol and all(c >= tol for c in change[:-1])
            assert abs(losses[-1] - float(fit.loss[e])) <= 1e-10 * losses[-1]
        else:
            assert k == 600 and all(c >= tol for c in change)


def test_huge_tolerance_stops_everyone_at_the_first_check_and_ends_the_bar():
    model, x, y, w = _hc_problem()
    calls: list[int] = []
    fit = train(model, x, y, weight=w, lr=0.01, max_steps=400, check_every=100, rel_tol=10.0, progress=calls.append)
    assert fit.converged.all() and (fit.steps == 100).all() and sum(calls) == 400
    torch.testing.assert_close(fit.loss, ((model.predict(x) - y) ** 2 * w).sum(-1) / w.sum(-1), rtol=1e-10, atol=0)


def test_readout_member_converts_only_without_readout():
    model = LSE(torch.zeros(1, 2, 1, dtype=DT), torch.zeros(1, 2, dtype=DT), torch.ones(1, dtype=DT),
                torch.ones(1, dtype=DT))
    with pytest.raises(ValueError, match="readout"):
        model.to_hopf_cole(1.0)


def test_a_diverging_member_is_frozen_flagged_and_harms_no_other():
    """A member whose loss turns NaN stops there, is flagged, and the others train exactly as without it."""
    gen = torch.Generator().manual_seed(5)
    x = torch.rand(40, 2, generator=gen, dtype=torch.float64) * 2 - 1
    target = x.norm(dim=-1)
    y0 = torch.rand(3, 6, 2, generator=gen, dtype=torch.float64) * 2 - 1
    g0 = torch.rand(3, 6, generator=gen, dtype=torch.float64)
    eps = torch.full((3,), 0.1, dtype=torch.float64)
    poisoned = HopfCole(y0.clone(), g0.clone(), eps, 0.5)
    poisoned.g[1, 0] = float("nan")
    clean = HopfCole(y0[[0, 2]].clone(), g0[[0, 2]].clone(), eps[:2], 0.5)
    fit = train(poisoned, x, target, max_steps=50, lr=0.01)
    ref = train(clean, x, target, max_steps=50, lr=0.01)
    assert fit.diverged.tolist() == [False, True, False] and int(fit.steps[1]) == 0
    assert torch.allclose(fit.loss[[0, 2]], ref.loss, rtol=1e-12, atol=0)
    assert not ref.diverged.any()


@pytest.mark.parametrize("use_c", [True, False, "compiled"], ids=["c", "torch", "compiled"])
def test_minibatch_training_equals_autograd_adam_on_the_same_draws(use_c, engine_pass):
    """engine.train with batch_size draws the same rows as train_autograd (one randint per step
    from the same generator), so the two trajectories agree to roundoff: readout, prefix masks."""
    _path(engine_pass, use_c)
    model, x, target, _ = _setup("lse", "prefix", True, False, False)
    ref, fast = model.clone(), model.clone()
    loss_ref = train_autograd(ref, x, target, steps=40, lr=0.02, batch_size=32, generator=torch.Generator().manual_seed(5))
    fit = train(fast, x, target, max_steps=40, lr=0.02, batch_size=32, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(fit.loss, loss_ref, rtol=1e-10, atol=0)
    m = model.neuron_mask
    torch.testing.assert_close(fast.W[m], ref.W.detach()[m], rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(fast.c, ref.c.detach(), rtol=1e-10, atol=1e-12)
