"""The residual network x_{k+1} = x_k + h F(x_k, θ_k) with F(x, θ) = W2 tanh(W1 x + b1) + b2, and its
discrete co-state (backpropagation written as Pontryagin's adjoint recursion, docs/theory.md §4.4).

Shapes: R independent nets, B inputs, state dimension D, hidden width m, K layers.
θ is a dict of tensors with a layer axis: W1 [R, K, m, D], b1 [R, K, m], W2 [R, K, D, m], b2 [R, K, D].
"""

from __future__ import annotations

import torch
from torch import Tensor

PARAMS = ("W1", "b1", "W2", "b2")


def layer(theta: dict[str, Tensor], k: int) -> dict[str, Tensor]:
    return {name: v[:, k] for name, v in theta.items()}


def vector_field(x: Tensor, th: dict[str, Tensor]) -> Tensor:
    """F(x, θ) = W2 tanh(W1 x + b1) + b2 for one layer's θ.  x [R, B, D] -> [R, B, D]."""
    a = x @ th["W1"].transpose(-1, -2) + th["b1"].unsqueeze(-2)  # [R, B, m]
    return torch.tanh(a) @ th["W2"].transpose(-1, -2) + th["b2"].unsqueeze(-2)


def euler_forward(x0: Tensor, theta: dict[str, Tensor], h: float) -> list[Tensor]:
    """States x_0 … x_K of the residual net.  Each [R, B, D]."""
    xs = [x0]
    for k in range(theta["W1"].shape[1]):
        xs.append(xs[-1] + h * vector_field(xs[-1], layer(theta, k)))
    return xs


def costate(xs: list[Tensor], theta: dict[str, Tensor], h: float, p_final: Tensor
            ) -> tuple[list[Tensor], dict[str, Tensor]]:
    """The co-states p_0 … p_K and ∂L/∂θ_k = h ∂ℋ_k/∂θ_k, ℋ_k = p_{k+1}·F(x_k, θ_k), by hand.

    p_K = ∂L/∂x_K (given), p_k = p_{k+1} + h (∂F/∂x)ᵀ p_{k+1} with ∂F/∂x = W2 diag(1 − tanh²(a)) W1.
    The gradients sum over the B inputs (the loss is a sum over them).
    """
    K = theta["W1"].shape[1]
    ps = [p_final]
    grads = {name: torch.empty_like(v) for name, v in theta.items()}
    for k in reversed(range(K)):
        th, x, p = layer(theta, k), xs[k], ps[0]
        s = torch.tanh(x @ th["W1"].transpose(-1, -2) + th["b1"].unsqueeze(-2))  # [R, B, m]
        delta = (1 - s * s) * (p @ th["W2"])  # diag(1 − tanh²) W2ᵀ p   [R, B, m]
        grads["W2"][:, k] = h * p.transpose(-1, -2) @ s  # Σ_b p ⊗ tanh(a)   [R, D, m]
        grads["b2"][:, k] = h * p.sum(-2)
        grads["W1"][:, k] = h * delta.transpose(-1, -2) @ x  # Σ_b δ ⊗ x   [R, m, D]
        grads["b1"][:, k] = h * delta.sum(-2)
        ps.insert(0, p + h * delta @ th["W1"])  # p_k   [R, B, D]
    return ps, grads


def half_squared_loss(xK: Tensor, target: Tensor) -> Tensor:
    """L = ½ Σ_b |x_K − y_b|² / B per net.  -> [R]; its gradient in x_K is (x_K − y)/B."""
    return 0.5 * ((xK - target) ** 2).sum((-1, -2)) / xK.shape[-2]
