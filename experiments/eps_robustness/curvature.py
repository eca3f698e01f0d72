"""Input curvature of c·LSE_ε(Wx + b): the closed form, its bounds, and an autograd oracle.

∇²_x (c·f) = c·Cov_π(W)/ε with Cov_π(W) = Wᵀ(diag π − ππᵀ)W (docs/theory.md §4.3). Three upper
bounds on ‖Cov_π(W)‖₂ that hold for every π (docs/derivations/robustness.md):

- paper:          ‖W‖²_{2,∞} = max_k ‖w_k‖²           (a variance of vectors of norm ≤ M is ≤ M²)
- half_spectral:  ½‖W − 1w̄ᵀ‖₂²  (spectral norm of the row-centred W; from ‖diag π − ππᵀ‖₂ ≤ ½)
- range:          diam(W)²/4 = max_{k,l} ‖w_k − w_l‖²/4   (Popoviciu; never above the paper's)
"""

from __future__ import annotations

import torch
from torch import Tensor

from hjexp.engine import closed as L

from .contract import BOUND_Q, Q

BOUNDS = ("paper", "half_spectral", "range")


def _scale(eps: Tensor, readout: Tensor | None) -> Tensor:
    """|c|/ε per member.  [E]."""
    return (readout.abs() if readout is not None else torch.ones_like(eps)) / eps


def hessian_norms(x: Tensor, W: Tensor, b: Tensor, eps: Tensor, readout: Tensor | None = None) -> Tensor:
    """Spectral norm of ∇²_x(c·f) at every point, closed form + batched eigvalsh.  x [E, n, d] -> [E, n]."""
    pi = L.gibbs(L.logits(x, W, b), eps)  # [E, n, N]
    H = L.hessian(pi, W, eps, readout)  # [E, n, d, d]
    return torch.linalg.eigvalsh(H).abs().amax(-1)


def cov_bounds(W: Tensor) -> dict[str, Tensor]:
    """Bounds on sup_π ‖Cov_π(W)‖₂ over the last two axes of W [..., N, d] -> each [...]."""
    centred = W - W.mean(-2, keepdim=True)
    return {"paper": (W * W).sum(-1).amax(-1),
            "half_spectral": 0.5 * torch.linalg.matrix_norm(centred, ord=2) ** 2,
            "range": torch.cdist(W, W).flatten(-2).amax(-1) ** 2 / 4}


def hessian_bounds(W: Tensor, eps: Tensor, readout: Tensor | None = None) -> dict[str, Tensor]:
    """|c|·bound/ε per member for W [E, N, d].  Each [E]."""
    s = _scale(eps, readout)
    return {k: v * s for k, v in cov_bounds(W).items()}


def autograd_hessian(x: Tensor, W: Tensor, b: Tensor, eps: Tensor, readout: Tensor | None = None) -> Tensor:
    """∇²_x of c·ε·logsumexp((Wx + b)/ε) by double backward (no closed form used).  x [E, n, d] -> [E, n, d, d].

    Points and members are independent, so the gradient of the summed output is each point's own
    gradient, and one more backward pass per input coordinate gives one Hessian row for all points.
    (torch.func would do the same but costs seconds to import.)
    """
    c = readout if readout is not None else torch.ones_like(eps)
    x = x.detach().clone().requires_grad_(True)
    e = eps.reshape(-1, 1, 1)
    f = c[:, None] * eps[:, None] * torch.logsumexp((x @ W.transpose(1, 2) + b[:, None]) / e, -1)  # [E, n]
    (g,) = torch.autograd.grad(f.sum(), x, create_graph=True)  # [E, n, d]
    rows = [torch.autograd.grad(g[..., i].sum(), x, retain_graph=True)[0] for i in range(x.shape[-1])]
    return torch.stack(rows, -2)


def identity_rel_err(x: Tensor, W: Tensor, b: Tensor, eps: Tensor, readout: Tensor | None = None) -> Tensor:
    """max |H_closed − H_autograd| / (|c|·‖W‖²_{2,∞}/ε) per member, both Hessians in float64.  [E].

    The closed form subtracts E_π[wwᵀ] − E_π[w]E_π[w]ᵀ, terms of size up to ‖W‖²_{2,∞}, so its roundoff
    is relative to that scale (the paper's bound), not to the Hessian entry, which can be far smaller
    (π concentrated on one neuron) or exactly zero.
    """
    xd, Wd, bd, ed = (t.detach().to(torch.float64) for t in (x, W, b, eps))
    c = None if readout is None else readout.detach().to(torch.float64)
    closed = L.hessian(L.gibbs(L.logits(xd, Wd, bd), ed), Wd, ed, c)
    auto = autograd_hessian(xd, Wd, bd, ed, c)
    return (closed - auto).abs().flatten(1).amax(-1) / hessian_bounds(Wd, ed, c)["paper"]


def curvature_rows(part: str, x: Tensor, W: Tensor, b: Tensor, eps: Tensor, seed: Tensor,
                   readout: Tensor | None = None, n_identity: int = 32) -> list[dict]:
    """Tidy rows per member: max Hessian norm over the points, the three bounds, the identity error."""
    with torch.no_grad():
        hmax = hessian_norms(x, W, b, eps, readout).amax(-1)  # [E]
        bounds = hessian_bounds(W, eps, readout)
    stride = max(1, x.shape[-2] // n_identity)  # points spread over the evaluation set
    xi = x[..., ::stride, :][..., :n_identity, :]
    xi = xi if x.ndim == 3 else xi.expand(len(eps), -1, -1)
    ident = identity_rel_err(xi, W, b, eps, readout)
    rows = []
    for e in range(len(eps)):
        common = dict(part=part, seed=int(seed[e]), eps=float(eps[e]))
        rows.append({**common, "quantity": Q.HESS_MAX, "value": float(hmax[e])})
        rows += [{**common, "quantity": BOUND_Q[k], "value": float(v[e])} for k, v in bounds.items()]
        rows.append({**common, "quantity": Q.IDENTITY_REL_ERR, "value": float(ident[e])})
    return rows
