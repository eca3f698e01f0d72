"""Backpropagation through the whole network (torch autograd) against the hand-written co-state recursion."""

from __future__ import annotations

import torch

from .contract import Part, Q, What
from .draws import random_problem
from .driver import costate, forward, loss, terminal_costate
from .family import Family


def max_rel(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a − b| / max |b| over the whole tensor."""
    return ((a - b).abs().max() / b.abs().max()).item()


def check_identity(fam: Family, gen, like, R: int, B: int, K: int, T: float, *, drop_term: bool = False) -> list[dict]:
    """Rows: worst relative difference of the co-states (every step) and of each parameter's gradient."""
    dt = T / K
    theta, xs, s0, y = random_problem(fam, gen, like, R, B, K)
    leaves = {n: v.clone().requires_grad_(True) for n, v in theta.items()}
    s_leaf = s0.clone().requires_grad_(True)
    with torch.enable_grad():
        states = forward(fam, s_leaf, leaves, xs, dt, K)
        for s in states[1:]:
            s.retain_grad()
        loss(fam, states[-1], y).sum().backward()
    auto_p = [s_leaf.grad] + [s.grad for s in states[1:]]
    with torch.no_grad():
        hand_states = forward(fam, s0, theta, xs, dt, K)
        ps, grads = costate(fam, hand_states, theta, xs, dt, K, terminal_costate(fam, hand_states[-1], y),
                            drop_term=drop_term)
    rows = [dict(what=What.P_K, value=max(max_rel(a, b) for a, b in zip(ps, auto_p)))]
    rows += [dict(what=f"dL/d{n}", value=max_rel(grads[n], leaves[n].grad)) for n in theta]
    return [dict(part=Part.IDENTITY, arch=fam.name, K=K, h=dt, quantity=Q.MAX_REL_ERR, **r) for r in rows]
