"""Offline data: canonical MNIST / Fashion-MNIST through torchvision, missing data sets, PCA vs SVD."""

import hashlib

import pytest
import torch

from hjexp.data import images
from hjexp.errors import UserError

pytestmark = pytest.mark.usefixtures("one_thread")


def test_mnist_is_the_canonical_set():
    x, y = images.load("mnist", "train")
    xt, yt = images.load("mnist", "test")
    assert x.shape == (60000, 784) and xt.shape == (10000, 784) and x.dtype == torch.uint8
    assert y.dtype == torch.int64 and len(torch.bincount(y)) == 10 and len(torch.bincount(yt)) == 10
    assert torch.bincount(y).tolist()[:3] == [5923, 6742, 5958]  # canonical class counts
    assert torch.bincount(yt).tolist()[:3] == [980, 1135, 1032]
    assert y[:5].tolist() == [5, 0, 4, 1, 9] and yt[:5].tolist() == [7, 2, 1, 0, 4]
    assert int(x.max()) == 255


def test_mnist_cache_files_have_the_canonical_digests():
    raw = images.root_for("mnist") / "MNIST" / "raw"
    for name, digest in images.MNIST_SHA256.items():  # digests: independent published values
        assert hashlib.sha256((raw / name).read_bytes()).hexdigest() == digest


@pytest.mark.skipif(images.missing("fashion-mnist") is not None, reason="dataset-fashion-mnist not installed")
def test_fashion_mnist_standard_shapes_and_balanced_labels():
    x, y = images.load("fashion-mnist", "train")
    xt, yt = images.load("fashion", "test")
    assert x.shape == (60000, 784) and xt.shape == (10000, 784) and x.dtype == torch.uint8
    assert torch.bincount(y).tolist() == [6000] * 10 and torch.bincount(yt).tolist() == [1000] * 10


def test_missing_data_sets_say_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setenv("HJEXP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(images, "FASHION_DIR", tmp_path / "no-debian")
    msg = images.missing("fashion-mnist", tmp_path)
    assert "apt-get install dataset-fashion-mnist" in msg and "params.data.root" in msg and "\n" not in msg
    with pytest.raises(UserError, match="cifar-10-batches-py"):
        images.load("cifar10", "train", root=tmp_path)
    with pytest.raises(UserError, match="unknown data set"):
        images.load("svhn", "train")


def test_pca_matches_svd():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(500, 6, generator=gen, dtype=torch.float64) @ torch.randn(6, 6, generator=gen, dtype=torch.float64)
    mean, comps = images.fit_pca(x, 3)
    u, s, vh = torch.linalg.svd(x - x.mean(0), full_matrices=False)
    # same subspace (signs may differ): |<v_svd, v_pca>| = 1 column by column
    assert torch.allclose((vh[:3] @ comps).diagonal().abs(), torch.ones(3, dtype=torch.float64), atol=1e-10)
    # Mapping the projected coordinates back gives the best rank-3 fit of the centred data, which the
    # SVD gives directly (Eckart–Young): u_:3 diag(s_:3) vh_:3, whatever the signs of the components.
    back = mean + images.project(x, mean, comps) @ comps.T
    assert torch.allclose(back, x.mean(0) + u[:, :3] * s[:3] @ vh[:3], atol=1e-10)


def test_pca_is_cached_by_data_set_split_and_dimension(tmp_path, monkeypatch):
    root = images.root_for("mnist")  # the built MNIST, read in place (no rebuild in the new cache)
    monkeypatch.setenv("HJEXP_CACHE", str(tmp_path))
    mean, comps = images.pca("mnist", 4, n_train=300, root=root)
    assert (tmp_path / "pca" / "mnist-train-first300-k4.pt").exists()
    x, _ = images.load("mnist", "train", root)
    ref_mean, ref = images.fit_pca(x[:300].double() / 255, 4)
    assert torch.allclose(mean, ref_mean) and torch.allclose(comps, ref)
    again = images.pca("mnist", 4, n_train=300, root=root)[1]
    assert torch.equal(again, comps)
    # A corrupt entry (non-finite, wrong shape, or unreadable) is refitted, never handed to a run.
    path = tmp_path / "pca" / "mnist-train-first300-k4.pt"
    torch.save({"mean": torch.full_like(mean, float("nan")), "components": comps}, path)
    assert torch.equal(images.pca("mnist", 4, n_train=300, root=root)[1], comps)
    path.write_bytes(b"not a torch file")
    assert torch.equal(images.pca("mnist", 4, n_train=300, root=root)[1], comps)
