"""Point clouds of known intrinsic dimension (scaling-dim), seeded by explicit torch generators.

Every sampler returns intrinsic coordinates z [n, d_int] and ambient points x [n, D].
Embeddings:
- ``linear``: x = Q z with Q [D, d_int] a random orthonormal frame (an isometry: flat).
- ``curved``: each intrinsic coordinate is rolled onto a circular arc of radius r,
  (z_k) -> r (cos(z_k/r), sin(z_k/r)), then the 2·d_int coordinates are rotated into R^D
  by a random orthonormal frame. Intrinsically flat (arc length = z_k, so z is an
  isometric chart), extrinsically curved (curvature 1/r): a "swiss-roll-type" map
  that keeps the target a Lipschitz function of z with a known constant.
"""

from __future__ import annotations

import torch
from torch import Tensor

EMBEDDINGS = ("linear", "curved")


def uniform_box(shape: int | tuple[int, ...], d: int, lo: float, hi: float, generator: torch.Generator, *,
                dtype=torch.float32, device=None) -> Tensor:
    """Points uniform in [lo, hi]^d.  shape n or (S, n) -> [n, d] or [S, n, d]."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    u = torch.rand(*shape, d, generator=generator, dtype=dtype, device=device)
    return lo + (hi - lo) * u


def orthonormal_frame(D: int, k: int, generator: torch.Generator, *, dtype=torch.float32, device=None) -> Tensor:
    """Random Q [D, k] with QᵀQ = I (QR of a Gaussian matrix, signs fixed so Q is unique)."""
    if k > D:
        raise ValueError(f"cannot embed {k} dimensions in R^{D}")
    a = torch.randn(D, k, generator=generator, dtype=torch.float64, device=device)
    q, r = torch.linalg.qr(a)
    q = q * torch.sign(torch.diagonal(r)).unsqueeze(0)
    return q.to(dtype)


def embed(z: Tensor, kind: str, D: int, generator: torch.Generator, *, radius: float = 1.0) -> Tensor:
    """Ambient points [n, D] of intrinsic coordinates z [n, d_int]."""
    d = z.shape[-1]
    if kind == "linear":
        Q = orthonormal_frame(D, d, generator, dtype=z.dtype, device=z.device)
        return z @ Q.T
    if kind == "curved":
        ang = z / radius
        rolled = radius * torch.stack([torch.cos(ang), torch.sin(ang)], -1).reshape(z.shape[0], 2 * d)  # [n, 2d]
        Q = orthonormal_frame(D, 2 * d, generator, dtype=z.dtype, device=z.device)
        return rolled @ Q.T
    raise ValueError(f"unknown embedding {kind!r}; choose one of {EMBEDDINGS}")


def manifold_sample(n: int, d_int: int, D: int, kind: str, generator: torch.Generator, *,
                    half_width: float = 2.0, radius: float = 1.0, dtype=torch.float32,
                    device=None) -> tuple[Tensor, Tensor, Tensor]:
    """(z [n, d_int], x [n, D], x0 [D]): z uniform in [−w, w]^d_int, x its embedding, x0 the image of z = 0.

    The frame is drawn from ``generator`` before the points, so the same generator
    state gives the same manifold; draw train/test with one call and split.
    """
    state = generator.get_state()
    zero = torch.zeros(1, d_int, dtype=dtype, device=device)
    x0 = embed(zero, kind, D, generator, radius=radius)[0]
    generator.set_state(state)  # same frame for the points
    z = uniform_box(n, d_int, -half_width, half_width, generator, dtype=dtype, device=device)
    generator.set_state(state)
    x = embed(z, kind, D, generator, radius=radius)
    return z, x, x0
