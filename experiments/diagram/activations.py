"""diagram, activations: the activation table (THEORY.md §5) against autograd and independent formulas.

∇-class (exact): sigmoid(x/ε) = ∂ₓ LSE_ε(x, 0) (the derivative of softplus_ε, by autograd through the
closed-form LSE) and tanh(x/ε) = π₊ − π₋, the Gibbs weights of the pair (x, −x) read off as the autograd
gradient of LSE_ε with respect to its logits; both against torch's own sigmoid and tanh.

Open rows: SiLU_ε(x) = x·σ(x/ε) and GELU_ε(x) = x·Φ(x/ε). Their sup-distance to ReLU as ε → 0, and
two tests of whether they can be the gradient of an LSE-type potential:
- scalar: an LSE of affine functions is convex, so its derivative is non-decreasing. The smallest
  derivative of the activation (autograd) is scale-free (a_ε'(x) = a'(x/ε)); a negative value rules out
  every convex potential, LSE-type or not.
- vector: the coupled product forms z ⊙ ∇Ψ(z) with Ψ = LSE_ε (SiLU's N-atom version: z ⊙ softmax(z/ε))
  and Ψ = E max_j(z_j + σξ_j), ξ Gaussian, σ = ε/√2 (GELU's: its gradient for the pair (z, 0) is Φ(z/ε)).
  A field is a gradient iff its Jacobian is symmetric (curl-free); the relative asymmetry
  |J − Jᵀ|/|J| is measured by autograd, with ∇Ψ itself (symmetric by construction) as the control.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from hjexp.engine import closed as L

from .contract import Name


def sigmoid_error(x: Tensor, eps: Tensor) -> Tensor:
    """max_x |∂ₓ LSE_ε(x, 0) − sigmoid(x/ε)| per ε.  x [m], eps [E] -> [E]."""
    xs = x.expand(len(eps), -1).clone().requires_grad_(True)  # [E, m]
    soft = L.lse(torch.stack([xs, torch.zeros_like(xs)], -1), eps)
    (d,) = torch.autograd.grad(soft.sum(), xs)
    return (d - torch.sigmoid(x / eps[:, None])).abs().amax(-1)


def tanh_error(x: Tensor, eps: Tensor) -> Tensor:
    """max_x |(π₊ − π₋) − tanh(x/ε)|, π = ∇_z LSE_ε(z) at z = (x, −x).  -> [E]."""
    z = torch.stack([x, -x], -1).expand(len(eps), -1, -1).clone().requires_grad_(True)  # [E, m, 2]
    (pi,) = torch.autograd.grad(L.lse(z, eps).sum(), z)
    return ((pi[..., 0] - pi[..., 1]) - torch.tanh(x / eps[:, None])).abs().amax(-1)


def silu(x: Tensor, eps) -> Tensor:
    return x * torch.sigmoid(x / eps)


def gelu(x: Tensor, eps) -> Tensor:
    return 0.5 * x * (1.0 + torch.erf(x / (eps * math.sqrt(2.0))))


# keyed by the row keys measure writes into results.name
ACTIVATIONS = {Name.SILU: silu, Name.GELU: gelu, Name.SIGMOID: lambda x, e: torch.sigmoid(x / e),
               Name.TANH: lambda x, e: torch.tanh(x / e),
               Name.SOFTPLUS: lambda x, e: e * torch.nn.functional.softplus(x / e)}


def relu_gaps(name: str, x: Tensor, eps: Tensor) -> tuple[Tensor, Tensor]:
    """sup_x |a_ε(x) − ReLU(x)| and ∫|a_ε − ReLU| dx (trapezoid, x sorted) per ε.  -> ([E], [E])."""
    gap = (ACTIVATIONS[name](x, eps[:, None]) - x.clamp_min(0)).abs()  # [E, m]
    return gap.amax(-1), torch.trapezoid(gap, x, dim=-1)


def min_derivative(name: str, s: Tensor) -> float:
    """min over s of a'(s) at ε = 1 (scale-free), by autograd."""
    s = s.clone().requires_grad_(True)
    (d,) = torch.autograd.grad(ACTIVATIONS[name](s, 1.0).sum(), s)
    return float(d.min())


def probit_weights(z: Tensor, sigma: float, nodes: int = 80) -> Tensor:
    """∇_z E max_j(z_j + σξ_j): P(j is the max) = ∫ φ(s) Π_{k≠j} Φ((z_j − z_k)/σ + s) ds by Gauss–Hermite.

    z [n, K] -> [n, K]; differentiable in z.
    """
    s, w = np.polynomial.hermite_e.hermegauss(nodes)  # weight e^{−s²/2}
    s = torch.as_tensor(s, dtype=z.dtype, device=z.device)
    w = torch.as_tensor(w / math.sqrt(2 * math.pi), dtype=z.dtype, device=z.device)
    diff = (z[..., :, None] - z[..., None, :]) / sigma  # [n, K, K]: (z_j − z_k)/σ
    logcdf = torch.special.log_ndtr(diff[..., None] + s)  # [n, K, K, Q]
    eye = torch.eye(z.shape[-1], dtype=torch.bool, device=z.device)[..., None]
    logprod = logcdf.masked_fill(eye, 0.0).sum(-2)  # Π over k ≠ j  [n, K, Q]
    return (logprod.exp() * w).sum(-1)


FIELDS = {
    Name.SOFTMAX: lambda z, e: torch.softmax(z / e, -1),  # ∇ LSE_ε: the control
    Name.SILU_VECTOR: lambda z, e: z * torch.softmax(z / e, -1),
    Name.PROBIT: lambda z, e: probit_weights(z, e / math.sqrt(2.0)),  # ∇ of the Gaussian-smoothed max: control
    Name.GELU_VECTOR: lambda z, e: z * probit_weights(z, e / math.sqrt(2.0)),
}


def jacobian_asymmetry(name: str, z: Tensor, eps: float = 1.0) -> Tensor:
    """|J − Jᵀ|_F / |J|_F of the field at each point, J by autograd (one backward pass per output).  z [n, K] -> [n]."""
    z = z.clone().requires_grad_(True)
    out = FIELDS[name](z, eps)
    rows = [torch.autograd.grad(out[:, k].sum(), z, retain_graph=True)[0] for k in range(z.shape[-1])]
    J = torch.stack(rows, -2)  # [n, K, K]: J[i, k, j] = ∂G_k/∂z_j
    return (J - J.transpose(-1, -2)).norm(dim=(-2, -1)) / J.norm(dim=(-2, -1))
