"""Regression targets for rate-sweep, seeded by explicit torch generators.

Two families (EXPERIMENTS.md, rate-sweep):

- ``hj-solution`` (:class:`ConeHopfLax`): the exact Hopf–Lax solution
  u*(x, t) = min_y [g0(y) + |x − y|²/(4t)] from random Lipschitz initial data
  g0(y) = min_k [c_k + L_k |y − a_k|] (a minimum of cones). Hopf–Lax commutes
  with the minimum, and the Hopf–Lax transform of one cone is a radial Huber
  function, so u* has the closed form
      u*(x, t) = min_k [c_k + h_{L_k, t}(|x − a_k|)],
      h_{L,t}(r) = r²/(4t) for r ≤ 2tL,   L r − t L² for r ≥ 2tL.
  (Minimise L s + (r − s)²/(4t) over the distance s ∈ [0, r] of y from a_k along
  the segment to x: the optimum is r − s = 2tL when r ≥ 2tL, else s = 0.)
  u* is the ε → 0, N → ∞ limit of the model's own form, so it lies in the closure
  of the trained Hopf–Cole class at the same t.
- ``lipschitz`` (:class:`RidgeKinks`): f(x) = Σ_k a_k |v_k·x − b_k| with a_k > 0,
  unit v_k, Σ a_k = L: Lipschitz with constant ≤ L and convex kinks along
  hyperplanes, which a soft minimum of upward quadratics of curvature 1/(2t) can
  only approach to O(L² t) at fixed t.

Everything returns values [..., n] for points x [..., n, d].
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from hjexp.data.manifolds import uniform_box

FAMILIES = ("hj-solution", "lipschitz")


def noisy(values: Tensor, sigma: float, *, generator: torch.Generator) -> Tensor:
    """values + σ·N(0, 1) label noise (same shape)."""
    noise = torch.randn(values.shape, generator=generator, dtype=values.dtype, device=values.device)
    return values + sigma * noise


def huber_hopf_lax(r: Tensor, lip: Tensor, t: float) -> Tensor:
    """Hopf–Lax transform of the cone L|y| at distance r from its tip (broadcasting)."""
    knee = 2.0 * t * lip
    return torch.where(r <= knee, r * r / (4.0 * t), lip * r - t * lip * lip)


@dataclass
class ConeHopfLax:
    """g0(y) = min_k [c_k + L_k|y − a_k|] and its exact Hopf–Lax solution at time t.

    apex a: [K, d], c: [K], lip L: [K].
    """

    apex: Tensor
    c: Tensor
    lip: Tensor
    t: float

    def _dist(self, x: Tensor) -> Tensor:
        """|x − a_k| by differences (cdist's matmul path loses digits).  [..., n, d] -> [..., n, K]."""
        return (x.unsqueeze(-2) - self.apex).norm(dim=-1)

    def initial(self, y: Tensor) -> Tensor:
        """g0 at points y [..., n, d] -> [..., n]."""
        return (self.c + self.lip * self._dist(y)).amin(-1)

    def __call__(self, x: Tensor) -> Tensor:
        """u*(x, t) [..., n] (closed form, exact)."""
        return (self.c + huber_hopf_lax(self._dist(x), self.lip, self.t)).amin(-1)

    @property
    def lipschitz(self) -> float:
        return float(self.lip.max())


@dataclass
class RidgeKinks:
    """f(x) = Σ_k a_k |v_k·x − b_k|.  direction v: [K, d] (unit rows), offset b: [K], weight a: [K] > 0."""

    direction: Tensor
    offset: Tensor
    weight: Tensor

    def __call__(self, x: Tensor) -> Tensor:
        s = torch.matmul(x, self.direction.T) - self.offset  # [..., n, K]
        return (self.weight * s.abs()).sum(-1)

    @property
    def lipschitz(self) -> float:
        return float(self.weight.sum())


def random_cones(n_cones: int, d: int, *, lip: float, t: float, spread: float, value_range: float,
                 generator: torch.Generator, dtype: torch.dtype = torch.float32,
                 device: torch.device | str = "cpu") -> ConeHopfLax:
    """K cones: tips uniform in [−spread, spread]^d, offsets c_k ~ U(0, value_range),
    slopes L_k ~ U(L/2, L) (so g0 is L-Lipschitz and not one slope everywhere)."""
    kw = dict(generator=generator, dtype=dtype, device=device)
    apex = uniform_box(n_cones, d, -spread, spread, **kw)
    c = value_range * torch.rand(n_cones, **kw)
    slopes = lip * (0.5 + 0.5 * torch.rand(n_cones, **kw))
    return ConeHopfLax(apex, c, slopes, t)


def random_ridges(n_ridges: int, d: int, *, lip: float, spread: float, generator: torch.Generator,
                  dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu") -> RidgeKinks:
    """K ridges: directions uniform on the sphere, offsets b_k ~ U(−spread, spread) (so the
    kinks cross the data box), weights a_k ∝ U(0.5, 1) summing to L."""
    kw = dict(generator=generator, dtype=dtype, device=device)
    v = torch.randn(n_ridges, d, **kw)
    v = v / v.norm(dim=-1, keepdim=True)
    offset = spread * (2.0 * torch.rand(n_ridges, **kw) - 1.0)
    w = 0.5 + 0.5 * torch.rand(n_ridges, **kw)
    return RidgeKinks(v, offset, lip * w / w.sum())


def make_target(family: str, d: int, *, t: float, lip: float, n_pieces: int, spread: float,
                value_range: float, generator: torch.Generator, dtype: torch.dtype = torch.float32,
                device: torch.device | str = "cpu") -> ConeHopfLax | RidgeKinks:
    """One random target of the named family in d dimensions."""
    if family == "hj-solution":
        return random_cones(n_pieces, d, lip=lip, t=t, spread=spread, value_range=value_range,
                            generator=generator, dtype=dtype, device=device)
    if family == "lipschitz":
        return random_ridges(n_pieces, d, lip=lip, spread=spread, generator=generator, dtype=dtype, device=device)
    raise ValueError(f"unknown target family {family!r}; choose one of {FAMILIES}")
