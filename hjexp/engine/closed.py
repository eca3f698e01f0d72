"""Closed forms of the log-sum-exp layer and its Hopf–Cole twin (docs/theory.md §1–3), differentiable.

The reference path of the engine: unchunked, autograd-capable, written from the definitions.
The fused trainer and chunked prediction (engine.kernel) must agree with it (tests/test_engine.py).

Shapes: E members, n points, N neurons/atoms, d input dimensions. Every function
accepts a leading ensemble axis; ``eps`` is a tensor broadcastable to [E] (one
viscosity per member). Logits are computed once (``logits``) and passed on, so f,
π, gradients and Hessians all reuse the same [E, n, N] tensor.
"""

from __future__ import annotations

import torch
from torch import Tensor


def logits(x: Tensor, W: Tensor, b: Tensor, neuron_mask: Tensor | None = None) -> Tensor:
    """z = W x + b.  x: [E, n, d] or [n, d]; W: [E, N, d]; b: [E, N] -> [E, n, N].

    Absent neurons (mask False) get z = -inf, so they carry zero Gibbs weight and
    receive zero gradient: one tensor program serves members of different width.
    """
    z = torch.matmul(x, W.transpose(-1, -2)) + b.unsqueeze(-2)  # [E, n, N]
    if neuron_mask is not None:
        z = z.masked_fill(~neuron_mask.unsqueeze(-2), float("-inf"))
    return z


def _eps(eps: Tensor | float, z: Tensor) -> Tensor:
    """Viscosity shaped to broadcast against [E, n, N]: [E, 1, 1]."""
    eps = torch.as_tensor(eps, dtype=z.dtype, device=z.device)
    return eps.reshape(-1, 1, 1) if eps.ndim else eps


def lse(z: Tensor, eps: Tensor | float) -> Tensor:
    """f_ε = ε log Σ_j exp(z_j/ε), max-shifted (torch.logsumexp).  [E, n, N] -> [E, n]."""
    e = _eps(eps, z)
    return (e * torch.logsumexp(z / e, dim=-1, keepdim=True)).squeeze(-1)


def gibbs(z: Tensor, eps: Tensor | float) -> Tensor:
    """π_j = softmax_j(z/ε): the attribution (Gibbs) weights.  [E, n, N]."""
    return torch.softmax(z / _eps(eps, z), dim=-1)


def entropy(pi: Tensor) -> Tensor:
    """H(π) = -Σ π log π with 0 log 0 = 0.  [..., N] -> [...]."""
    return -(pi * torch.log(pi.clamp_min(torch.finfo(pi.dtype).tiny))).sum(-1)


def gradient(pi: Tensor, W: Tensor) -> Tensor:
    """∇_x f = E_π[w].  pi: [E, n, N], W: [E, N, d] -> [E, n, d]."""
    return torch.matmul(pi, W)


def hessian(pi: Tensor, W: Tensor, eps: Tensor | float, readout: Tensor | None = None) -> Tensor:
    """∇²_x (c·f) = c · Cov_π(w) / ε.  -> [E, n, d, d].

    ``readout`` c: [E] scalar output weight; it multiplies the Hessian and must not
    be dropped when bounding the curvature of a model c·f.
    """
    mean = torch.matmul(pi, W)  # [E, n, d]
    second = torch.einsum("enk,eki,ekj->enij", pi, W, W)  # E_π[w wᵀ]
    cov = second - mean.unsqueeze(-1) * mean.unsqueeze(-2)
    e = torch.as_tensor(eps, dtype=pi.dtype, device=pi.device)
    scale = 1.0 / e
    if readout is not None:
        scale = readout / e
    return cov * (scale.reshape(-1, 1, 1, 1) if scale.ndim else scale)


# --- the network side <-> the PDE side (docs/theory.md §3) --------------------------

def lse_to_atoms(W: Tensor, b: Tensor, t: float) -> tuple[Tensor, Tensor]:
    """(W, b) -> (y, g):  y_j = 2t w_j,  g_j = -b_j - t|w_j|²."""
    return 2.0 * t * W, -b - t * (W * W).sum(-1)


def atoms_to_lse(y: Tensor, g: Tensor, t: float) -> tuple[Tensor, Tensor]:
    """(y, g) -> (W, b):  w_j = y_j/2t,  b_j = -g_j - |y_j|²/4t."""
    return y / (2.0 * t), -g - (y * y).sum(-1) / (4.0 * t)


def atom_logits(x: Tensor, y: Tensor, g: Tensor, t: float | Tensor,
                neuron_mask: Tensor | None = None) -> Tensor:
    """a_j(x) = -(g_j + |x - y_j|²/(4t)), computed from distances, not from (W, b).

    x: [E, n, d] or [n, d]; y: [E, N, d]; g: [E, N] -> [E, n, N].
    """
    t = torch.as_tensor(t, dtype=y.dtype, device=y.device)
    t = t.reshape(-1, 1, 1) if t.ndim else t
    sq = ((x.unsqueeze(-2) - y.unsqueeze(-3)) ** 2).sum(-1)  # [E, n, N]
    a = -(g.unsqueeze(-2) + sq / (4.0 * t))
    if neuron_mask is not None:
        a = a.masked_fill(~neuron_mask.unsqueeze(-2), float("-inf"))
    return a


def hopf_cole(x: Tensor, y: Tensor, g: Tensor, eps: Tensor | float, t: float | Tensor,
              neuron_mask: Tensor | None = None) -> Tensor:
    """u_ε(x,t) = -ε log Σ_j exp(-(g_j + |x-y_j|²/4t)/ε): a soft minimum of bumps.  [E, n]."""
    return -lse(atom_logits(x, y, g, t, neuron_mask), eps)


def hopf_lax(x: Tensor, y: Tensor, g: Tensor, t: float | Tensor) -> Tensor:
    """u_0(x,t) = min_j [g_j + |x-y_j|²/4t]: the inviscid (ε -> 0) limit.  [E, n]."""
    return -atom_logits(x, y, g, t).amax(-1)
