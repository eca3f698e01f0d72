"""Row order for the C pass's culling: rows that are close in space share a block.

Loss and gradient are sums over rows, so their order is free. The C pass (fused.c, culling)
skips, per super-block of rows (64 in float32), the atoms that are far from every row of it;
that only pays when a super-block is small in space. Rows are therefore put in Z-order (Morton
order) of their coordinates quantised on cubic cells of the bounding box — in the top principal
directions when there are more than MAX_AXES columns, where data on a low-dimensional manifold
keep their locality — and rows no member weighs go last, where whole blocks of them are skipped.
"""

from __future__ import annotations

import torch
from torch import Tensor

MAX_AXES = 6  # more input columns are projected on this many principal directions first
KEY_BITS = 60  # bits of the interleaved key; bit 61 marks rows of weight 0


def _spread_table(p: int, device: torch.device) -> Tensor:
    """[256] int64: the 8 bits of v moved to positions 0, p, 2p, …"""
    v = torch.arange(256, device=device)
    out = torch.zeros(256, dtype=torch.int64, device=device)
    for i in range(8):
        out |= ((v >> i) & 1) << (i * p)
    return out


def _axes(x: Tensor) -> Tensor:
    """x [B, n, d] -> its coordinates in at most MAX_AXES principal directions  [B, n, p]."""
    if x.shape[-1] <= MAX_AXES:
        return x
    xc = x - x.mean(-2, keepdim=True)
    basis = torch.linalg.eigh(xc.mT @ xc).eigenvectors[..., -MAX_AXES:]  # largest variances last
    return xc @ basis


def z_order(x: Tensor, dead: Tensor | None = None) -> Tensor:
    """Permutation [B, n] of rows that sorts x [B, n, d] by Z-order key; ``dead`` [B, n] rows last."""
    q = _axes(x.double() if x.dtype != torch.float64 else x)
    p = q.shape[-1]
    bits = min(16, KEY_BITS // p)
    # cubic cells: one scale for every axis, so a direction of small spread (noise off a manifold)
    # is split into few cells instead of as many as the widest
    lo = q.amin(-2, keepdim=True)
    span = (q.amax(-2, keepdim=True) - lo).amax(-1, keepdim=True).clamp_min(1e-300)
    cells = ((q - lo) / span * (2**bits - 1)).round().clamp_(0, 2**bits - 1).long()
    table = _spread_table(p, x.device)
    key = torch.zeros(q.shape[:-1], dtype=torch.int64, device=x.device)
    for k in range(p):
        c = cells[..., k]
        key |= (table[c & 255] | (table[(c >> 8) & 255] << (8 * p))) << k
    if dead is not None:
        key |= dead.to(torch.int64) << (KEY_BITS + 1)
    return torch.argsort(key, dim=-1, stable=True)
