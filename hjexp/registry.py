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
from pathlib import Path
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


def pairing_errors(experiments_dir: Path | None = None, config_dir: Path | None = None) -> dict[str, str]:
    """Experiment name -> message, for each package without its config or config without its package.

    The rule: package experiments/<stem>/ pairs with configs/experiment/<name>.yaml where name is
    stem with ``_`` -> ``-`` (Python packages cannot hold hyphens; CLI names and Hydra's
    ``experiment=`` choices use them). Only the one spelling is accepted, so an experiment has
    one name everywhere; a near miss is named with the rename that fixes it."""
    experiments_dir, configs = experiments_dir or EXPERIMENTS_DIR, (config_dir or CONFIG_DIR) / "experiment"
    config_names = {p.stem for p in configs.glob("*.yaml")}
    packages = {p.name for p in experiments_dir.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))}
    errors, paired = {}, set()
    for stem in sorted(packages):
        name, package = stem.replace("_", "-"), experiments_dir / stem
        if not (package / "__init__.py").is_file():
            if name in config_names:
                paired.add(name)
                errors[name] = (f"{package}/ has no __init__.py, so {configs / f'{name}.yaml'} has no experiment: "
                                f"add {package / '__init__.py'} (or remove both)")
            continue
        if name in config_names:
            paired.add(name)
        elif stem in config_names:  # my_new.yaml beside experiments/my_new/
            paired.add(stem)
            errors[name] = (f"{package}/ is the experiment {name!r}, but its config is {configs / f'{stem}.yaml'}: "
                            f"rename it to {configs / f'{name}.yaml'} (packages use _, experiment and config names use -)")
        else:
            errors[name] = f"{package}/ has no config {configs / f'{name}.yaml'}: add it (or remove the package)"
    for name in sorted(config_names - paired):
        package = experiments_dir / name.replace("-", "_")
        errors[name] = (f"{configs / f'{name}.yaml'} has no experiment package {package}/: add {package / '__init__.py'} "
                        f"(or remove the config)")
    return errors


@cache
def experiments() -> dict[str, Experiment]:
    """name -> Experiment, for each experiments/<stem>/ with configs/experiment/<name>.yaml.

    A package or config without its partner is left out here (so a half-added experiment does not stop
    the others from running); `check` (``hjexp list``) and `get` of that name report it."""
    _package()
    found = {}
    for path in sorted(EXPERIMENTS_DIR.iterdir()):
        name = path.name.replace("_", "-")
        if (path / "__init__.py").is_file() and (CONFIG_DIR / "experiment" / f"{name}.yaml").is_file():
            found[name] = Experiment(name, *_load(path.name))
    return found


def check() -> None:
    """UserError, one line naming both files of each package or config without its partner."""
    errors = pairing_errors()
    if errors:
        raise UserError("; ".join(errors.values()))


def get(name: str) -> Experiment:
    known = experiments()
    if name not in known:
        unpaired = pairing_errors().get(name.replace("_", "-"))
        if unpaired:
            raise UserError(unpaired)
        raise UserError(f"unknown experiment {name!r}; choose one of: {', '.join(known)} (see `hjexp list`)")
    exp = known[name]
    if exp.module is None:
        raise UserError(f"experiment {name!r} cannot be loaded ({exp.error}); the other experiments still run")
    return exp
