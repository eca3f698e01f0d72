"""Where hjexp finds its configs and experiment packages: always in the tree of the imported hjexp.

From a checkout (plain, or installed editable) they are the checkout's configs/ and experiments/
beside hjexp/; from a wheel they are the packages ``hjexp_configs`` and ``hjexp_experiments`` that
setup.py installs beside ``hjexp`` in the same site-packages. Both are found from this file's own
location, never by an import search, so a second checkout on PYTHONPATH cannot lend one tree's
code to another tree's configs and experiments. HJEXP_ROOT names a tree of configs/ and
experiments/ explicitly; it is refused when that tree holds its own hjexp/ other than the one
imported (it would run one checkout's experiments on the other's engine).
"""

from __future__ import annotations

import os
from pathlib import Path

from hjexp.errors import UserError

PACKAGE_DIR = Path(__file__).resolve().parent  # the imported hjexp package
PROJECT_ROOT = PACKAGE_DIR.parent  # a checkout's root (for git describe and docs); site-packages for a wheel


def _complete(configs: Path, experiments: Path) -> bool:
    return (configs / "config.yaml").is_file() and (experiments / "__init__.py").is_file()


def _explicit_root(root: Path) -> tuple[Path, Path]:
    """configs/ and experiments/ of HJEXP_ROOT, after checking it cannot mix two hjexp trees."""
    own = root / "hjexp"
    if own.exists() and own.resolve() != PACKAGE_DIR:
        raise UserError(f"HJEXP_ROOT={root} holds its own hjexp ({own.resolve()}) but hjexp is imported from "
                        f"{PACKAGE_DIR}: unset HJEXP_ROOT, or run that tree's hjexp (its venv, or PYTHONPATH={root})")
    configs, experiments = root / "configs", root / "experiments"
    if not _complete(configs, experiments):
        raise UserError(f"HJEXP_ROOT={root} is not an hjexp tree: it needs {configs / 'config.yaml'} and "
                        f"{experiments / '__init__.py'}")
    return configs, experiments


def locate() -> tuple[Path, Path]:
    """(configs folder, experiments folder) of the imported hjexp's tree, or HJEXP_ROOT's."""
    if os.environ.get("HJEXP_ROOT"):
        return _explicit_root(Path(os.environ["HJEXP_ROOT"]).resolve())
    for configs, experiments in ((PROJECT_ROOT / "hjexp_configs", PROJECT_ROOT / "hjexp_experiments"),  # wheel
                                 (PROJECT_ROOT / "configs", PROJECT_ROOT / "experiments")):  # checkout
        if _complete(configs, experiments):
            return configs, experiments
    raise UserError(f"hjexp at {PACKAGE_DIR} has no configs and experiments beside it (neither "
                    f"{PROJECT_ROOT / 'configs'} and {PROJECT_ROOT / 'experiments'} of a checkout nor "
                    f"hjexp_configs and hjexp_experiments of a wheel): reinstall hjexp, or set HJEXP_ROOT to a checkout")


CONFIG_DIR, EXPERIMENTS_DIR = locate()


def outputs_root() -> Path:
    """Default results root: ./outputs of the working directory (as Hydra does)."""
    return Path(os.environ.get("HJEXP_OUTPUTS", "outputs"))
