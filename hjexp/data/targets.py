"""Regression targets for rate-sweep, seeded by explicit torch generators.

Four families (rate-sweep's, docs/derivations/rate-sweep.md). Every random target can be drawn with a leading
``batch`` shape (one independent target per seed); a target of batch shape B evaluates points
x [*B, n, d] (or any shape broadcasting against B) to values [*B, n].

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
- ``minimax-hard`` and ``semiconcave-hard`` (:class:`CellBumps`): the classical minimax
  lower-bound construction, one bump per cell of an h-grid on [−1, 1]^d with independent
  random signs, f(x) = Σ_k σ_k · A · ψ((x − c_k)/h). ``minimax-hard``: the pyramid
  ψ(u) = max(0, ½ − ‖u‖_∞) and A = L·h, so f is L-Lipschitz with peaks L·h/2 (worst case of the
  Lipschitz class). ``semiconcave-hard``: the radial bump ψ(u) = cos²(π·min(‖u‖, ½)),
  ‖D²ψ‖ ≤ 2π², and A = h²/(4π²t), so |D²f| ≤ 1/(2t): inside the Hopf–Cole class at time t.
  :func:`bump_cell_size` picks h(n) so that noise and bump amplitude balance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from hjexp.data.manifolds import uniform_box

FAMILIES = ("hj-solution", "lipschitz", "minimax-hard", "semiconcave-hard")
HARD = {"minimax-hard": "pyramid", "semiconcave-hard": "cosine"}  # family -> bump profile


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

    apex a: [*B, K, d], c: [*B, K], lip L: [*B, K] (B: optional batch of independent targets).
    """

    apex: Tensor
    c: Tensor
    lip: Tensor
    t: float

    def _dist(self, x: Tensor) -> Tensor:
        """|x − a_k| by differences (cdist's matmul path loses digits).  [*B, n, d] -> [*B, n, K]."""
        return (x.unsqueeze(-2) - self.apex.unsqueeze(-3)).norm(dim=-1)

    def initial(self, y: Tensor) -> Tensor:
        """g0 at points y [*B, n, d] -> [*B, n]."""
        return (self.c.unsqueeze(-2) + self.lip.unsqueeze(-2) * self._dist(y)).amin(-1)

    def __call__(self, x: Tensor) -> Tensor:
        """u*(x, t) [*B, n] (closed form, exact)."""
        return (self.c.unsqueeze(-2) + huber_hopf_lax(self._dist(x), self.lip.unsqueeze(-2), self.t)).amin(-1)

    @property
    def lipschitz(self) -> float:
        return float(self.lip.max())


@dataclass
class RidgeKinks:
    """f(x) = Σ_k a_k |v_k·x − b_k|.  direction v: [*B, K, d] (unit rows), offset b: [*B, K], weight a: [*B, K] > 0."""

    direction: Tensor
    offset: Tensor
    weight: Tensor

    def __call__(self, x: Tensor) -> Tensor:
        s = torch.matmul(x, self.direction.transpose(-1, -2)) - self.offset.unsqueeze(-2)  # [*B, n, K]
        return (self.weight.unsqueeze(-2) * s.abs()).sum(-1)

    @property
    def lipschitz(self) -> float:
        return float(self.weight.sum(-1).max())


def _pyramid(u: Tensor) -> Tensor:
    """max(0, ½ − ‖u‖_∞): 1-Lipschitz in ‖·‖_∞ (hence in ‖·‖₂), zero on the cell's faces.  [..., d] -> [...]."""
    return (0.5 - u.abs().amax(-1)).clamp_min(0.0)


def _cosine(u: Tensor) -> Tensor:
    """cos²(π·min(‖u‖, ½)): C¹, supported in the ball of radius ½ inscribed in the cell.

    Radial b(r) = (1 + cos 2πr)/2 has |b''| ≤ 2π² and |b'(r)/r| = π|sin 2πr|/r ≤ 2π², so every
    Hessian eigenvalue lies in [−2π², 2π²] (equality −2π²·I at the centre).
    """
    r = u.norm(dim=-1).clamp_max(0.5)
    return torch.cos(math.pi * r) ** 2


PROFILES = {"pyramid": _pyramid, "cosine": _cosine}


def cells_per_axis(h: float, width: float = 2.0) -> int:
    """⌈width/h⌉ cells of side h cover [−1, 1] (the last one is cut by the box when h ∤ 2)."""
    return max(1, math.ceil(round(width / h, 9)))


@dataclass
class CellBumps:
    """f(x) = Σ_k σ_k · A · ψ((x − c_k)/h), c_k = −1 + (k + ½)h the centres of an h-grid on [−1, 1]^d.

    signs σ: [*B, m^d] of ±1 (cell k = Σ_i k_i m^i), side h, amplitude A, profile ψ ∈ PROFILES.
    Each ψ vanishes outside its own cell, so a point needs one cell lookup, not a sum over cells.
    """

    signs: Tensor
    h: float
    amplitude: float
    profile: str
    d: int
    lo: float = -1.0

    @property
    def per_axis(self) -> int:
        return round(self.signs.shape[-1] ** (1.0 / self.d))

    def centres(self) -> Tensor:
        """c_k [m^d, d] in the order of ``signs``."""
        axis = self.lo + (torch.arange(self.per_axis, dtype=torch.float64) + 0.5) * self.h
        grid = torch.stack(torch.meshgrid(*[axis] * self.d, indexing="ij")[::-1], -1)  # axis i varies with stride m^i
        return grid.reshape(-1, self.d).to(self.signs.device)

    def __call__(self, x: Tensor) -> Tensor:
        m = self.per_axis
        k = torch.floor((x - self.lo) / self.h).clamp(0, m - 1)  # [*B, n, d] cell index per axis
        u = (x - (self.lo + (k + 0.5) * self.h)) / self.h  # [*B, n, d] offset in cell units, |u_i| ≤ ½
        stride = torch.tensor([m**i for i in range(self.d)], device=x.device)
        flat = (k.long() * stride).sum(-1)  # [*B, n]
        sign = torch.gather(self.signs.to(x.dtype).expand(*flat.shape[:-1], self.signs.shape[-1]), -1, flat)
        return sign * self.amplitude * PROFILES[self.profile](u)

    @property
    def peak(self) -> float:
        """max |f| = A·ψ(0)."""
        return self.amplitude * (0.5 if self.profile == "pyramid" else 1.0)


def bump_amplitude(family: str, h: float, *, lip: float, t: float) -> float:
    """A = L·h (minimax-hard: L-Lipschitz) or h²/(4π²t) (semiconcave-hard: |D²f| ≤ 1/(2t))."""
    if family == "minimax-hard":
        return lip * h
    if family == "semiconcave-hard":
        return h * h / (4 * math.pi**2 * t)
    raise ValueError(f"{family!r} is not a bump family; choose one of {tuple(HARD)}")


def bump_cell_size(family: str, n: int, d: int, *, sigma: float, lip: float, t: float, balance: float) -> float:
    """Cell side h(n) at which noise and bump amplitude balance:

        (expected samples per cell) × (peak / σ)² = n·(h/2)^d · (peak/σ)² = balance,

    for n points uniform on [−1, 1]^d. With peak = L·h/2 this is h = c·n^(−1/(d+2)),
    c = (4·balance·σ²·2^d / L²)^(1/(d+2)); with peak = h²/(4π²t) it is h = c·n^(−1/(d+4)),
    c = (16π⁴t²·balance·σ²·2^d)^(1/(d+4)). At balance ≈ 1 no estimator can tell a cell's sign
    reliably, which is what makes every estimator's RMSE ≳ peak (the lower-bound argument).
    """
    if family == "minimax-hard":
        return (4 * balance * sigma**2 * 2**d / (lip**2 * n)) ** (1.0 / (d + 2))
    if family == "semiconcave-hard":
        return (16 * math.pi**4 * t**2 * balance * sigma**2 * 2**d / n) ** (1.0 / (d + 4))
    raise ValueError(f"{family!r} is not a bump family; choose one of {tuple(HARD)}")


def random_bumps(family: str, d: int, h: float, *, lip: float, t: float, generator: torch.Generator,
                 batch: tuple[int, ...] = (), dtype: torch.dtype = torch.float32,
                 device: torch.device | str = "cpu") -> CellBumps:
    """Independent fair ±1 signs on every cell of the h-grid, one set per batch entry."""
    cells = cells_per_axis(h) ** d
    coin = torch.rand(*batch, cells, generator=generator, dtype=dtype, device=device)
    signs = torch.where(coin < 0.5, -1.0, 1.0).to(torch.int8)
    return CellBumps(signs, h, bump_amplitude(family, h, lip=lip, t=t), HARD[family], d)


def random_cones(n_cones: int, d: int, *, lip: float, t: float, spread: float, value_range: float,
                 generator: torch.Generator, batch: tuple[int, ...] = (), dtype: torch.dtype = torch.float32,
                 device: torch.device | str = "cpu") -> ConeHopfLax:
    """K cones: tips uniform in [−spread, spread]^d, offsets c_k ~ U(0, value_range),
    slopes L_k ~ U(L/2, L) (so g0 is L-Lipschitz and not one slope everywhere)."""
    kw = dict(generator=generator, dtype=dtype, device=device)
    apex = uniform_box((*batch, n_cones), d, -spread, spread, **kw)
    c = value_range * torch.rand(*batch, n_cones, **kw)
    slopes = lip * (0.5 + 0.5 * torch.rand(*batch, n_cones, **kw))
    return ConeHopfLax(apex, c, slopes, t)


def random_ridges(n_ridges: int, d: int, *, lip: float, spread: float, generator: torch.Generator,
                  batch: tuple[int, ...] = (), dtype: torch.dtype = torch.float32,
                  device: torch.device | str = "cpu") -> RidgeKinks:
    """K ridges: directions uniform on the sphere, offsets b_k ~ U(−spread, spread) (so the
    kinks cross the data box), weights a_k ∝ U(0.5, 1) summing to L."""
    kw = dict(generator=generator, dtype=dtype, device=device)
    v = torch.randn(*batch, n_ridges, d, **kw)
    v = v / v.norm(dim=-1, keepdim=True)
    offset = spread * (2.0 * torch.rand(*batch, n_ridges, **kw) - 1.0)
    w = 0.5 + 0.5 * torch.rand(*batch, n_ridges, **kw)
    return RidgeKinks(v, offset, lip * w / w.sum(-1, keepdim=True))


def make_target(family: str, d: int, *, t: float, lip: float, n_pieces: int = 0, spread: float = 1.0,
                value_range: float = 1.0, h: float | None = None, generator: torch.Generator,
                batch: tuple[int, ...] = (), dtype: torch.dtype = torch.float32,
                device: torch.device | str = "cpu") -> ConeHopfLax | RidgeKinks | CellBumps:
    """One random target of the named family in d dimensions (``batch``: independent copies).

    ``h`` (bump families only): the cell side, e.g. :func:`bump_cell_size`.
    """
    kw = dict(generator=generator, batch=batch, dtype=dtype, device=device)
    if family == "hj-solution":
        return random_cones(n_pieces, d, lip=lip, t=t, spread=spread, value_range=value_range, **kw)
    if family == "lipschitz":
        return random_ridges(n_pieces, d, lip=lip, spread=spread, **kw)
    if family in HARD:
        if h is None or not h > 0:
            raise ValueError(f"{family} needs a cell side h > 0, got {h}")
        return random_bumps(family, d, h, lip=lip, t=t, **kw)
    raise ValueError(f"unknown target family {family!r}; choose one of {FAMILIES}")
