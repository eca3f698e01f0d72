"""Classical nonparametric regression baselines, batched over ensemble members.

Both take the same stacked layout as the trained models: training points
x [E, n, d] with labels [E, n] and a sample mask [E, n] (members with fewer
samples than n), queries [E, m, d], and one smoothing parameter per member.

- k-nearest neighbours with k ~ n^(2/(d+2)): the bias of averaging k neighbours
  at distance ~(k/n)^(1/d) of a Lipschitz function balances the variance σ²/k,
  which gives RMSE ~ n^(−1/(d+2)), the minimax rate for Lipschitz regression.
- Nadaraya–Watson with a Gaussian kernel of bandwidth h ~ n^(−1/(d+2)) (same balance).

For a target of smoothness s (bias ~ distance^s: s = 2 for semiconcave targets) the same
balance gives k ~ n^(2s/(d+2s)) and h ~ n^(−1/(d+2s)); ``knn_k`` and ``nw_bandwidth`` take s.

Queries are processed in chunks so the [E, m, n] distance matrix stays bounded.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def knn_k(n: int, d: int, c: float = 1.0, s: int = 1) -> int:
    """k = ⌈c · n^(2s/(d+2s))⌉, clipped to [1, n]."""
    return int(min(n, max(1, math.ceil(c * n ** (2 * s / (d + 2 * s))))))


def nw_bandwidth(n: int, d: int, c: float = 1.0, s: int = 1) -> float:
    """h = c · n^(−1/(d+2s))."""
    return c * n ** (-1.0 / (d + 2 * s))


def _sq_dist(query: Tensor, x: Tensor, mask: Tensor | None) -> Tensor:
    """Squared distances [E, m, n]; absent samples at +inf. Differences, not the
    |a|² − 2a·b + |b|² expansion, so near ties are ranked correctly."""
    d2 = torch.cdist(query, x, compute_mode="donot_use_mm_for_euclid_dist") ** 2
    if mask is not None:
        d2 = d2.masked_fill(~mask.unsqueeze(-2), float("inf"))
    return d2


def _chunks(query: Tensor, n: int, budget: int):
    """Query slices [E, mc, d] with E·mc·n ≤ budget (at least one query each)."""
    step = max(1, budget // max(1, query.shape[0] * n))
    return (query[:, lo : lo + step] for lo in range(0, query.shape[-2], step))


def _knn_chunk(d2: Tensor, labels: Tensor, k: Tensor) -> Tensor:
    """Mean label of the k_e nearest, from squared distances d2 [E, mc, n]  -> [E, mc]."""
    mc = d2.shape[-2]
    idx = d2.topk(int(k.max()), dim=-1, largest=False, sorted=True).indices  # [E, mc, k_max]
    near = torch.gather(labels.unsqueeze(-2).expand(-1, mc, -1), -1, idx)  # [E, mc, k_max]
    csum = near.cumsum(-1)  # running sums: member e reads its own k_e
    pick = (k - 1).view(-1, 1, 1).expand(-1, mc, 1)
    return torch.gather(csum, -1, pick).squeeze(-1) / k.view(-1, 1).to(labels.dtype)


def _nw_chunk(d2: Tensor, labels: Tensor, h: Tensor, mask: Tensor | None = None) -> Tensor:
    """Gaussian-kernel mean from squared distances d2 [E, mc, n], h [E, 1, 1]  -> [E, mc].

    A softmax over −d2/(2h²) with its exponent clamped at 80 below each row's maximum: weights
    under e^−80 of the largest change nothing at float resolution, and torch's exp takes a slow
    path on inputs below about −87 (most of the row at small h)."""
    z = -d2 / (2.0 * h * h)
    z = (z - z.amax(-1, keepdim=True)).clamp_min_(-80.0).exp_()
    if mask is not None:
        z.masked_fill_(~mask.unsqueeze(-2), 0.0)  # absent samples: exactly no weight
    return torch.matmul(z, labels.unsqueeze(-1)).squeeze(-1) / z.sum(-1)


def knn_predict(x: Tensor, labels: Tensor, query: Tensor, k: Tensor, *, mask: Tensor | None = None,
                budget: int = 2**19) -> Tensor:
    """Mean label of the k_e nearest (present) training points of each query.

    x [E, n, d]; labels [E, n]; query [E, m, d]; k [E] (≥ 1, ≤ present samples);
    mask [E, n] bool. -> [E, m].
    """
    k = torch.as_tensor(k, device=x.device).long()
    return torch.cat([_knn_chunk(_sq_dist(q, x, mask), labels, k) for q in _chunks(query, x.shape[-2], budget)], -1)


def nadaraya_watson(x: Tensor, labels: Tensor, query: Tensor, bandwidth: Tensor, *,
                    mask: Tensor | None = None, budget: int = 2**19) -> Tensor:
    """Σ_i K_h(q − x_i) y_i / Σ_i K_h(q − x_i), Gaussian K_h, one h per member.

    Computed as a softmax over −|q − x_i|²/(2h²), so far queries (all weights
    underflowing) still return the label of the nearest sample. -> [E, m].
    """
    h = torch.as_tensor(bandwidth, dtype=x.dtype, device=x.device).view(-1, 1, 1)
    return torch.cat([_nw_chunk(_sq_dist(q, x, mask), labels, h, mask) for q in _chunks(query, x.shape[-2], budget)], -1)


def knn_and_nadaraya_watson(x: Tensor, labels: Tensor, query: Tensor, k: Tensor, bandwidth: Tensor, *,
                            budget: int = 2**19) -> tuple[Tensor, Tensor]:
    """Both predictors from one distance matrix per chunk (the distances are most of the cost)."""
    k = torch.as_tensor(k, device=x.device).long()
    h = torch.as_tensor(bandwidth, dtype=x.dtype, device=x.device).view(-1, 1, 1)
    knn, nw = [], []
    for q in _chunks(query, x.shape[-2], budget):
        d2 = _sq_dist(q, x, None)
        knn.append(_knn_chunk(d2, labels, k))
        nw.append(_nw_chunk(d2, labels, h))
    return torch.cat(knn, -1), torch.cat(nw, -1)


def smoothers_many(x: Tensor, labels: Tensor, query: Tensor, k: Tensor, bandwidth: Tensor, *,
                   budget: int = 2**19) -> tuple[Tensor, Tensor]:
    """kNN and Nadaraya–Watson for G label vectors on the same inputs, from one distance matrix per chunk.

    Both smoothers are linear in the labels with weights that depend on the inputs only, so many
    targets observed at the same x (a family of regression functions with common noise) cost one
    neighbour search and one kernel matrix, then a matmul: the kNN weight 1/k_e on the k_e nearest,
    the normalised Gaussian weights of :func:`nadaraya_watson`.
    x [E, n, d]; labels [E, n, G]; query [E, m, d]; k [E]; bandwidth [E].  -> ([E, m, G], [E, m, G]).
    """
    k = torch.as_tensor(k, device=x.device).long()
    h = torch.as_tensor(bandwidth, dtype=x.dtype, device=x.device).view(-1, 1, 1)
    rank = torch.arange(int(k.max()), device=x.device)
    share = ((rank[None] < k[:, None]).to(x.dtype) / k[:, None].to(x.dtype))[:, None, :]  # [E, 1, k_max]
    knn, nw = [], []
    for q in _chunks(query, x.shape[-2], budget):
        d2 = _sq_dist(q, x, None)  # [E, mc, n]
        idx = d2.topk(int(k.max()), dim=-1, largest=False, sorted=True).indices  # [E, mc, k_max]
        w = torch.zeros_like(d2).scatter_(-1, idx, share.expand(-1, d2.shape[-2], -1))
        knn.append(torch.matmul(w, labels))
        z = -d2 / (2.0 * h * h)
        z = (z - z.amax(-1, keepdim=True)).clamp_min_(-80.0).exp_()  # as _nw_chunk
        nw.append(torch.matmul(z, labels) / z.sum(-1, keepdim=True))
    return torch.cat(knn, -2), torch.cat(nw, -2)
