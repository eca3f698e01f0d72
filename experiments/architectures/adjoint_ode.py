"""The continuous adjoint ṗ = −(∂F/∂s)ᵀp solved independently by RK4 on a fine grid (vector–Jacobian
products by autograd of the continuous field), and the discrete co-state compared with it."""

from __future__ import annotations

import torch
from torch import Tensor

from .draws import Drive
from .driver import costate, forward, layer, terminal_costate


def adjoint_reference(drive: Drive, s0: Tensor, target: Tensor, M: int) -> Tensor:
    """p(t_i) at t_i = iT/M, i = 0 … M  [M + 1, R, B, S]: RK4 forward for s, then RK4 backward for (s, p)."""
    fam, dt = drive.fam, drive.T / M
    halves = torch.arange(2 * M + 1, dtype=s0.dtype, device=s0.device) * (dt / 2)
    th_nodes, x_nodes = drive.theta_at(halves), drive.x_at(halves)

    def field(s, j):
        return fam.continuous_field(s, layer(fam, th_nodes, j), None if x_nodes is None else x_nodes[:, j])

    def both(state, j):
        s, p = state
        with torch.enable_grad():
            sg = s.detach().requires_grad_(True)
            f = field(sg, j)
            (vjp,) = torch.autograd.grad(f, sg, grad_outputs=p)
        return [f.detach(), -vjp]

    def rk4(state, j, sign, fn):
        h = sign * dt
        k1 = fn(state, j)
        k2 = fn([s + h / 2 * k for s, k in zip(state, k1)], j + sign)
        k3 = fn([s + h / 2 * k for s, k in zip(state, k2)], j + sign)
        k4 = fn([s + h * k for s, k in zip(state, k3)], j + 2 * sign)
        return [s + h / 6 * (a + 2 * b + 2 * c + d) for s, a, b, c, d in zip(state, k1, k2, k3, k4)]

    state = [s0]
    for i in range(M):
        state = rk4(state, 2 * i, 1, lambda st, j: [field(st[0], j)])
    state = [state[0], terminal_costate(fam, state[0], target)]
    out = [state[1]]
    for i in range(M, 0, -1):
        state = rk4(state, 2 * i, -1, both)
        out.append(state[1])
    return torch.stack(out[::-1])


def per_net_rel(a: Tensor, b: Tensor, scale: Tensor) -> Tensor:
    """max |a − b| over everything but the net axis (dim 1), over each net's scale  [R]."""
    return (a - b).abs().transpose(0, 1).flatten(1).max(1).values / scale


def discrete_costates(drive: Drive, s0: Tensor, target: Tensor, K: int, *, offset: float = 0.0,
                      drop_term: bool = False) -> Tensor:
    """Co-states at the K + 1 layer/step boundaries [K + 1, R, B, S] for θ_k = θ(t_k), x_k = x(t_k + offset·Δ)."""
    fam, dt = drive.fam, drive.T / K
    t = torch.arange(K, dtype=s0.dtype, device=s0.device) * dt
    theta, xs = drive.theta_at(t), drive.x_at(t + offset * dt)
    states = forward(fam, s0, theta, xs, dt, K)
    ps, _ = costate(fam, states, theta, xs, dt, K, terminal_costate(fam, states[-1], target), drop_term=drop_term)
    return torch.stack(ps[:: fam.substeps])


def errors_vs_reference(ps: Tensor, ref: Tensor) -> Tensor:
    """Per-net sup_k |p_k − p(t_k)| / sup|p| at the nodes both grids hold (K, M powers of two)  [R]."""
    K, M = ps.shape[0] - 1, ref.shape[0] - 1
    disc, cont = (ps, ref[:: M // K]) if K <= M else (ps[:: K // M], ref)
    return per_net_rel(disc, cont, ref.abs().transpose(0, 1).flatten(1).max(1).values)
