"""The C pass's culling (fused.c) and row order (engine/order.py): skipping far atoms per block of
rows must change nothing beyond roundoff, and must actually skip on sharp problems."""

from __future__ import annotations

import pytest
import torch

from hjexp.engine import HopfCole, kernel, member_mse, native, predict, train, train_autograd
from hjexp.engine.order import z_order


@pytest.fixture(autouse=True)
def _c_pass():
    """Built inside the test (into the session's temporary cache, tests/conftest.py), never at import."""
    ok, why = native.availability()
    if not ok:
        pytest.skip(f"the C pass is not available here: {why}")


def _sharp(dtype, mask_kind: str, per_member_x: bool, seed: int = 0, d: int = 2):
    """Hopf–Cole members whose Gibbs weights live on a few nearby atoms (small t and ε). d > 2: the
    rows spread over two columns and jitter by 1e-3 in the others (so blocks stay small and culling
    pays, as on a thin manifold), which takes the C pass's wide-row products (fused.c, wide.h)."""
    gen = torch.Generator().manual_seed(seed)
    E, N, n = 3, 300, 4000
    x = torch.rand(E if per_member_x else 1, n, d, generator=gen, dtype=dtype) * 2 - 1
    x[..., 2:] *= 1e-3
    x = x if per_member_x else x[0]
    xs = x if per_member_x else x.expand(E, n, d)
    y = torch.sin(3 * xs).sum(-1) + 0.1 * torch.randn(E, n, generator=gen, dtype=dtype)
    w = (torch.rand(E, n, generator=gen) < 0.8).to(dtype)
    w[1, 2500:] = 0  # a sample-size prefix: rows nobody of member 1 weighs
    if mask_kind == "prefix":
        mask = torch.arange(N)[None, :] < torch.tensor([300, 120, 40])[:, None]
    else:
        mask = torch.rand(E, N, generator=gen) < 0.7
        mask[:, 0] = True
    eps = torch.tensor([0.005, 0.01, 0.002], dtype=dtype)
    atoms = xs[:, :N].clone() + 0.01 * torch.randn(E, N, d, generator=gen, dtype=dtype)
    return HopfCole(atoms, y[:, :N].clone(), eps, 0.005, mask), x, y, w


def _grad_pass(model, x, y, w, active: set[int] | None = None):
    """Loss [E] and dL/dθ [E, N, d+1] of the fused pass over all its groups (width buckets);
    ``active``: members to compute (the others stay 0). Also the groups, for their culling stats."""
    E, N, K = model.size, model.width, model.dim + 1
    loss, grad = torch.zeros(E, dtype=x.dtype), torch.zeros(E, N, K, dtype=x.dtype)
    grs = kernel.groups(model, x, y, w)
    for gr in grs:
        local = None if active is None else torch.tensor([i for i, e in enumerate(gr.idx.tolist()) if e in active])
        l, g, _ = gr.run("grad", local)
        loss[gr.idx], grad[gr.idx, : g.shape[1]] = l, g
    return loss, grad, grs


# wide rows (d = 12) in float64 only: float32 gradients of the 1e-3 jitter columns lose ~4 digits to
# cancellation on either pass (the torch pass's error is the same size), which says nothing of culling
@pytest.mark.parametrize("d,dtype,rtol", [(2, torch.float64, 1e-10), (2, torch.float32, 1e-4), (12, torch.float64, 1e-10)])
@pytest.mark.parametrize("mask_kind", ["prefix", "scattered"])
@pytest.mark.parametrize("per_member_x", [True, False], ids=["own_x", "shared_x"])
def test_culled_pass_equals_autograd_and_skips_most_atoms(dtype, rtol, mask_kind, per_member_x, d):
    """Loss, gradient and prediction of the culled C pass against autograd on the closed forms
    (float64 reference), with masks, absent rows and per-member or shared rows; narrow and wide rows."""
    model, x, y, w = _sharp(dtype, mask_kind, per_member_x, d=d)
    loss, grad, grs = _grad_pass(model, x, y, w)
    pred = predict(model, x)
    kept = [gr.kept for gr in grs]  # per width bucket: the widest keeps the smallest share
    assert all(gr.perm is not None for gr in grs) and kept[-1] < 0.3 and max(kept) < 0.5, f"culling kept {kept}"
    ref = model.to(torch.float64).clone(requires_grad=True)
    x64, y64, w64 = x.double(), y.double(), w.double()
    ref_pred = ref.predict(x64)
    ref_loss = member_mse(ref_pred, y64, w64)
    ref_loss.sum().backward()
    ref_grad = torch.cat([ref.y.grad, ref.g.grad[..., None]], -1)
    m = model.neuron_mask
    torch.testing.assert_close(pred.double(), ref_pred.detach(), rtol=rtol, atol=rtol)  # in the caller's row order
    torch.testing.assert_close(loss.double(), ref_loss.detach(), rtol=rtol, atol=0)
    scale = float(ref_grad[m].abs().max())
    torch.testing.assert_close(grad[m].double(), ref_grad[m], rtol=rtol, atol=rtol * scale)
    assert torch.equal(grad[~m], torch.zeros_like(grad[~m]))  # absent neurons: exactly nothing


def test_training_with_culling_equals_autograd_adam():
    """End to end in float64: the trainer on the culled C pass against torch.optim.Adam on the closed forms."""
    model, x, y, w = _sharp(torch.float64, "prefix", True)
    ref, fast = model.clone(), model.clone()
    loss_ref = train_autograd(ref, x, y, steps=30, lr=0.003, weight=w)
    fit = train(fast, x, y, max_steps=30, lr=0.003, weight=w)
    torch.testing.assert_close(fit.loss, loss_ref, rtol=1e-9, atol=0)
    m = model.neuron_mask
    torch.testing.assert_close(fast.y[m], ref.y.detach()[m], rtol=1e-9, atol=1e-11)
    torch.testing.assert_close(fast.g[m], ref.g.detach()[m], rtol=1e-9, atol=1e-11)


def test_active_members_alone_are_computed():
    model, x, y, w = _sharp(torch.float64, "prefix", True)
    full_loss, full_g, _ = _grad_pass(model, x, y, w)
    active = torch.tensor([0, 2])
    loss, g, _ = _grad_pass(model, x, y, w, {0, 2})  # fresh groups: the same row shifts
    torch.testing.assert_close(loss[active], full_loss[active], rtol=1e-13, atol=0)
    torch.testing.assert_close(g[active], full_g[active], rtol=1e-13, atol=1e-15)
    assert float(loss[1]) == 0 and not g[1].any()  # a stopped member costs nothing and moves nothing


def test_z_order_is_a_permutation_that_keeps_blocks_small_and_puts_absent_rows_last():
    gen = torch.Generator().manual_seed(3)
    x = torch.rand(2, 4096, 3, generator=gen, dtype=torch.float64)
    dead = torch.zeros(2, 4096, dtype=torch.bool)
    dead[1, ::3] = True
    perm = z_order(x, dead)
    assert torch.equal(perm.sort(-1).values, torch.arange(4096).expand(2, -1))
    assert bool(dead[1, perm[1]][-1366:].all()) and not dead[1, perm[1]][:-1366].any()

    def mean_box(rows):  # mean bounding-box volume of consecutive blocks of 64 rows
        b = rows[: 4096 // 64 * 64].reshape(-1, 64, 3)
        return float((b.amax(1) - b.amin(1)).prod(-1).mean())

    ordered, shuffled = mean_box(x[0, perm[0]]), mean_box(x[0])
    assert ordered < shuffled / 10, (ordered, shuffled)


def test_z_order_uses_principal_directions_beyond_six_columns():
    """Data on a line in R^40: the order follows the line (neighbours in order are neighbours on it)."""
    gen = torch.Generator().manual_seed(4)
    s = torch.rand(1, 2000, generator=gen, dtype=torch.float64)
    direction = torch.randn(40, generator=gen, dtype=torch.float64)
    x = s[..., None] * direction + 1e-3 * torch.randn(1, 2000, 40, generator=gen, dtype=torch.float64)
    perm = z_order(x)[0]
    assert float(s[0, perm].diff().abs().max()) < 0.02
