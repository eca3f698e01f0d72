"""Rows in a low-dimensional affine subspace (data on a manifold in R^D) run in its coordinates
(engine.kernel.Group._project_rows): nothing may change beyond roundoff."""

from __future__ import annotations

import pytest
import torch

from hjexp.engine import HopfCole, init_lse, kernel, predict, train, train_autograd

DT = torch.float64
pytestmark = pytest.mark.usefixtures("one_thread")


def _subspace_rows(E: int, n: int, D: int, r: int, per_member: bool, gen: torch.Generator) -> torch.Tensor:
    """x = x0 + Z Aᵀ: n rows on an r-dimensional affine subspace of R^D, per member or shared."""
    B = E if per_member else 1
    A = torch.linalg.qr(torch.randn(B, D, r, generator=gen, dtype=DT))[0]  # orthonormal columns
    x0 = torch.randn(B, 1, D, generator=gen, dtype=DT)
    x = x0 + torch.rand(B, n, r, generator=gen, dtype=DT) @ A.mT
    return x if per_member else x[0]


def _pass(model, x, y, w):
    loss, grad = torch.zeros(model.size, dtype=DT), torch.zeros(model.size, model.width, model.dim + 1, dtype=DT)
    grs = kernel.groups(model, x, y, w)
    for gr in grs:
        l, g, _ = gr.run("grad")
        loss[gr.idx], grad[gr.idx, : g.shape[1]] = l, g
    return loss, grad, predict(model, x), grs


@pytest.mark.parametrize("use_c", [True, False], ids=["c", "torch"])
@pytest.mark.parametrize("per_member", [True, False], ids=["own_x", "shared_x"])
def test_projected_pass_equals_the_full_pass(use_c, per_member, monkeypatch, engine_pass):
    gen = torch.Generator().manual_seed(0)
    E, n, N, D, r = 4, 300, 40, 20, 3
    x = _subspace_rows(E, n, D, r, per_member, gen)
    xs = x if per_member else x.expand(E, n, D)
    y = (xs * xs).sum(-1).sqrt()
    w = (torch.rand(E, n, generator=gen) < 0.8).to(DT)
    mask = torch.arange(N)[None, :] < torch.tensor([40, 25, 9, 33])[:, None]
    model = HopfCole(xs[:, :N].clone() + 0.1 * torch.randn(E, N, D, generator=gen, dtype=DT),
                     torch.rand(E, N, generator=gen, dtype=DT), torch.tensor([0.05, 0.1, 0.3, 0.02], dtype=DT), 0.4, mask)
    engine_pass("c" if use_c else "torch")
    got = {}
    for project in (True, False):
        monkeypatch.setattr(kernel, "PROJECT", project)
        got[project] = _pass(model, x, y, w)
    loss, grad, pred, grs = got[True]
    assert all(gr.proj is not None and gr.xa.shape[-1] == r + 1 for gr in grs)  # r + 1 columns instead of D + 1
    assert all(gr.proj is None for gr in got[False][3])
    torch.testing.assert_close(loss, got[False][0], rtol=1e-11, atol=0)
    torch.testing.assert_close(grad, got[False][1], rtol=1e-10, atol=1e-12 * float(grad.abs().max()))
    torch.testing.assert_close(pred, got[False][2], rtol=1e-11, atol=1e-12)


def test_full_rank_rows_are_not_projected():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(200, 12, generator=gen, dtype=DT)
    model = init_lse(2, 10, 12, torch.tensor([0.1, 0.5], dtype=DT), w_scale=0.3, b_scale=0.1, generator=gen)
    assert all(gr.proj is None for gr in kernel.groups(model, x, x.norm(dim=-1)))


def test_training_on_subspace_rows_equals_autograd_adam():
    """LSE with a readout, rows on a 4-dimensional subspace of R^30: the trainer (projected pass)
    against torch.optim.Adam on the closed forms in the full space."""
    gen = torch.Generator().manual_seed(2)
    E, n, N, D = 3, 250, 16, 30
    x = _subspace_rows(E, n, D, 4, True, gen)
    y = x.norm(dim=-1)
    model = init_lse(E, N, D, torch.tensor([0.1, 0.3, 1.0], dtype=DT), w_scale=0.2, b_scale=0.1, generator=gen,
                     readout=True)
    ref, fast = model.clone(), model.clone()
    loss_ref = train_autograd(ref, x, y, steps=25, lr=0.01)
    fit = train(fast, x, y, max_steps=25, lr=0.01)
    torch.testing.assert_close(fit.loss, loss_ref, rtol=1e-9, atol=0)
    torch.testing.assert_close(fast.W, ref.W.detach(), rtol=1e-9, atol=1e-11)
    torch.testing.assert_close(fast.c, ref.c.detach(), rtol=1e-9, atol=1e-11)
