"""Where hjexp finds its configs and experiment modules (a clone, installed editable)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(os.environ.get("HJEXP_ROOT", Path(__file__).resolve().parent.parent))
CONFIG_DIR = PROJECT_ROOT / "configs"
EXPERIMENTS_DIR = PROJECT_ROOT / "experiments"


def outputs_root() -> Path:
    """Default results root: ./outputs of the working directory (as Hydra does)."""
    return Path(os.environ.get("HJEXP_OUTPUTS", "outputs"))
