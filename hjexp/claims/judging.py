"""Judging reads a finished run folder only — config.yaml and its CSVs — and writes summary.csv.

`hjexp run` is measure → judge → plot; `hjexp judge RUN_DIR judge.delta=0.2` re-judges a
saved run (e.g. with another tolerance) without recomputing anything.
"""

from __future__ import annotations

from collections import Counter
from functools import cached_property
from pathlib import Path

import pandas as pd
from omegaconf import DictConfig, OmegaConf

from hjexp.claims.catalogue import find
from hjexp.claims.kinds import COLUMNS, Claim
from hjexp.claims.skips import Skipped
from hjexp.contract import Contract, ContractError, check_frame, check_run
from hjexp.errors import UserError
from hjexp.results import atomic_write, write_csv


class RunData:
    """What a judge may read: the saved config and the CSV tables of one run folder.

    With a ``contract`` (hjexp/contract.py) it reads only the tables the contract says judge reads, and
    :meth:`save` writes only the tables it says judge writes for plot.
    """

    def __init__(self, run_dir: Path, cfg: DictConfig | None = None, contract: Contract | None = None,
                 experiment: str = "", tables: dict[str, pd.DataFrame] | None = None):
        self.dir = Path(run_dir)
        self.cfg = cfg if cfg is not None else OmegaConf.load(self.dir / "config.yaml")
        self.contract = contract
        self.experiment = experiment
        self._tables: dict[str, pd.DataFrame] = dict(tables or {})

    @property
    def params(self) -> DictConfig:
        return self.cfg.params

    @cached_property
    def rules(self) -> DictConfig:
        """The judging tolerances (config key ``judge``)."""
        return self.cfg.judge

    def table(self, name: str = "results") -> pd.DataFrame:
        """<run>/<name>.csv, read once."""
        if self.contract is not None and name not in self.contract.reads:
            raise ContractError(f"experiment {self.experiment}: judge reads {name}.csv, which its contract does "
                                f"not list in reads={self.contract.reads}")
        if name not in self._tables:
            path = self.dir / f"{name}.csv"
            if not path.exists():
                raise UserError(f"{self.dir} has no {name}.csv; it is not a complete run of this experiment")
            self._tables[name] = pd.read_csv(path)
        return self._tables[name]

    def has(self, name: str) -> bool:
        """Whether this run wrote <name>.csv (tables some profiles or parts do not write)."""
        return name in self._tables or (self.dir / f"{name}.csv").exists()

    def save(self, name: str, frame: pd.DataFrame) -> None:
        """Write one of judge's declared tables (fits, lines, intervals) for plot, which draws only what is saved."""
        if self.contract is not None:
            if name not in {t.name for t in self.contract.judge}:
                raise ContractError(f"experiment {self.experiment}: judge writes {name}.csv, which its contract "
                                    "does not declare among judge's tables")
            check_frame(self.experiment, self.contract.table(name), frame)
        write_csv(self.dir / f"{name}.csv", frame)


def validate_rules(rules: DictConfig) -> None:
    """The judging knobs every experiment shares; one line for each impossible value."""
    for key in ("level", "delta", "stable_tol"):
        if isinstance(rules[key], bool) or not isinstance(rules[key], (int, float)):
            raise UserError(f"judge.{key}={rules[key]!r} must be a number, e.g. judge.{key}=0.1")
    if len(rules.band) != 2 or not all(isinstance(v, (int, float)) for v in rules.band):
        raise UserError(f"judge.band={rules.band} must be two numbers [lo, hi], e.g. judge.band=[0.8,1.25]")
    if not 0 < rules.level < 1:
        raise UserError(f"judge.level={rules.level} must lie in (0, 1), e.g. judge.level=0.95")
    if not 0 <= rules.delta < 1:
        raise UserError(f"judge.delta={rules.delta} must lie in [0, 1), e.g. judge.delta=0.1")
    lo, hi = rules.band
    if not 0 < lo <= 1 <= hi:
        raise UserError(f"judge.band={list(rules.band)} must be [lo, hi] with 0 < lo ≤ 1 ≤ hi, e.g. [0.8,1.25]")
    if not rules.stable_tol > 0:
        raise UserError(f"judge.stable_tol={rules.stable_tol} must be > 0, e.g. judge.stable_tol=0.1")


def experiment_name(module) -> str:
    """The CLI name of an experiment package (experiments/phase_diagram -> phase-diagram)."""
    return module.__name__.rpartition(".")[2].replace("_", "-")


def summarise(module, run: RunData) -> pd.DataFrame:
    """Call the experiment's ``judge(run)`` and check each row against its catalogue entry.

    Every catalogue entry must be judged or skipped with a reason (``C.skipped``, hjexp/claims/skips.py); a
    pattern entry is judged when at least one id matching it is. One missing is one ContractError line.
    """
    validate_rules(run.rules)
    specs = module.CLAIMS
    claims: list[Claim] = []
    for c in module.judge(run):
        spec = find(specs, c.claim_id)
        if spec is None:
            raise RuntimeError(f"claim {c.claim_id} is not in its experiment's catalogue (CLAIMS)")
        if isinstance(c, Skipped):
            c = c.claim(spec)
        elif spec.kind != c.kind:
            raise RuntimeError(f"claim {c.claim_id} is catalogued as {spec.kind} but judged as {c.kind}")
        claims.append(c)
    ids = Counter(c.claim_id for c in claims)
    twice = next((i for i, n in ids.items() if n > 1), None)
    if twice is not None:
        raise RuntimeError(f"claim {twice} emitted twice")
    for spec in specs:
        if not any(spec.matches(i) for i in ids):
            raise ContractError(f"experiment {run.experiment or experiment_name(module)}: claim {spec.claim_id} is "
                                "catalogued but neither judged nor skipped with a reason (C.skipped) in this run")
    return pd.DataFrame([c.row() for c in claims], columns=COLUMNS)


def judge_dir(module, run_dir: Path, overrides: list[str]) -> pd.DataFrame:
    """Re-judge a complete run with ``judge.KEY=VALUE`` overrides; rewrites summary.csv and config.yaml."""
    cfg = OmegaConf.load(run_dir / "config.yaml")
    for o in overrides:
        key, sep, value = o.partition("=")
        if not sep or not key.startswith("judge."):
            raise UserError(f"hjexp judge takes judge.KEY=VALUE overrides only (the measurements are fixed), got {o!r}")
        if OmegaConf.select(cfg, key, default="<missing>") == "<missing>":
            known = ", ".join(f"judge.{k}" for k in cfg.judge)
            raise UserError(f"unknown judging key {key!r}; known: {known}")
        old = OmegaConf.select(cfg, key)
        new = OmegaConf.from_dotlist([o])
        if isinstance(old, (int, float)) and not isinstance(OmegaConf.select(new, key), (int, float)):
            raise UserError(f"{key}={value} must be a number like {old}")
        cfg = OmegaConf.merge(cfg, new)
    name = experiment_name(module)
    contract = getattr(module, "CONTRACT", None)
    if contract is None:
        raise ContractError(f"experiment {name} declares no CONTRACT: add experiments/{name.replace('-', '_')}/"
                            "contract.py (the tables measure writes; see hjexp/contract.py) and export CONTRACT")
    tables = check_run(name, contract, run_dir)  # one line naming table and column, before any judging
    summary = summarise(module, RunData(run_dir, cfg, contract, name, tables))
    write_csv(run_dir / "summary.csv", summary)
    if overrides:
        atomic_write(run_dir / "config.yaml", OmegaConf.to_yaml(cfg))
    return summary
