"""rate-sweep, the data: every seed redraws its target and its samples.

Families ``hj-solution`` and ``lipschitz`` have one target per seed for every n. The bump
families' cell side h(n) shrinks with n, so each (n, seed) has its own target; all of a seed's
labels share the same inputs and the same noise draw (common random numbers across n).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from hjexp.context import RunContext
from hjexp.data import targets as T
from hjexp.data.manifolds import uniform_box

from .contract import Family


@dataclass
class Draw:
    """One (family, d) and every seed's samples.  R = 1 label set, or one per n (bump families)."""

    targets: list  # R targets, each of batch (S,)
    x: Tensor  # [S, n_max, d] training inputs
    y: Tensor  # [R, S, n_max] noisy labels
    f_train: Tensor  # [R, S, n_max] noiseless target at the training inputs
    x_test: Tensor  # [S, m, d] fresh test inputs
    f_test: Tensor  # [R, S, m] noiseless target there
    per_n: bool = False
    h: dict = field(default_factory=dict)  # n -> cell side (bump families)
    n_index: dict = field(default_factory=dict)  # n -> label set

    def target_of(self, n: int):
        return self.targets[self.n_index[n] if self.per_n else 0]


def cell_sizes(p, family: str, d: int) -> dict[int, float]:
    """n -> h(n) for the bump families (targets.bump_cell_size), {} otherwise."""
    if family not in T.HARD:
        return {}
    q = p.hard
    return {int(n): T.bump_cell_size(family, int(n), d, sigma=p.sigma, lip=q.lip, t=p.t, balance=q.balance)
            for n in sorted(set(p.n_grid))}


def draw(ctx: RunContext, p, family: str, d: int) -> Draw:
    gen = ctx.generator(1000 * T.FAMILIES.index(family) + d)
    kw = dict(generator=gen, dtype=ctx.dtype, device=ctx.device)
    S, n_max = p.n_seeds, max(p.n_grid)
    hs = cell_sizes(p, family, d)
    q = p.target
    if hs:
        targets = [T.make_target(family, d, t=p.t, lip=p.hard.lip, h=h, batch=(S,), **kw) for h in hs.values()]
    else:
        spread, pieces = (q.cone_spread, q.n_cones) if family == Family.HJ_SOLUTION else (q.ridge_spread, q.n_ridges)
        targets = [T.make_target(family, d, t=p.t, lip=q.lip, n_pieces=pieces, spread=spread,
                                 value_range=q.value_range, batch=(S,), **kw)]
    x = uniform_box((S, n_max), d, -1.0, 1.0, **kw)
    noise = p.sigma * torch.randn(S, n_max, **kw)  # [S, n_max], shared by every label set of a seed
    x_test = uniform_box((S, p.n_test), d, -1.0, 1.0, **kw)
    f_train = torch.stack([tg(x) for tg in targets])  # [R, S, n_max]
    f_test = torch.stack([tg(x_test) for tg in targets])  # [R, S, m]
    return Draw(targets, x, f_train + noise, f_train, x_test, f_test, per_n=bool(hs), h=hs,
                n_index={n: i for i, n in enumerate(hs)})
