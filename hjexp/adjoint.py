"""The continuous adjoint ṗ = −(∂F/∂s)ᵀp solved by RK4: the independent reference that costate and
architectures compare backpropagation's discrete co-state with.

The state is integrated forward, then state and co-state together backward (the state is recomputed
rather than stored, so s(0) after the backward sweep checks the reference itself). The vector–Jacobian
products come from autograd of the continuous field, not from any discrete network's backward pass.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

Field = Callable[[Tensor, int], Tensor]  # F(s, j) at the half-step node j, time j·dt/2


def rk4_adjoint(field: Field, s0: Tensor, terminal: Callable[[Tensor], Tensor], dt: float,
                M: int) -> tuple[Tensor, Tensor]:
    """Co-states p(t_i) at t_i = i·dt, i = 0 … M  [M + 1, ...], and s(0) integrated back from s(T).

    ``field`` is evaluated at half steps (j = 0 … 2M), as RK4's midpoints need; ``terminal(s(T))`` gives
    p(T) = ∂L/∂s(T).
    """

    def both(state: list[Tensor], j: int) -> list[Tensor]:
        s, p = state
        with torch.enable_grad():
            sg = s.detach().requires_grad_(True)
            f = field(sg, j)
            (vjp,) = torch.autograd.grad(f, sg, grad_outputs=p)
        return [f.detach(), -vjp]

    def rk4(state: list[Tensor], j: int, sign: int, fn) -> list[Tensor]:
        """One RK4 step of size sign·dt from half-step index j."""
        h = sign * dt
        k1 = fn(state, j)
        k2 = fn([s + h / 2 * k for s, k in zip(state, k1)], j + sign)
        k3 = fn([s + h / 2 * k for s, k in zip(state, k2)], j + sign)
        k4 = fn([s + h * k for s, k in zip(state, k3)], j + 2 * sign)
        return [s + h / 6 * (a + 2 * b + 2 * c + d) for s, a, b, c, d in zip(state, k1, k2, k3, k4)]

    state = [s0]
    for i in range(M):
        state = rk4(state, 2 * i, 1, lambda st, j: [field(st[0], j)])
    state = [state[0], terminal(state[0])]
    out = [state[1]]
    for i in range(M, 0, -1):
        state = rk4(state, 2 * i, -1, both)
        out.append(state[1])
    return torch.stack(out[::-1]), state[0]


def common_nodes(ps: Tensor, ref: Tensor) -> tuple[Tensor, Tensor]:
    """Discrete co-states [K + 1, ...] and a reference [M + 1, ...] at the times both grids hold
    (K and M powers of two: every node of the coarser grid)."""
    K, M = ps.shape[0] - 1, ref.shape[0] - 1
    return (ps, ref[:: M // K]) if K <= M else (ps[:: K // M], ref)
