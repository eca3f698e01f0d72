"""TwoNN / Levina–Bickel recover the dimension of known samples; manifold samplers are what they say."""

from __future__ import annotations

import torch

from hjexp.data.manifolds import manifold_sample, orthonormal_frame
from hjexp.intrinsic_dim import levina_bickel, neighbour_distances, twonn


def test_twonn_flat_3d_in_r16():
    gen = torch.Generator().manual_seed(0)
    _, x, _ = manifold_sample(2000, 3, 16, "linear", gen)
    assert abs(twonn(x) - 3) <= 0.3
    assert abs(levina_bickel(x) - 3) <= 0.4


def test_twonn_curved_and_line():
    gen = torch.Generator().manual_seed(1)
    _, x, _ = manifold_sample(1500, 2, 16, "curved", gen)
    assert abs(twonn(x) - 2) <= 0.3
    _, x1, _ = manifold_sample(1000, 1, 32, "linear", gen)
    assert abs(twonn(x1) - 1) <= 0.15


def test_neighbour_distances_brute_force():
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(50, 5, generator=gen, dtype=torch.float64)
    d = torch.cdist(x, x) + torch.diag(torch.full((50,), float("inf"), dtype=torch.float64))
    torch.testing.assert_close(neighbour_distances(x, 3, chunk=16), d.sort(-1).values[:, :3])


def test_embeddings_isometric_in_z():
    gen = torch.Generator().manual_seed(3)
    Q = orthonormal_frame(16, 4, gen, dtype=torch.float64)
    torch.testing.assert_close(Q.T @ Q, torch.eye(4, dtype=torch.float64))
    z, x, x0 = manifold_sample(200, 2, 16, "linear", gen, dtype=torch.float64)
    torch.testing.assert_close((x - x0).norm(dim=-1), z.norm(dim=-1))  # linear: target = ‖z‖
    z, x, x0 = manifold_sample(200, 2, 16, "curved", gen, dtype=torch.float64, radius=1.0)
    # curved: chord of each arc is 2r·sin(Δz/2r), so ‖x − x0‖² = Σ_k 4 sin²(z_k/2)
    torch.testing.assert_close((x - x0).norm(dim=-1), (4 * torch.sin(z / 2) ** 2).sum(-1).sqrt())
