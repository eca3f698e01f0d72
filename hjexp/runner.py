"""Executes one experiment run: config -> run folder -> measure (CSVs) -> judge (summary.csv) -> plot."""

from __future__ import annotations

import logging
import platform
import signal
import subprocess
import sys
import threading
import time
from contextlib import nullcontext
from importlib import metadata
from pathlib import Path

import pandas as pd
import torch
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hjexp import registry
from hjexp.claims.judging import judge_dir, validate_rules
from hjexp.context import RunContext
from hjexp.draws import CpuDraws
from hjexp.engine import backend
from hjexp.errors import UserError
from hjexp.paths import PROJECT_ROOT, outputs_root
from hjexp.results import (
    atomic_write,
    claim_out_dir,
    new_run_dir,
    point_latest,
    read_json,
    write_csv,
    write_json,
)

DTYPES = {"float32": torch.float32, "float64": torch.float64}
VERDICT_COLOURS = {"pass": "green", "fail": "red", "inconclusive": "yellow", "info": "cyan"}


def resolve_device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("device=cuda was asked for but this torch sees no CUDA device; use device=cpu or device=auto")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _git_commit() -> str:
    if not (PROJECT_ROOT / ".git").exists():  # an installed wheel: no checkout to describe
        return "unknown (installed package)"
    try:
        out = subprocess.run(["git", "-C", str(PROJECT_ROOT), "describe", "--always", "--dirty", "--abbrev=40"],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for pkg in ("hjexp", "torch", "numpy", "pandas", "hydra-core", "omegaconf", "matplotlib", "typer", "rich"):
        try:
            found[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            found[pkg] = "not installed"
    return found


def _sigterm_interrupts():
    """SIGTERM (a scheduler's kill, `kill PID`) ends a run like Ctrl-C: marked 'interrupted', units kept.
    Returns the previous handler, or None where handlers cannot be set (not the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def stop(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    return signal.signal(signal.SIGTERM, stop)


def _logger(run_dir: Path) -> logging.Logger:
    logger = logging.getLogger(f"hjexp.run.{run_dir}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = logging.FileHandler(run_dir / "run.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logger.addHandler(handler)
    return logger


def execute(name: str, cfg: DictConfig, overrides: list[str], console: Console) -> Path:
    """Run experiment ``name`` with composed ``cfg``; returns the run folder."""
    exp = registry.get(name)
    resumed = bool(cfg.resume)
    if resumed:  # device, dtype and everything else come from the run's saved config, never the defaults
        run_dir, cfg = reopen(name, Path(cfg.resume), overrides)
    device = resolve_device(cfg.device.name)
    chosen = backend.resolve(cfg.engine.name, device)  # once per run: engine=c that cannot build stops here
    dtype_name = cfg.dtype.name if cfg.dtype.name != "auto" else getattr(exp.module, "DEFAULT_DTYPE", "float32")
    if cfg.threads < 0:
        raise UserError(f"threads={cfg.threads} is not valid; give 0 (torch's default) or a positive count")
    validate_rules(cfg.judge)
    validate = getattr(exp.module, "validate", None)
    if validate is not None:
        validate(cfg.params)
    if not resumed:
        config_text = OmegaConf.to_yaml(cfg)
        run_dir = claim_out_dir(cfg.out) if cfg.out else new_run_dir(outputs_root(), name, config_text)
        atomic_write(run_dir / "config.yaml", config_text)
    meta = {"experiment": name, "status": "running", "profile": cfg.profile.name, "overrides": overrides,
            "seed": cfg.seed, "threads": cfg.threads or torch.get_num_threads(), "resumed": resumed, "device": str(device), "engine": chosen.record(device), "dtype": dtype_name, "git_commit": _git_commit(),
            "versions": _versions(), "host": platform.node(), "argv": sys.argv,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    write_json(run_dir / "meta.json", meta)
    logger = _logger(run_dir)
    ctx = RunContext(name, cfg.params, cfg.profile.name, device, DTYPES[dtype_name], cfg.seed, run_dir,
                     console, logger, engine=chosen)
    if chosen.requested == "auto":
        console.print(f"[dim]{escape(chosen.describe())}[/]", highlight=False)
    logger.info(chosen.describe())
    start = time.perf_counter()
    threads = torch.get_num_threads()
    previous_term = _sigterm_interrupts()
    try:
        torch.manual_seed(cfg.seed)  # only a fallback: experiments draw from ctx.generator()
        if cfg.threads > 0:
            # Multi-thread OpenMP regions stall at their barriers when the cores are shared
            # (measured on 2 busy cores: 5 -> 250 ns per element-step); 1 thread does not.
            torch.set_num_threads(cfg.threads)
        # Denormal products (tiny Gibbs weights × residuals) are slow on CPUs and below f32 resolution.
        torch.set_flush_denormal(ctx.dtype == torch.float32)
        # CPU generators everywhere; off the CPU, draws are made there and moved (hjexp/draws.py)
        with backend.use(chosen), (CpuDraws() if device.type != "cpu" else nullcontext()):
            exp.module.measure(ctx)
        write_csv(run_dir / "results.csv", pd.DataFrame(ctx.rows))
        # Judging reads back only the saved files, exactly as `hjexp judge` does later.
        summary = judge_dir(exp.module, run_dir, [])
        exp.module.plot(run_dir)
    except BaseException as exc:
        meta.update(status="interrupted" if isinstance(exc, KeyboardInterrupt) else "failed",
                    error=f"{type(exc).__name__}: {exc}", wall_time_s=time.perf_counter() - start)
        write_json(run_dir / "meta.json", meta)
        logger.exception("run did not complete")
        raise
    finally:
        if previous_term is not None:
            signal.signal(signal.SIGTERM, previous_term)
        torch.set_num_threads(threads)
        torch.set_flush_denormal(False)
        for h in list(logger.handlers):
            h.close()
            logger.removeHandler(h)
    meta.update(status="complete", wall_time_s=round(time.perf_counter() - start, 3),
                finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    write_json(run_dir / "meta.json", meta)
    if not cfg.out:
        point_latest(run_dir)
    print_summary(summary, run_dir, console)
    return run_dir


def up_to_date(name: str, cfg: DictConfig) -> Path | None:
    """The latest complete run of ``name`` if it was made with this exact config at this clean commit."""
    latest = outputs_root() / name / "latest"
    if not (latest / "meta.json").exists():
        return None
    meta = read_json(latest / "meta.json")
    commit = _git_commit()
    same_commit = meta.get("git_commit") == commit and not commit.endswith("-dirty") and "unknown" not in commit
    same_config = (latest / "config.yaml").read_text() == OmegaConf.to_yaml(cfg)
    same_engine = meta.get("engine") == _engine_record(cfg)  # engine=auto resolves per machine
    ok = meta.get("status") == "complete" and same_commit and same_config and same_engine
    return latest.resolve() if ok else None


def _engine_record(cfg: DictConfig) -> dict | None:
    """What meta.json would record of this config's engine on this machine (None where it cannot run)."""
    try:
        device = resolve_device(cfg.device.name)
        return backend.resolve(cfg.engine.name, device).record(device)
    except UserError:
        return None


def reopen(name: str, run_dir: Path, overrides: list[str]) -> tuple[Path, DictConfig]:
    """An unfinished run folder and its saved config, for ``resume=RUN_DIR``."""
    from hjexp.config import RunConfig

    meta_path = run_dir / "meta.json"
    if not meta_path.exists():
        raise UserError(f"resume={run_dir} is not a run folder (no meta.json)")
    meta = read_json(meta_path)
    if meta.get("experiment") != name:
        raise UserError(f"resume={run_dir} is a run of {meta.get('experiment')!r}, not {name!r}")
    if meta.get("status") == "complete":
        raise UserError(f"resume={run_dir} is already complete; nothing to resume")
    if [o for o in overrides if not o.startswith("resume=")]:
        raise UserError("resume=RUN_DIR re-runs with the run's saved config.yaml; drop the other overrides")
    saved = OmegaConf.merge(OmegaConf.structured(RunConfig), OmegaConf.load(run_dir / "config.yaml"))
    saved.resume = None
    return run_dir, saved


def print_summary(summary: pd.DataFrame, run_dir: Path, console: Console) -> None:
    table = Table(title=f"{run_dir}", show_lines=False)
    for col in ("claim", "kind", "theory", "measured", "interval", "verdict"):
        table.add_column(col, overflow="fold")
    for r in summary.itertuples():
        interval = "" if pd.isna(r.ci_low) else f"[{r.ci_low:.4g}, {r.ci_high:.4g}]"
        table.add_row(escape(r.claim_id), r.kind, escape(str(r.theory)), f"{r.measured:.4g}", interval,
                      f"[{VERDICT_COLOURS[r.verdict]}]{r.verdict}[/]")
    console.print(table)
    counts = summary.verdict.value_counts()
    meta = read_json(run_dir / "meta.json") if (run_dir / "meta.json").exists() else {}
    console.print(f"wall time {meta.get('wall_time_s', '?')} s; " +
                  ", ".join(f"{counts.get(v, 0)} {v}" for v in VERDICT_COLOURS) +
                  f" — criteria in {run_dir / 'summary.csv'}; re-judge with `hjexp judge {run_dir} judge.KEY=VALUE`")


def plot_run(run_dir: Path) -> list[Path]:
    """Re-draw a run's figures from its CSVs (no recompute)."""
    meta_path = run_dir / "meta.json"
    if not meta_path.exists():
        raise UserError(f"{run_dir} is not a run folder (no meta.json); give a folder under outputs/<experiment>/")
    meta = read_json(meta_path)
    if meta.get("status") != "complete":
        raise UserError(f"{run_dir} is {meta.get('status')}, not complete; re-run the experiment to plot it")
    registry.get(meta["experiment"]).module.plot(run_dir)
    return sorted((run_dir / "figures").glob("*.png"))
