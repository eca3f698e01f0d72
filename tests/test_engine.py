"""The engine's closed forms and models against independent oracles: autograd, and a loop of solo models.

The fused kernel and trainer are checked against this reference path in tests/test_fast_train.py."""

import math

import pytest
import torch

from hjexp.engine import LSE, HopfCole, forward, init_lse, member_mse, polish_lbfgs, train_autograd
from hjexp.engine import closed as L

F64 = torch.float64


def _layer(E=3, N=7, d=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    W = torch.randn(E, N, d, generator=gen, dtype=F64)
    b = torch.randn(E, N, generator=gen, dtype=F64)
    x = torch.randn(5, d, generator=gen, dtype=F64)
    eps = torch.tensor([0.3, 1.0, 2.5][:E], dtype=F64)
    return W, b, x, eps


def _autograd_f(W, b, eps, c=1.0):
    """f for one member and one point, written from the definition (no max shift needed here)."""
    return lambda x: c * eps * torch.log(torch.exp((W @ x + b) / eps).sum())


def test_gradient_and_hessian_equal_autograd():
    W, b, x, eps = _layer()
    c = torch.tensor([1.0, -2.0, 0.5], dtype=F64)
    pi = L.gibbs(L.logits(x, W, b), eps)
    grad = L.gradient(pi, W)
    hess = L.hessian(pi, W, eps)
    hess_c = L.hessian(pi, W, eps, readout=c)
    for e in range(3):
        for i in range(x.shape[0]):
            f = _autograd_f(W[e], b[e], eps[e])
            fc = _autograd_f(W[e], b[e], eps[e], c[e])
            assert torch.allclose(grad[e, i], torch.func.grad(f)(x[i]), rtol=1e-12, atol=1e-13)
            assert torch.allclose(hess[e, i], torch.autograd.functional.hessian(f, x[i]), rtol=1e-10, atol=1e-12)
            assert torch.allclose(hess_c[e, i], torch.autograd.functional.hessian(fc, x[i]), rtol=1e-10, atol=1e-12)


def test_hessian_readout_is_not_dropped():
    W, b, x, eps = _layer()
    pi = L.gibbs(L.logits(x, W, b), eps)
    c = torch.full((3,), 3.0, dtype=F64)
    assert torch.allclose(L.hessian(pi, W, eps, readout=c), 3.0 * L.hessian(pi, W, eps))


def test_entropy_range_and_limits():
    W, b, x, eps = _layer(N=9)
    H = L.entropy(L.gibbs(L.logits(x, W, b), torch.tensor([1e-3, 1.0, 1e4], dtype=F64)))
    assert H.min() >= 0 and H.max() <= math.log(9) + 1e-12
    assert H[0].max() < 0.05 and H[2].min() > math.log(9) - 1e-3  # particle vs wave regime


def test_lse_is_max_shifted_and_stable():
    z = torch.tensor([[[1000.0, 999.0, -1000.0]]], dtype=F64)
    expected = 1000.0 + math.log(1 + math.exp(-1))
    assert torch.allclose(L.lse(z, 1.0), torch.tensor([[expected]], dtype=F64), rtol=1e-15)


def test_masked_neurons_equal_narrower_layer():
    W, b, x, eps = _layer(E=2, N=6)
    mask = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
    full = L.lse(L.logits(x, W, b, mask), eps[:2])
    narrow = L.lse(L.logits(x, W[1:, :4], b[1:, :4]), eps[1:2])
    assert torch.allclose(full[1], narrow[0], rtol=1e-14)


def test_lse_and_hopf_cole_forms_agree_after_conversion():
    W, b, x, eps = _layer()
    t = 0.7
    y, g = L.lse_to_atoms(W, b, t)
    net, pde = LSE(W, b, eps), HopfCole(y, g, eps, t)
    assert torch.allclose(net.predict(x) + pde.predict(x), (x * x).sum(-1) / (4 * t), rtol=1e-13, atol=1e-13)
    back = net.to_hopf_cole(t).to_lse()  # exact conversion both ways
    assert torch.allclose(back.W, W, rtol=1e-14, atol=1e-14) and torch.allclose(back.b, b, rtol=1e-13, atol=1e-13)
    twin = net.to_hopf_cole(t)
    u = _hopf_cole_by_hand(twin.y, twin.g, eps, t, x)
    f = _lse_by_hand(W, b, eps, x)
    assert torch.allclose(u, (x * x).sum(-1) / (4 * t) - f, rtol=1e-12, atol=1e-12)  # the twin is the same function
    assert torch.allclose(twin.predict(x), u, rtol=1e-12, atol=1e-12)


def _soft_max_by_hand(z: list[float], eps: float) -> float:
    """ε log Σ exp(z/ε), shifted by the largest term, in plain floats (no torch)."""
    top = max(z)
    return top + eps * math.log(math.fsum(math.exp((zj - top) / eps) for zj in z))


def _lse_by_hand(W, b, eps, x):
    """f_e(x) = ε_e log Σ_j exp((w_j·x + b_j)/ε_e), one member, point and neuron at a time."""
    return torch.tensor([[_soft_max_by_hand([math.fsum(wk * xk for wk, xk in zip(w, xi)) + bj for w, bj in zip(We, be)],
                                            ee) for xi in x.tolist()]
                         for We, be, ee in zip(W.tolist(), b.tolist(), eps.tolist())], dtype=F64)


def _hopf_cole_by_hand(y, g, eps, t, x):
    """u_e(x) = −ε_e log Σ_j exp(−(g_j + |x − y_j|²/4t)/ε_e), from distances to the atoms (no W, b)."""
    return torch.tensor([[-_soft_max_by_hand([-(gj + math.fsum((xk - yk) ** 2 for xk, yk in zip(xi, yj)) / (4 * t))
                                              for yj, gj in zip(ye, ge)], ee) for xi in x.tolist()]
                         for ye, ge, ee in zip(y.tolist(), g.tolist(), eps.tolist())], dtype=F64)


def _masked_model(kind: str, seed: int = 4):
    """Random float64 ensemble with a scattered neuron mask, per-member ε, readout for LSE."""
    gen = torch.Generator().manual_seed(seed)
    E, N, d = 3, 6, 3
    mask = torch.rand(E, N, generator=gen) < 0.6
    mask[:, 0] = True
    eps = torch.tensor([0.2, 0.7, 1.5], dtype=F64)
    A, B = torch.randn(E, N, d, generator=gen, dtype=F64), torch.randn(E, N, generator=gen, dtype=F64)
    x = torch.randn(E, 4, d, generator=gen, dtype=F64)
    if kind == "lse":
        return LSE(A, B, eps, torch.tensor([1.0, -0.7, 2.0], dtype=F64), mask), x
    return HopfCole(A, B.abs(), eps, 0.6, mask), x


def _solo_autograd(model, e: int):
    """Member e's output at one point from the definition, absent neurons dropped (not masked)."""
    keep = model.neuron_mask[e]
    eps = model.eps[e]
    if isinstance(model, LSE):
        W, b, c = model.W[e, keep], model.b[e, keep], model.c[e]
        return lambda x: c * eps * torch.log(torch.exp((W @ x + b) / eps).sum())
    y, g, t = model.y[e, keep], model.g[e, keep], model.t
    return lambda x: -eps * torch.log(torch.exp(-(g + ((x - y) ** 2).sum(-1) / (4 * t)) / eps).sum())


@pytest.mark.parametrize("kind", ["lse", "hopf_cole"])
def test_forward_value_gradient_hessian_equal_autograd_with_masks(kind):
    """One logit tensor gives value, ∇ and ∇² (= c·Cov/ε, + I/2t for Hopf–Cole) of every member."""
    model, x = _masked_model(kind)
    fw = forward(model, x)
    val, grad, hess = fw.value, fw.gradient(), fw.hessian()
    for e in range(model.size):
        f = _solo_autograd(model, e)
        for i in range(x.shape[1]):
            xi = x[e, i]
            assert torch.allclose(val[e, i], f(xi), rtol=1e-13, atol=1e-13)
            assert torch.allclose(grad[e, i], torch.func.grad(f)(xi), rtol=1e-11, atol=1e-12)
            assert torch.allclose(hess[e, i], torch.autograd.functional.hessian(f, xi), rtol=1e-10, atol=1e-11)
    assert (fw.entropy() <= torch.log(model.neuron_mask.sum(-1).to(F64))[:, None] + 1e-12).all()


@pytest.mark.parametrize("form", ["lse", "hopf_cole"])
def test_batched_training_equals_loop_of_solo_models(form):
    """Members share nothing: training E members together == training each alone."""
    E, N, d, n = 3, 5, 2, 24
    gen = torch.Generator().manual_seed(2)
    eps = torch.tensor([0.2, 0.5, 1.0], dtype=F64)
    mask = torch.tensor([[True] * 5, [True] * 3 + [False] * 2, [True] * 4 + [False]])
    x = torch.rand(n, d, generator=gen, dtype=F64) * 4 - 2
    target = x.norm(dim=-1)
    weight = torch.ones(E, n, dtype=F64)
    weight[1, 16:] = 0  # member 1 sees only 16 samples

    def make(E_, eps_, mask_, seed):
        g = torch.Generator().manual_seed(seed)
        if form == "lse":
            return init_lse(E_, N, d, eps_, w_scale=0.5, b_scale=0.3, generator=g, neuron_mask=mask_)
        y = torch.randn(E_, N, d, generator=g, dtype=F64)
        return HopfCole(y, torch.rand(E_, N, generator=g, dtype=F64), eps_, 1.0, mask_)

    batch = make(E, eps, mask, 7)
    solos = [batch.member(e).clone() for e in range(E)]
    loss_b = train_autograd(batch, x, target, steps=25, lr=0.01, weight=weight)
    for e, solo in enumerate(solos):
        loss_s = train_autograd(solo, x, target, steps=25, lr=0.01, weight=weight[e : e + 1])
        for k, v in batch.tensors().items():
            assert torch.allclose(v[e], solo.tensors()[k][0], rtol=1e-10, atol=1e-12), (form, e, k)
        assert torch.allclose(loss_b[e], loss_s[0], rtol=1e-10)
    assert (loss_b < member_mse(make(E, eps, mask, 7).predict(x).detach(), target, weight)).all()


def test_lbfgs_polish_never_worsens_and_improves_a_member():
    gen = torch.Generator().manual_seed(3)
    eps = torch.tensor([0.3, 0.3], dtype=F64)
    model = init_lse(2, 6, 1, eps, w_scale=0.4, b_scale=0.2, generator=gen)
    x = torch.linspace(-2, 2, 50, dtype=F64)[:, None]
    target = x[:, 0].abs()
    before = train_autograd(model, x, target, steps=50, lr=0.01)
    after = polish_lbfgs(model, x, target, iterations=50)
    assert (after <= before + 1e-15).all() and (after < 0.5 * before).any()


def test_minibatch_training_is_seeded_and_learns():
    x = torch.linspace(-2, 2, 200, dtype=F64)[:, None]
    target = x[:, 0].abs()
    eps = torch.tensor([0.2, 0.2], dtype=F64)
    runs = []
    for _ in range(2):
        model = init_lse(2, 8, 1, eps, w_scale=0.4, b_scale=0.2, generator=torch.Generator().manual_seed(5))
        loss = train_autograd(model, x, target, steps=300, lr=0.02, batch_size=32,
                          generator=torch.Generator().manual_seed(9))
        runs.append((loss, model.W.detach().clone()))
    assert torch.equal(runs[0][1], runs[1][1])  # same generators -> identical trajectory
    start = member_mse(init_lse(2, 8, 1, eps, w_scale=0.4, b_scale=0.2,
                                generator=torch.Generator().manual_seed(5)).predict(x).detach(), target)
    assert (runs[0][0] < 0.2 * start).all()
