"""Discovers experiments: every package experiments/<stem>/ with a matching config file.

An experiment is a package with three stages (measure.py, judge.py, plot.py) whose
``__init__`` exports ``CLAIM``, ``COST``, ``CLAIMS`` (the catalogue), optional ``DEFAULT_DTYPE``,
and the functions ``measure(ctx)``, ``judge(run)``, ``plot(run_dir)``.

The folder is imported under the private package name ``hjexp_experiments`` so it cannot
collide with any installed package called ``experiments``. One experiment that fails to
import is reported as broken; the others still list and run.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import traceback
from dataclasses import dataclass
from functools import cache
from types import ModuleType

from hjexp.errors import UserError
from hjexp.paths import CONFIG_DIR, EXPERIMENTS_DIR

PACKAGE = "hjexp_experiments"
ENTRY_POINTS = ("CLAIM", "CLAIMS", "measure", "judge", "plot")


@dataclass(frozen=True)
class Experiment:
    name: str
    module: ModuleType | None
    error: str = ""

    @property
    def claim(self) -> str:
        return self.module.CLAIM if self.module else f"[broken: {self.error}]"

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


def _load(stem: str) -> tuple[ModuleType | None, str]:
    try:
        module = importlib.import_module(f"{PACKAGE}.{stem}")
    except Exception as exc:  # any import-time bug of one experiment must not break the others
        last = traceback.extract_tb(exc.__traceback__)[-1]
        return None, f"{type(exc).__name__}: {exc} ({last.filename.rsplit('/', 2)[-2:][-1]}:{last.lineno})"
    missing = [e for e in ENTRY_POINTS if not hasattr(module, e)]
    if missing:
        return None, f"experiments/{stem} lacks {', '.join(missing)}"
    return module, ""


@cache
def experiments() -> dict[str, Experiment]:
    """name -> Experiment, for each experiments/<stem>/ with configs/experiment/<name>.yaml."""
    _package()
    found = {}
    for path in sorted(EXPERIMENTS_DIR.iterdir()):
        if path.name.startswith("_") or not (path / "__init__.py").exists():
            continue
        name = path.name.replace("_", "-")
        if (CONFIG_DIR / "experiment" / f"{name}.yaml").exists():
            found[name] = Experiment(name, *_load(path.name))
    return found


def get(name: str) -> Experiment:
    known = experiments()
    if name not in known:
        raise UserError(f"unknown experiment {name!r}; choose one of: {', '.join(known)} (see `hjexp list`)")
    exp = known[name]
    if exp.module is None:
        raise UserError(f"experiment {name!r} cannot be loaded ({exp.error}); the other experiments still run")
    return exp
