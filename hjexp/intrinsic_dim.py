"""Intrinsic-dimension estimators in torch (independent of any model fit).

- TwoNN (Facco et al. 2017): μ_i = r2/r1 (second over first neighbour distance) is
  Pareto(d)-distributed on a locally uniform d-manifold, so the MLE is d = n / Σ log μ_i.
- Levina–Bickel MLE (2004) with k neighbours, averaged as inverses (MacKay & Ghahramani):
  d = [mean_i (1/(k−1)) Σ_{j<k} log(T_k(i)/T_j(i))]^(−1).
"""

from __future__ import annotations

import torch
from torch import Tensor


def neighbour_distances(x: Tensor, k: int, chunk: int = 1024) -> Tensor:
    """Distances to the k nearest other points, ascending.  x [n, D] -> [n, k]."""
    out = []
    xx = (x * x).sum(-1)
    for s in range(0, x.shape[0], chunk):
        q = x[s:s + chunk]
        d2 = (q * q).sum(-1, keepdim=True) + xx[None, :] - 2 * q @ x.T  # [c, n]
        idx = torch.arange(s, s + q.shape[0], device=x.device)
        d2[torch.arange(q.shape[0], device=x.device), idx] = float("inf")  # not your own neighbour
        out.append(d2.topk(k, largest=False).values.clamp_min(0).sqrt())
    return torch.cat(out)


def twonn(x: Tensor, discard: float = 0.0) -> float:
    """TwoNN estimate of the intrinsic dimension of x [n, D] (float64 inside).

    ``discard`` drops that fraction of the largest μ (Facco et al. suggest 0.1 against
    outliers); 0 gives the plain MLE. Duplicate points (r1 = 0) are dropped.
    """
    r = neighbour_distances(x.double(), 2)
    ok = r[:, 0] > 0
    mu = (r[ok, 1] / r[ok, 0]).sort().values
    keep = mu[: max(2, int(round(len(mu) * (1 - discard))))]
    if discard > 0:  # truncated Pareto: least squares on the empirical CDF through the origin
        F = torch.arange(1, len(mu) + 1, dtype=mu.dtype, device=mu.device)[: len(keep)] / len(mu)
        a, b = torch.log(keep), -torch.log1p(-F.clamp_max(1 - 1e-12))
        return float((a * b).sum() / (a * a).sum())
    return float(len(keep) / torch.log(keep).sum())


def levina_bickel(x: Tensor, k: int = 10) -> float:
    """Levina–Bickel MLE with k neighbours (inverse-averaged)."""
    T = neighbour_distances(x.double(), k)
    T = T[T[:, 0] > 0]
    inv = torch.log(T[:, -1:] / T[:, :-1]).mean(-1)  # [n]: 1/m_k(x_i)
    return float(1.0 / inv.mean())
