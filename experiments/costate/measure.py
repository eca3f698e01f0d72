"""costate, measure: (1) the hand-written co-state recursion against autograd of the whole net;
(2) the co-state of nets whose weights sample a smooth θ(t) against the continuous adjoint ODE
ṗ = −(∂F/∂x)ᵀp, solved independently (RK4, vector–Jacobian products by autograd) at fine resolution.
Rows only; judge.py decides.
"""

from __future__ import annotations

import math

import pandas as pd
import torch

from hjexp.adjoint import common_nodes, rk4_adjoint
from hjexp.claims.roundoff import dtype_row
from hjexp.context import RunContext

from .contract import Part, Q, Source, What
from .residual import PARAMS, costate, euler_forward, half_squared_loss, layer, vector_field

GRAD_KEY = {"W1": What.DL_DW1, "b1": What.DL_DB1, "W2": What.DL_DW2, "b2": What.DL_DB2}  # residual.PARAMS -> row key


def _shapes(D: int, m: int) -> dict[str, tuple[tuple[int, ...], int]]:
    """Parameter shapes without the net/layer axes, and their fan-in (for the weight scale)."""
    return {"W1": ((m, D), D), "b1": ((m,), D), "W2": ((D, m), m), "b2": ((D,), m)}


def _randn(ctx: RunContext, gen: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=gen, dtype=ctx.dtype, device=ctx.device)


def max_rel(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a − b| / max |b| over the whole tensor."""
    return ((a - b).abs().max() / b.abs().max()).item()


def check_discrete(ctx: RunContext, p, K: int) -> list[dict]:
    """Hand co-state vs autograd on R random nets of depth K (independent θ_k per layer)."""
    q, gen = p.discrete, ctx.generator(10 + K)
    R, B, D, m, h = q.n_nets, p.n_inputs, p.D, p.m, p.T / K
    theta = {k: _randn(ctx, gen, R, K, *s) / math.sqrt(fan) for k, (s, fan) in _shapes(D, m).items()}
    x0, target = _randn(ctx, gen, R, B, D), _randn(ctx, gen, R, B, D)
    # autograd of the whole net: leaves θ and x_0; every x_k keeps its gradient (= p_k)
    leaves = {k: v.clone().requires_grad_(True) for k, v in theta.items()}
    x_leaf = x0.clone().requires_grad_(True)
    xs = euler_forward(x_leaf, leaves, h)
    for x in xs[1:]:
        x.retain_grad()
    half_squared_loss(xs[-1], target).sum().backward()
    auto_p = [x_leaf.grad] + [x.grad for x in xs[1:]]
    # by hand: the recursion from p_K = ∂L/∂x_K = (x_K − y)/B
    with torch.no_grad():
        hand_xs = euler_forward(x0, theta, h)
        ps, grads = costate(hand_xs, theta, h, (hand_xs[-1] - target) / B)
    errs = {What.P_K: max(max_rel(a, b) for a, b in zip(ps, auto_p))}
    errs.update({GRAD_KEY[k]: max_rel(grads[k], leaves[k].grad) for k in PARAMS})
    return [dict(part=Part.DISCRETE, K=K, h=h, what=w, quantity=Q.MAX_REL_ERR, value=v) for w, v in errs.items()]


def smooth_theta(ctx: RunContext, p) -> dict[str, torch.Tensor]:
    """Coefficients of θ(t) = A + B sin(ωt) + C cos(ωt), ω = 2π/T: a smooth control.  Each [3, R, ...]."""
    gen = ctx.generator(20)
    R, D, m = p.convergence.n_nets, p.D, p.m
    amp = torch.tensor([1.0, 0.5, 0.5], dtype=ctx.dtype, device=ctx.device)
    return {k: amp.reshape(3, *[1] * (1 + len(s))) * _randn(ctx, gen, 3, R, *s) / math.sqrt(fan)
            for k, (s, fan) in _shapes(D, m).items()}


def theta_at(coef: dict[str, torch.Tensor], t: torch.Tensor, T: float) -> dict[str, torch.Tensor]:
    """θ(t) at times t [K] -> each [R, K, ...] (a layer axis, as the residual net wants)."""
    w = 2 * math.pi / T
    basis = torch.stack([torch.ones_like(t), torch.sin(w * t), torch.cos(w * t)])  # [3, K]
    return {k: torch.einsum("ck,cr...->rk...", basis, c) for k, c in coef.items()}


def adjoint_reference(coef, x0, target, T: float, M: int) -> tuple[torch.Tensor, float]:
    """p(t) at the M + 1 nodes t_i = iT/M [M + 1, R, B, D] by RK4 (hjexp/adjoint.py), with p(T) = ∂L/∂x(T);
    also max |x(0) − x_0| after the backward sweep (a check on the reference itself)."""
    dt = T / M
    halves = torch.arange(2 * M + 1, dtype=x0.dtype, device=x0.device) * (dt / 2)
    theta = theta_at(coef, halves, T)  # θ at every half step, once  [R, 2M+1, ...]
    ps, x_back = rk4_adjoint(lambda x, j: vector_field(x, layer(theta, j)), x0,
                             lambda x: (x - target) / x.shape[-2], dt, M)
    return ps, (x_back - x0).abs().max().item()


def check_convergence(ctx: RunContext, p) -> tuple[list[dict], pd.DataFrame]:
    q, T, M = p.convergence, p.T, p.convergence.reference_steps
    coef = smooth_theta(ctx, p)
    gen = ctx.generator(21)
    x0, target = _randn(ctx, gen, q.n_nets, p.n_inputs, p.D), _randn(ctx, gen, q.n_nets, p.n_inputs, p.D)
    with torch.no_grad():
        ref, roundtrip = adjoint_reference(coef, x0, target, T, M)  # [M+1, R, B, D]
        coarse, _ = adjoint_reference(coef, x0, target, T, M // 2)
    scale = ref.abs().max()
    rows = [dict(part=Part.REFERENCE, K=M, quantity=Q.REL_DIFF_HALF_STEPS,
                 value=((coarse - ref[::2]).abs().max() / scale).item()),
            dict(part=Part.REFERENCE, K=M, quantity=Q.X0_ROUNDTRIP, value=roundtrip)]
    curves = [pd.DataFrame(dict(source=Source.REFERENCE, K=M, t=torch.linspace(0, T, M + 1, device="cpu").tolist(),
                                p=ref[:, 0, 0, 0].tolist()))]
    for K in q.depths:
        h = T / K
        theta = theta_at(coef, torch.arange(K, dtype=ctx.dtype, device=ctx.device) * h, T)  # θ_k = θ(t_k)
        with torch.no_grad():
            xs = euler_forward(x0, theta, h)
            ps, _ = costate(xs, theta, h, (xs[-1] - target) / xs[-1].shape[-2])
        ps = torch.stack(ps)  # [K+1, R, B, D]
        disc, cont = common_nodes(ps, ref)  # p_k and p(t_k) where both grids have a node
        rows += [dict(part=Part.CONVERGENCE, K=K, h=h, quantity=Q.MAX_REL_ERR,
                      value=((disc - cont).abs().max() / scale).item()),
                 dict(part=Part.CONVERGENCE, K=K, h=h, quantity=Q.P0_REL_ERR,
                      value=((ps[0] - ref[0]).abs().max() / scale).item())]
        curves.append(pd.DataFrame(dict(source=Source.DISCRETE, K=K, t=[k * h for k in range(K + 1)],
                                        p=ps[:, 0, 0, 0].tolist())))
    return rows, pd.concat(curves, ignore_index=True)


def measure(ctx: RunContext) -> None:
    p = ctx.params
    ctx.add_rows([dtype_row(ctx.dtype)])
    with ctx.progress("costate checks", len(p.discrete.depths) + 1) as advance:
        for K in p.discrete.depths:
            ctx.add_rows(ctx.cached(f"discrete_K{K}", lambda K=K: check_discrete(ctx, p, K)))
            advance(1)
        rows, curves = ctx.cached("convergence", lambda: check_convergence(ctx, p))
        ctx.add_rows(rows)
        ctx.save_table("costate_curves", curves)
        advance(1)
