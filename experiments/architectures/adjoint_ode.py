"""The continuous adjoint ṗ = −(∂F/∂s)ᵀp of each family's continuous field, solved independently by RK4 on a
fine grid (hjexp/adjoint.py), and the discrete co-state compared with it."""

from __future__ import annotations

import torch
from torch import Tensor

from hjexp.adjoint import common_nodes, rk4_adjoint

from .draws import Drive
from .driver import costate, forward, layer, terminal_costate


def adjoint_reference(drive: Drive, s0: Tensor, target: Tensor, M: int) -> Tensor:
    """p(t_i) at t_i = iT/M, i = 0 … M  [M + 1, R, B, S]: RK4 forward for s, then RK4 backward for (s, p)."""
    fam, dt = drive.fam, drive.T / M
    halves = torch.arange(2 * M + 1, dtype=s0.dtype, device=s0.device) * (dt / 2)
    th_nodes, x_nodes = drive.theta_at(halves), drive.x_at(halves)

    def field(s, j):
        return fam.continuous_field(s, layer(fam, th_nodes, j), None if x_nodes is None else x_nodes[:, j])

    return rk4_adjoint(field, s0, lambda s: terminal_costate(fam, s, target), dt, M)[0]


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
    disc, cont = common_nodes(ps, ref)
    return per_net_rel(disc, cont, ref.abs().transpose(0, 1).flatten(1).max(1).values)
