"""phase-diagram, data sets: atoms (y, g), their classes and the query points, one member per seed.

Every set is returned stacked over S seeds (a seed redraws the data: the synthetic clusters, or
which MNIST images are the atoms), so every later evaluation is one tensor program over seeds.

Query points (the same four roles on every set):
  atom      the class-0 atom nearest the class-0 centre (H → 0 there as ε → 0)
  class0    the class-0 centre  ((−1, −1) on the synthetic set, the mean of the class-0 atoms on MNIST)
  boundary  the midpoint of the two class centres ((0, 0) on the synthetic set)
  class1    the class-1 centre
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from hjexp.context import RunContext
from hjexp.data import images
from hjexp.errors import UserError

from .contract import Query, Set

SETS = (Set.SYNTHETIC, Set.MNIST_3V7, Set.MNIST_ALL)
QUERIES = (Query.ATOM, Query.CLASS0, Query.BOUNDARY, Query.CLASS1)


class DataMissing(Exception):
    """The set's data are not installed; the part is skipped with a notice."""


@dataclass
class AtomSet:
    name: str
    y: Tensor          # [S, N, d] atom positions
    g: Tensor          # [S, N] initial values g_j
    cls: Tensor        # [S, N] class of each atom (int64)
    class_names: list[str]
    queries: Tensor    # [S, Q, d], rows in the order of QUERIES
    box: list[list[float]]  # [[x1_lo, x1_hi], [x2_lo, x2_hi]] of the maps (seed 0)

    @property
    def n_atoms(self) -> int:
        return self.y.shape[1]

    @property
    def dim(self) -> int:
        return self.y.shape[2]

    @property
    def eps_star(self) -> float:
        """The paper's critical viscosity ε* = N^(−1/d): blind to the data's scale."""
        return self.n_atoms ** (-1.0 / self.dim)

    def eps_nn(self, t: float) -> Tensor:
        """The data's own scale: mean over atoms of the squared nearest-neighbour distance, / 4t.  [S]."""
        sq = ((self.y[:, :, None] - self.y[:, None]) ** 2).sum(-1)  # [S, N, N]
        sq = sq + torch.diag(torch.full((self.n_atoms,), math.inf, dtype=sq.dtype, device=sq.device))
        return sq.amin(-1).mean(-1) / (4.0 * t)


def _queries(y: Tensor, cls: Tensor, centre0: Tensor, centre1: Tensor) -> Tensor:
    """[S, 4, d] in the order of QUERIES."""
    d0 = ((y - centre0[:, None]) ** 2).sum(-1).masked_fill(cls != 0, math.inf)  # [S, N]
    atom = y[torch.arange(y.shape[0], device=y.device), d0.argmin(-1)]  # [S, d]
    return torch.stack([atom, centre0, (centre0 + centre1) / 2, centre1], 1)


def synthetic(ctx: RunContext, q, n_seeds: int) -> AtomSet:
    gen = ctx.generator(10)
    k = q.n_per_class
    centres = ctx.tensor(list(q.centres))  # [2, d]
    noise = torch.randn(n_seeds, 2, k, centres.shape[1], generator=gen, dtype=ctx.dtype, device=ctx.device)
    y = (centres[None, :, None] + q.sigma * noise).reshape(n_seeds, 2 * k, -1)  # [S, N, d]
    cls = torch.arange(2, device=ctx.device).repeat_interleave(k).expand(n_seeds, -1)  # [S, N]
    g = ctx.tensor(list(q.g))[cls]
    c0, c1 = (centres[i].expand(n_seeds, -1) for i in (0, 1))
    return AtomSet(Set.SYNTHETIC, y, g, cls, ["cluster (−1,−1)", "cluster (1,1)"], _queries(y, cls, c0, c1),
                   [list(q.box), list(q.box)])


def _mnist_train() -> tuple[Tensor, Tensor]:
    try:
        return images.load("mnist", "train")
    except UserError as exc:
        raise DataMissing(str(exc)) from None


def _pca2(x: Tensor) -> Tensor:
    """PCA-2 coordinates fitted on exactly these images; signs fixed (largest loading positive)
    so maps of different seeds share an orientation."""
    mean, comp = images.fit_pca(x, 2)  # [D], [D, 2]
    sign = torch.sign(comp.gather(0, comp.abs().argmax(0, keepdim=True)))  # [1, 2]
    return images.project(x, mean, comp * sign)


def _draw(ctx: RunContext, labels: Tensor, digits: list[int], k: int, offset: int, n_seeds: int) -> Tensor:
    """Indices [S, len(digits)·k] of k random training images of each digit, redrawn per seed."""
    out = []
    for s in range(n_seeds):  # data preparation only: a handful of randperms
        gen = ctx.generator(offset + s)
        picks = []
        for dgt in digits:
            pool = torch.nonzero(labels == dgt)[:, 0]
            if len(pool) < k:
                raise UserError(f"MNIST has {len(pool)} training images of digit {dgt}; lower n_per_class to ≤ {len(pool)}")
            order = torch.randperm(len(pool), generator=gen, device=gen.device).cpu()
            picks.append(pool[order[:k]])
        out.append(torch.cat(picks))
    return torch.stack(out)


def _mnist_set(ctx, name, pixels, labels, digits, k, g_of_digit, pair, margin, n_seeds, offset, class_names):
    idx = _draw(ctx, labels, digits, k, offset, n_seeds)  # [S, N]
    x = ctx.tensor(pixels[idx].to(torch.float64) / 255.0)  # [S, N, 784], pixels in [0, 1]
    y = torch.stack([_pca2(x[s]) for s in range(n_seeds)])  # [S, N, 2]
    cls = torch.arange(len(digits), device=ctx.device).repeat_interleave(k).expand(n_seeds, -1)  # [S, N]
    g = ctx.tensor(list(g_of_digit))[cls]
    a, b = (digits.index(p) for p in pair)
    c0 = (y * (cls == a)[..., None]).sum(1) / k  # [S, d] mean of class a
    c1 = (y * (cls == b)[..., None]).sum(1) / k
    sel = cls == a
    cls_pair = torch.where(sel, 0, torch.where(cls == b, 1, 2))  # the query roles use the pair's classes
    queries = _queries(y, cls_pair, c0, c1)
    lo, hi = y[0].amin(0), y[0].amax(0)
    pad = margin * (hi - lo)
    box = [[float(lo[i] - pad[i]), float(hi[i] + pad[i])] for i in range(2)]
    return AtomSet(name, y, g, cls, class_names, queries, box)


def mnist_3v7(ctx: RunContext, q, n_seeds: int) -> AtomSet:
    pixels, labels = _mnist_train()
    digits = list(q.digits)
    return _mnist_set(ctx, Set.MNIST_3V7, pixels, labels, digits, q.n_per_class, list(q.g), digits, q.margin,
                      n_seeds, 20, [f"digit {d}" for d in digits])


def mnist_all(ctx: RunContext, q, n_seeds: int) -> AtomSet:
    pixels, labels = _mnist_train()
    digits = list(range(10))
    return _mnist_set(ctx, Set.MNIST_ALL, pixels, labels, digits, q.n_per_class, [q.g] * 10, list(q.pair),
                      q.margin, n_seeds, 40, [f"digit {d}" for d in digits])


BUILDERS = {Set.SYNTHETIC: synthetic, Set.MNIST_3V7: mnist_3v7, Set.MNIST_ALL: mnist_all}
KNOBS = {Set.SYNTHETIC: "synthetic", Set.MNIST_3V7: "mnist_3v7", Set.MNIST_ALL: "mnist_all"}  # params.<knob>


def build(ctx: RunContext, name: str, n_seeds: int) -> AtomSet:
    return BUILDERS[name](ctx, ctx.params[KNOBS[name]], n_seeds)
