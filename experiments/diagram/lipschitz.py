"""diagram, lipschitz: the largest gradient norm of an LSE layer and of a composition of LSE layers.

Two estimates of sup_x |∇F(x)|, both lower bounds on the Lipschitz constant:
- sampled: the largest |∇F| over many points (autograd);
- ascent: normalised gradient ascent on |∇F(x)|² from the best sampled points (second-order autograd),
  keeping the best value seen. Inside a cell of a small-ε layer |∇F| is flat, so ascent can stall
  there; it matters where ε is large and the gradient is a genuine average.

A vector LSE layer maps h ∈ R^{d_in} to (LSE_ε(W_k h + b_k))_k, k = 1..d_out, each output with its own
N neurons; row k of its Jacobian is E_π[w_k,j], so |row k| ≤ max_j |w_k,j| and the layer's constant is
at most (Σ_k max_j |w_k,j|²)^{1/2} (the Frobenius norm bounds the spectral one). A scalar layer's
constant is then max_j |w_j|, the paper's bound, and the chain rule gives the product for a composition.
"""

from __future__ import annotations

import torch
from torch import Tensor


def layer(h: Tensor, W: Tensor, b: Tensor, eps: Tensor) -> Tensor:
    """One vector LSE layer.  h [B, n, d_in], W [B, k, N, d_in], b [B, k, N], eps [B] -> [B, n, k]."""
    z = torch.einsum("bnd,bkjd->bnkj", h, W) + b[:, None]  # [B, n, k, N]
    e = eps.reshape(-1, 1, 1, 1)
    return (e * torch.logsumexp(z / e, dim=-1, keepdim=True)).squeeze(-1)


def stack(x: Tensor, layers: list[tuple[Tensor, Tensor]], eps: Tensor) -> Tensor:
    """The composition, last layer scalar.  -> [B, n]."""
    h = x
    for W, b in layers:
        h = layer(h, W, b, eps)
    return h[..., 0]


def layer_constant(W: Tensor) -> Tensor:
    """(Σ_k max_j |w_k,j|²)^{1/2}: a bound on one layer's Lipschitz constant.  W [B, k, N, d] -> [B]."""
    return (W.norm(dim=-1).amax(-1) ** 2).sum(-1).sqrt()


def grad_norms(fn, x: Tensor) -> Tensor:
    """|∇F(x)| per point.  fn: [B, n, d] -> [B, n]."""
    x = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(fn(x).sum(), x)
    return g.norm(dim=-1)


def ascent(fn, x0: Tensor, *, steps: int, step: float) -> Tensor:
    """Best |∇F| seen along normalised gradient ascent on |∇F|² from each start.  x0 [B, n, d] -> [B, n]."""
    x = x0.detach().clone()
    best = torch.zeros(x.shape[:-1], dtype=x.dtype, device=x.device)
    for _ in range(steps):
        x.requires_grad_(True)
        (g,) = torch.autograd.grad(fn(x).sum(), x, create_graph=True)
        sq = (g * g).sum(-1)  # [B, n]
        (climb,) = torch.autograd.grad(sq.sum(), x)
        best = torch.maximum(best, sq.detach().sqrt())
        size = climb.norm(dim=-1, keepdim=True)
        move = torch.where(size > 0, climb / size.clamp_min(torch.finfo(x.dtype).tiny), torch.zeros_like(climb))
        x = (x + step * move).detach()
    return torch.maximum(best, grad_norms(fn, x))
