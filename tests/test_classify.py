"""engine.train_cross_entropy (class logits as LSE members, the pass's gradient with dL/dz given)
against autograd: torch.logsumexp class logits, F.cross_entropy and torch.optim.Adam on the same
minibatch draws — on the C pass and on the torch pass."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from hjexp.engine import LSE, kernel, train_cross_entropy

E, C, N, K = 3, 4, 5, 12  # K > 9: the C pass's wide-row products; N not a multiple of their tiles


def _problem(dtype):
    gen = torch.Generator().manual_seed(5)
    u = torch.randn(300, K, generator=gen, dtype=dtype)
    y = torch.randint(0, C, (300,), generator=gen)
    W = 0.5 * torch.randn(E, C, N, K, generator=gen, dtype=dtype)
    b = 0.1 * torch.randn(E, C, N, generator=gen, dtype=dtype)
    eps = torch.tensor([0.1, 0.5, 2.0], dtype=dtype)
    return u, y, W, b, eps


def _autograd(u, y, W, b, eps, steps, lr, batch, seed):
    """The reference: the classifier's logits and loss written out in torch, differentiated by autograd."""
    W, b = W.clone().requires_grad_(True), b.clone().requires_grad_(True)
    opt = torch.optim.Adam([W, b], lr=lr)
    gen = torch.Generator().manual_seed(seed)
    e = eps.reshape(-1, 1, 1)

    def logits(x):  # [E, n, C]
        return e * torch.logsumexp((torch.einsum("nk,ecjk->encj", x, W) + b[:, None]) / e[..., None], -1)

    for _ in range(steps):
        idx = torch.randint(len(u), (batch,), generator=gen)
        loss = F.cross_entropy(logits(u[idx]).flatten(0, 1), y[idx].repeat(E), reduction="none")
        opt.zero_grad()
        loss.view(E, -1).mean(-1).sum().backward()
        opt.step()
    with torch.no_grad():
        ce = F.cross_entropy(logits(u).flatten(0, 1), y.repeat(E), reduction="none").view(E, -1).mean(-1)
    return W.detach(), b.detach(), ce


@pytest.mark.parametrize("use_c", [True, False], ids=["c_pass", "torch_pass"])
@pytest.mark.parametrize("dtype,rtol", [(torch.float64, 1e-9), (torch.float32, 2e-4)])
def test_cross_entropy_training_equals_autograd_adam(use_c, dtype, rtol, engine_pass):
    engine_pass("c" if use_c else "torch")
    u, y, W, b, eps = _problem(dtype)
    steps, lr, batch = 40, 0.02, 64
    W_ref, b_ref, ce_ref = _autograd(u.double(), y, W.double(), b.double(), eps.double(), steps, lr, batch, seed=9)
    net = LSE(W.flatten(0, 1).clone(), b.flatten(0, 1).clone(), eps.repeat_interleave(C))
    ce = train_cross_entropy(net, u, y, C, steps=steps, lr=lr, batch=batch, generator=torch.Generator().manual_seed(9))
    assert (W_ref - W.double()).abs().max() > 100 * rtol  # the parameters moved: the comparison says something
    torch.testing.assert_close(net.W.view(E, C, N, K).double(), W_ref, rtol=rtol, atol=rtol)
    torch.testing.assert_close(net.b.view(E, C, N).double(), b_ref, rtol=rtol, atol=rtol)
    torch.testing.assert_close(ce.double(), ce_ref, rtol=rtol, atol=0)


def test_given_gradient_pass_rejects_other_modes():
    u, y, W, b, eps = _problem(torch.float64)
    net = LSE(W.flatten(0, 1).clone(), b.flatten(0, 1).clone(), eps.repeat_interleave(C))
    gr = kernel.groups(net, u, order_rows=False)[0]
    with pytest.raises(ValueError, match="given"):
        gr.run("loss", given=torch.zeros(E * C, len(u), dtype=u.dtype))
