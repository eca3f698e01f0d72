"""Hydra multirun sweeps (`hjexp run NAME -m a=1,2 [hydra/launcher=joblib]`).

The Compose API has no multirun, so sweeps go through Hydra's own entry point
(``hydra.main``) with a rewritten argv: Hydra's sweeper expands the grid and its
launcher (basic, joblib, submitit, ...) runs each job. Every job writes a normal,
complete run folder at <sweep>/<job number>; the CLI then gathers their verdicts.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import hydra
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from hjexp import config
from hjexp.errors import UserError
from hjexp.paths import CONFIG_DIR, outputs_root
from hjexp.results import new_run_dir, read_json


def _task_for(name: str, defaults: DictConfig):
    def task(cfg: DictConfig) -> str:
        from rich.console import Console

        from hjexp.runner import execute

        overrides = [o for o in HydraConfig.get().overrides.task if not o.startswith(("experiment=", "out="))]
        config.resolve(cfg, overrides)
        config._check_types(defaults.params, cfg.params, "params")
        config._check_values(cfg.params, "params")
        return str(execute(name, cfg, overrides, Console(stderr=True)))

    return task


def _first_choice(override: str) -> str:
    """`k=a,b,c` -> `k=a`: checks a sweep's keys and types before Hydra launches anything."""
    key, _, value = override.partition("=")
    if "," in value and not value.lstrip().startswith(("[", "{", "range(", "choice(", "interval(", "glob(")):
        value = value.split(",")[0]
    return f"{key}={value}"


LAUNCHER_PLUGINS = {"joblib": "hydra_plugins.hydra_joblib_launcher",
                    "submitit_local": "hydra_plugins.hydra_submitit_launcher",
                    "submitit_slurm": "hydra_plugins.hydra_submitit_launcher"}


def _check_launcher(overrides: list[str]) -> None:
    """A launcher named on the command line must be installed: one line saying how, not Hydra's listing."""
    for o in overrides:
        key, _, value = o.partition("=")
        if key.lstrip("+") != "hydra/launcher" or value == "basic":
            continue
        if value not in LAUNCHER_PLUGINS:
            raise UserError(f"hydra/launcher={value} is not a launcher hjexp knows; use basic, "
                            f"{', '.join(LAUNCHER_PLUGINS)}")
        if importlib.util.find_spec(LAUNCHER_PLUGINS[value]) is None:
            raise UserError(f"the {value} launcher is not installed; run `pip install 'hjexp[cluster]'`")


def multirun(name: str, overrides: list[str]) -> list[Path]:
    """Run the sweep; returns the job folders in job order."""
    _check_launcher(overrides)
    defaults = config.load(name, [_first_choice(o) for o in overrides if not o.startswith("hydra")])
    sweep_dir = new_run_dir(outputs_root() / name, "multirun", " ".join(overrides)).resolve()
    argv = ["hjexp", "--multirun", f"experiment={name}", f"hydra.sweep.dir={sweep_dir}",
            "hydra.sweep.subdir=${hydra.job.num}", "hydra.output_subdir=null",
            "hydra/job_logging=none", "hydra/hydra_logging=none",
            "out=${hydra:sweep.dir}/${hydra:sweep.subdir}", *overrides]
    config._register()
    task = hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")(_task_for(name, defaults))
    saved = sys.argv
    sys.argv = argv
    GlobalHydra.instance().clear()
    try:
        task()
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise UserError(f"the sweep stopped: Hydra exited with {exc.code}; see the messages above") from None
    finally:
        sys.argv = saved
        GlobalHydra.instance().clear()
    jobs = sorted((p for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name))
    if not jobs:
        raise UserError(f"the sweep ran no job; check the overrides {overrides}")
    return jobs


def job_status(job: Path) -> str:
    meta = job / "meta.json"
    return read_json(meta).get("status", "unknown") if meta.exists() else "not started"
