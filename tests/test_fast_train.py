"""The closed-form trainer equals autograd Adam (train.train_adam) member by member."""

from __future__ import annotations

import pytest
import torch

from hjexp import ensemble as ens
from hjexp import fast as fast_mod
from hjexp.ensemble import init_lse
from hjexp.fast import predict_fast, train_adam_fast
from hjexp.train import train_adam

DT = torch.float64


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
        model = ens.init_lse(E, N, d, eps, w_scale=0.5, b_scale=0.3, generator=gen, readout=readout, neuron_mask=mask)
    else:
        y = torch.randn(E, N, d, generator=gen, dtype=DT)
        g = torch.rand(E, N, generator=gen, dtype=DT)
        model = ens.init_hopf_cole(y, g, eps, t=0.7, neuron_mask=mask)
    return model, x, target, weight


def _clone(model: ens.Ensemble) -> ens.Ensemble:
    params = {k: v.detach().clone().requires_grad_(True) for k, v in model.params.items()}
    return ens.Ensemble(model.form, params, model.eps.clone(), model.t, model.neuron_mask)


@pytest.mark.parametrize("form,mask_kind,readout,per_member_x,weighted", [
    ("lse", "prefix", False, False, False),
    ("lse", "scattered", True, True, True),
    ("lse", "none", True, False, True),
    ("hopf_cole", "prefix", False, True, True),
    ("hopf_cole", "scattered", False, False, False),
])
def test_fast_equals_autograd_adam(form, mask_kind, readout, per_member_x, weighted, monkeypatch):
    monkeypatch.setattr(fast_mod, "CHUNK_ELEMENTS", 2048)  # several row chunks per step
    model, x, target, weight = _setup(form, mask_kind, readout, per_member_x, weighted)
    ref, fast = _clone(model), _clone(model)
    steps, lr = 6, 0.05
    calls = []
    loss_ref = train_adam(ref, x, target, steps=steps, lr=lr, weight=weight)
    loss_fast = train_adam_fast(fast, x, target, steps=steps, lr=lr, weight=weight, progress=calls.append)
    assert len(calls) == steps
    moved = max((ref.params[k] - model.params[k]).abs().max().item() for k in model.params)
    assert moved > 1e-3  # training really moved the parameters
    for k in model.params:
        if model.neuron_mask is not None and k in ("W", "b", "y", "g"):
            m = model.neuron_mask if k in ("b", "g") else model.neuron_mask[..., None].expand_as(model.params[k])
            assert torch.equal(fast.params[k][~m], model.params[k][~m])  # absent neurons untouched
        torch.testing.assert_close(fast.params[k], ref.params[k], rtol=1e-10, atol=1e-11)
    torch.testing.assert_close(loss_fast, loss_ref, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(predict_fast(fast, x), ref.predict(x).detach(), rtol=1e-10, atol=1e-11)


def test_first_gradient_matches_autograd_float32_scale():
    """float32 run stays close to the float64 autograd run over many steps (no blow-up)."""
    model, x, target, _ = _setup("lse", "prefix", False, False, False, seed=3)
    ref = _clone(model)
    fast = ens.Ensemble("lse", {k: v.detach().float().clone() for k, v in model.params.items()},
                        model.eps.float(), model.t, model.neuron_mask)
    train_adam(ref, x, target, steps=30, lr=0.01)
    train_adam_fast(fast, x.float(), target.float(), steps=30, lr=0.01)
    for k in ref.params:
        torch.testing.assert_close(fast.params[k].double(), ref.params[k].detach(), rtol=1e-3, atol=1e-3)


def test_rows_beyond_every_members_n_are_skipped_exactly():
    """Sample-size sweeps weigh only a prefix of rows per member; the trainer drops the
    rows nobody in a width group weighs, and must still equal autograd Adam."""
    gen = torch.Generator().manual_seed(11)
    E, N, d, n = 4, 6, 2, 40
    x = torch.rand(n, d, generator=gen, dtype=DT) * 4 - 2
    target = x.norm(dim=-1)
    widths = torch.tensor([3, 3, 6, 6])
    mask = torch.arange(N)[None, :] < widths[:, None]
    weight = (torch.arange(n)[None, :] < torch.tensor([10, 15, 30, 40])[:, None]).to(DT)  # prefixes
    eps = torch.tensor([0.3, 0.5, 0.3, 1.0], dtype=DT)
    ref = init_lse(E, N, d, eps, w_scale=0.5, b_scale=0.3, generator=torch.Generator().manual_seed(1), neuron_mask=mask)
    fast = init_lse(E, N, d, eps, w_scale=0.5, b_scale=0.3, generator=torch.Generator().manual_seed(1), neuron_mask=mask)
    loss_ref = train_adam(ref, x, target, steps=20, lr=0.02, weight=weight)
    loss_fast = train_adam_fast(fast, x, target, steps=20, lr=0.02, weight=weight)
    assert torch.allclose(loss_fast, loss_ref, rtol=1e-10)
    for k in ("W", "b"):
        assert torch.allclose(fast.params[k].detach()[mask], ref.params[k].detach()[mask], rtol=1e-10, atol=1e-12)
