"""Where hjexp finds its configs and experiment packages.

Installed (wheel or editable), they are the packages ``hjexp_configs`` and ``hjexp_experiments``
that setup.py maps from the repository's top-level configs/ and experiments/ folders; run from a
plain checkout (nothing installed), they are those folders. HJEXP_ROOT overrides both.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path


def _locate(package: str, folder: str) -> Path:
    if "HJEXP_ROOT" in os.environ:
        return Path(os.environ["HJEXP_ROOT"]) / folder
    spec = importlib.util.find_spec(package)
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(__file__).resolve().parent.parent / folder


CONFIG_DIR = _locate("hjexp_configs", "configs")
EXPERIMENTS_DIR = _locate("hjexp_experiments", "experiments")
PROJECT_ROOT = Path(__file__).resolve().parent.parent  # a checkout's root (for git describe and docs)


def outputs_root() -> Path:
    """Default results root: ./outputs of the working directory (as Hydra does)."""
    return Path(os.environ.get("HJEXP_OUTPUTS", "outputs"))
