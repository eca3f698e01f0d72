"""Discovers experiments: every module in experiments/ with a matching config file.

The folder is imported under the private package name ``hjexp_experiments`` so it
cannot collide with any installed package called ``experiments``.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from dataclasses import dataclass
from functools import cache
from types import ModuleType

from hjexp.errors import UserError
from hjexp.paths import CONFIG_DIR, EXPERIMENTS_DIR

PACKAGE = "hjexp_experiments"


@dataclass(frozen=True)
class Experiment:
    name: str
    module: ModuleType

    @property
    def claim(self) -> str:
        return self.module.CLAIM

    @property
    def cost(self) -> str:
        return getattr(self.module, "COST", "")


def _package() -> ModuleType:
    if PACKAGE not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            PACKAGE, EXPERIMENTS_DIR / "__init__.py", submodule_search_locations=[str(EXPERIMENTS_DIR)]
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[PACKAGE] = module
        spec.loader.exec_module(module)
    return sys.modules[PACKAGE]


@cache
def experiments() -> dict[str, Experiment]:
    """name -> Experiment, for each experiments/<stem>.py with configs/experiment/<name>.yaml."""
    _package()
    found = {}
    for path in sorted(EXPERIMENTS_DIR.glob("*.py")):
        if path.stem.startswith("_"):
            continue
        name = path.stem.replace("_", "-")
        if not (CONFIG_DIR / "experiment" / f"{name}.yaml").exists():
            continue
        module = importlib.import_module(f"{PACKAGE}.{path.stem}")
        found[name] = Experiment(name, module)
    return found


def get(name: str) -> Experiment:
    known = experiments()
    if name not in known:
        raise UserError(f"unknown experiment {name!r}; choose one of: {', '.join(known)} (see `hjexp list`)")
    return known[name]
