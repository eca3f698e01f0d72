"""The entropy landscape H(x; ε) = −Σ_j π_j log π_j of a set of atoms (docs/theory.md §4.5), its atom
sets, search box and start grids. The continuation parameter is λ = log ε (conditioning: the
scan spans three decades of ε)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from hjexp.engine import closed as L


def entropy_potential(y: Tensor, g: Tensor, t: float):
    """v(x [B, d], λ [B]) -> H(x; ε = e^λ) [B], π = softmax(a/ε), a_j = −(g_j + |x − y_j|²/4t).

    Written relative to the atom r that dominates at x (b_k = (a_k − a_r)/ε ≤ 0, chosen without
    gradient; H does not depend on the choice): H = log(1 + S) − Σ_{k≠r} π_k b_k, S = Σ_{k≠r} e^{b_k}.
    Through log_softmax, autograd would form ∂π_r = π_r(∂a_r − Σ π ∂a), a difference of O(1)
    numbers, and lose every weight below ~1e-16; here each term keeps its relative precision,
    so H and its derivatives stay exact to roundoff however small the other atoms' weights are.
    """

    def v(x: Tensor, lam: Tensor) -> Tensor:
        a = L.atom_logits(x[:, None, :], y[None], g[None], t)[:, 0] / torch.exp(lam)[:, None]  # [B, N]
        ref = a.detach().argmax(-1, keepdim=True)
        b = a - a.gather(-1, ref)  # [B, N], ≤ 0, exactly 0 (and of zero gradient) at r
        others = torch.ones_like(b).scatter(-1, ref, 0.0)
        e = torch.exp(b) * others  # [B, N]
        S = e.sum(-1)
        return torch.log1p(S) - (e * b).sum(-1) / (1 + S)

    return v


def gibbs_weights(x: Tensor, y: Tensor, g: Tensor, t: float, eps: Tensor) -> Tensor:
    """π(x; ε) [B, N] for points x [B, d] at their own ε [B]."""
    a = L.atom_logits(x[:, None, :], y[None], g[None], t)[:, 0]
    return torch.softmax(a / eps[:, None], -1)


def make_set(spec, generator: torch.Generator, dtype: torch.dtype, device) -> tuple[Tensor, Tensor]:
    """Atoms (y [N, d], g [N]) of one configured set: explicit lists, or Gaussian clusters."""
    kw = dict(dtype=dtype, device=device)
    if "y" in spec:
        y = torch.as_tensor(list(spec.y), **kw)
        y = y[:, None] if y.ndim == 1 else y
        return y, torch.as_tensor(list(spec.g), **kw)
    ys, gs = [], []
    for c in spec.clusters:  # each: centre, sd, n, g
        centre = torch.as_tensor(list(c.centre), **kw)
        ys.append(centre + c.sd * torch.randn(c.n, len(centre), generator=generator, **kw))
        gs.append(torch.full((c.n,), float(c.g), **kw))
    return torch.cat(ys), torch.cat(gs)


def search_box(y: Tensor, margin: float) -> tuple[Tensor, Tensor]:
    """The atoms' bounding box widened by ``margin`` on every side: where critical points are sought."""
    return y.amin(0) - margin, y.amax(0) + margin


def start_grid(lo: Tensor, hi: Tensor, n_per_axis: int) -> Tensor:
    """A regular grid of Newton starts filling the box.  [n^d, d]."""
    axes = [torch.linspace(float(a), float(b), n_per_axis, dtype=lo.dtype, device=lo.device) for a, b in zip(lo, hi)]
    return torch.stack(torch.meshgrid(*axes, indexing="ij"), -1).reshape(-1, len(axes))


def eps_star(y: Tensor) -> float:
    """The paper's critical viscosity ε* = N^(−1/d)."""
    return len(y) ** (-1.0 / y.shape[1])


def log_eps_grid(lo: float, hi: float, n: int, dtype, device) -> Tensor:
    """λ = log ε for ε = logspace(lo, hi, n) (decimal exponents, as numpy.logspace)."""
    return torch.linspace(lo, hi, n, dtype=dtype, device=device) * math.log(10.0)


FLOOR = 1e-100  # weights below this: products of two underflow in the Hessian


def resolved_mask(y: Tensor, g: Tensor, t: float, min_rel_weight: float):
    """(x [B, d], λ [B]) -> False where H is flat up to roundoff in some direction.

    H varies in d independent directions only through d atoms besides the dominant one r.
    Terms of weight w are resolved next to the other non-dominant weight (total 1 − π_r) when
    w ≥ min_rel_weight·(1 − π_r), and products of two weights stay representable when
    w ≥ 1e-100. Where the d-th largest weight besides π_r fails either test, Newton "converges"
    to points that are no critical points of the exact H (e.g. along a two-atom ridge whose third
    atom has weight 1e-17 next to ½ and ½).
    """
    d = y.shape[1]

    def resolved(x: Tensor, lam: Tensor) -> Tensor:
        with torch.no_grad():
            a = L.atom_logits(x[:, None, :], y[None], g[None], t)[:, 0] / torch.exp(lam)[:, None]  # [B, N]
            ref = a.argmax(-1, keepdim=True)
            e = torch.exp(a - a.gather(-1, ref)).scatter(-1, ref, 0.0)  # weights × (1 + S), r left out
            if e.shape[1] <= d:
                return torch.ones(len(x), dtype=torch.bool, device=x.device)
            S = e.sum(-1)
            w_d = e.topk(d, dim=-1).values[:, d - 1] / (1 + S)  # d-th largest weight besides π_r
            return (w_d >= FLOOR) & (w_d >= min_rel_weight * S / (1 + S))

    return resolved
