"""engine/param.c (pull-back, Adam's step and the next network in one C call) against the torch
path it replaces: the model form's network/pull_back hooks and adam.adam_step_."""

from __future__ import annotations

import math

import pytest
import torch

from hjexp.engine import HopfCole, init_lse, native
from hjexp.engine.adam import ADAM_EPS, BETAS, adam_step_

pytestmark = [pytest.mark.usefixtures("one_thread"),
              pytest.mark.skipif(native.library() is None, reason="the C pass is not built here")]


def _model(form: str, dtype, gen):
    E, N, d = 4, 37, 3  # N not a multiple of any vector length
    eps = torch.tensor([0.05, 0.3, 1.0, 0.2], dtype=dtype)
    if form == "lse":
        return init_lse(E, N, d, eps, w_scale=0.7, b_scale=0.3, generator=gen)
    return HopfCole(torch.randn(E, N, d, generator=gen, dtype=dtype), torch.rand(E, N, generator=gen, dtype=dtype),
                    eps, 0.4)


@pytest.mark.parametrize("form", ["lse", "hopf-cole"])
@pytest.mark.parametrize("dtype,rtol", [(torch.float64, 1e-12), (torch.float32, 2e-6)])
@pytest.mark.parametrize("masks", ["none", "widths", "bias"])
def test_param_step_equals_the_torch_hooks_and_adam(form, dtype, rtol, masks):
    gen = torch.Generator().manual_seed(3)
    model = _model(form, dtype, gen)
    theta = model.packed()  # [E, N, K]
    E, N, K = theta.shape
    t, eps = float(model.t), model.eps
    widths = torch.tensor([37, 5, 20, 37]) if masks == "widths" else None
    bmask = None
    if masks == "bias":
        bmask = torch.zeros(E, N, dtype=dtype).masked_fill_(torch.rand(E, N, generator=gen) < 0.3, -1e30)
    m = 0.01 * torch.randn(E, N, K, generator=gen, dtype=dtype)
    v = 0.01 * torch.rand(E, N, K, generator=gen, dtype=dtype)
    g_net = torch.randn(E, K, N, generator=gen, dtype=dtype)  # dL/d[W, b]ᵀ as the pass returns it
    live = torch.tensor([1.0, 0.0, 1.0, 1.0], dtype=dtype)
    step, lr = 7, 0.03
    if widths is not None:  # the pass leaves a member's neurons beyond its width at zero gradient
        g_net[torch.arange(N)[None, None, :].expand(E, K, N) >= widths[:, None, None]] = 0

    # torch: pull back, Adam, next network / ε (+ mask bias), transposed
    th_ref, m_ref, v_ref = theta.clone(), m.clone(), v.clone()
    adam_step_(th_ref, model.pull_back(theta, g_net.transpose(1, 2), t), m_ref, v_ref, step, lr, live.view(-1, 1, 1))
    net_ref = model.network(th_ref, t) / eps[:, None, None]
    if bmask is not None:
        net_ref[..., -1] += bmask
    net_ref = net_ref.transpose(1, 2)

    thT_c, m_c, v_c = (a.transpose(1, 2).contiguous() for a in (theta, m, v))
    out, bad = torch.zeros(E, K, N, dtype=dtype), torch.zeros(E, dtype=torch.uint8)
    nbad = native.adam_network(model.native_form, t, eps, widths, bmask, g_net.contiguous(), thT_c, m_c, v_c,
                               live, step, lr, BETAS, ADAM_EPS, out, bad)
    assert nbad == 0 and not bad.any()
    keep = torch.ones(E, K, N, dtype=torch.bool)
    if widths is not None:  # beyond a member's width nothing is touched (and nothing is read there)
        keep = (torch.arange(N)[None, None, :] < widths[:, None, None]).expand(E, K, N)
        assert torch.equal(thT_c[~keep], theta.transpose(1, 2)[~keep])
    for got, want in ((thT_c, th_ref), (m_c, m_ref), (v_c, v_ref)):
        want = want.transpose(1, 2)[keep]  # absolute error at the rounding of the terms summed (Adam's moments cancel)
        torch.testing.assert_close(got[keep], want, rtol=rtol, atol=rtol * float(want.abs().max()))
    finite = keep & (net_ref > -1e29)
    torch.testing.assert_close(out[finite], net_ref[finite], rtol=rtol, atol=rtol * float(net_ref[finite].abs().max()))
    assert torch.equal(th_ref[1], theta[1])  # a frozen member does not move ...
    assert not torch.equal(m_ref[1], m[1])  # ... while its moments do, as in torch.optim.Adam with a masked step


@pytest.mark.parametrize("form", ["lse", "hopf-cole"])
def test_param_step_flags_non_finite_and_overflowing_members_only(form):
    gen = torch.Generator().manual_seed(4)
    model = _model(form, torch.float32, gen)
    theta = model.packed().transpose(1, 2).contiguous()  # [E, K, N]
    E, K, N = theta.shape
    theta[1, 0, 3] = math.nan
    theta[0, K - 1, 0] = 3e38  # finite θ whose network (÷ ε = 0.05) overflows float32
    bmask = torch.zeros(E, N)
    bmask[3, 5] = -1e30
    theta[3, 0, 5] = math.inf  # on an absent neuron: never seen by the pass
    out, bad = torch.zeros(E, K, N), torch.zeros(E, dtype=torch.uint8)
    nbad = native.adam_network(model.native_form, float(model.t), model.eps, None, bmask, None, theta,
                               torch.zeros_like(theta), torch.zeros_like(theta), None, 0, 0.0, BETAS, ADAM_EPS, out, bad)
    assert bad.tolist() == [1, 1, 0, 0] and nbad == 2
