"""The stage contract: which CSV tables an experiment's stages exchange, with their columns and dtypes.

Each experiment declares, in experiments/<name>/contract.py, a :class:`Contract`:

    CONTRACT = Contract(
        measure=(Table("results", {"part": STR, "quantity": STR, "value": FLOAT}, optional={"d": INT}),),
        reads=("results",),                                  # what judge reads of them
        judge=(Table("plotdata", {"curve": STR, "x": FLOAT, "y": FLOAT}),),  # what judge writes for plot
    )

``hjexp run`` and ``hjexp judge`` check the run folder against it before judging (:func:`check_run`): a
missing table or column, a column of the wrong dtype, or a CSV nobody declared is one error line naming
the experiment, the table and the column. Row keys (the strings in ``part``/``quantity`` columns) are
constants in the same file, shared by measure, judge and plot; a table may list the key classes its
columns draw from (``keys={"part": Part}``) and a value outside them is an error too.

CSV cells are text, so dtypes are what pandas reads back: ``INT`` is integral numbers (NaN allowed,
since tidy rows leave columns of other parts empty), ``FLOAT`` any numbers, ``STR`` text, ``BOOL``
True/False. A column that is empty in every row satisfies any dtype.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hjexp.errors import UserError

FLOAT, INT, STR, BOOL = "float", "int", "str", "bool"
DTYPES = (FLOAT, INT, STR, BOOL)
SUMMARY = "summary"  # judge's own table (hjexp/claims/kinds.py COLUMNS): every experiment writes it


class ContractError(UserError):
    """A run folder that does not match its experiment's declared tables (one line, no traceback)."""


class Keys:
    """A namespace of row-key constants (``class Part(Keys): GIBBS = "gibbs"``); ``values()`` lists them,
    inherited ones included, so an experiment's ``Part(RunParts)`` carries the rows every run writes.

    Plain ``str`` constants rather than an Enum: they go into CSV cells and f-strings and compare equal to
    what pandas reads back, with no ``.value`` anywhere.
    """

    @classmethod
    def values(cls) -> set[str]:
        return {v for klass in cls.__mro__ for k, v in vars(klass).items()
                if not k.startswith("_") and isinstance(v, str)}


class RunParts(Keys):
    """``part`` values written by shared code (hjexp/claims/roundoff.py dtype_row)."""

    DTYPE = "dtype"


class RunQuantities(Keys):
    """``quantity`` values written by shared code."""

    MACHINE_EPS = "machine_eps"


@dataclass(frozen=True)
class Table:
    """One CSV ``<run>/<name>.csv``: columns every row set has, and columns only some parts or profiles write.

    ``required=False``: a table only some profiles or parts write (its absence is no error).
    ``keys``: column → Keys class whose constants are the only values allowed in it.
    """

    name: str
    columns: Mapping[str, str]
    optional: Mapping[str, str] = field(default_factory=dict)
    required: bool = True
    keys: Mapping[str, type[Keys]] = field(default_factory=dict)

    def __post_init__(self):
        for col, dtype in {**self.columns, **self.optional}.items():
            if dtype not in DTYPES:
                raise ValueError(f"table {self.name}: column {col} has dtype {dtype!r}, not one of {DTYPES}")
        for col in self.keys:
            if col not in self.columns and col not in self.optional:
                raise ValueError(f"table {self.name}: key column {col} is not declared")

    @property
    def dtypes(self) -> dict[str, str]:
        return {**self.columns, **self.optional}


@dataclass(frozen=True)
class Contract:
    """What measure writes, which of those tables judge reads, and what judge writes for plot."""

    measure: tuple[Table, ...]
    reads: tuple[str, ...] = ("results",)
    judge: tuple[Table, ...] = ()

    def __post_init__(self):
        names = [t.name for t in self.measure + self.judge]
        if len(set(names)) != len(names) or SUMMARY in names:
            raise ValueError(f"tables declared twice (or named {SUMMARY}): {names}")
        unknown = set(self.reads) - {t.name for t in self.measure}
        if unknown:
            raise ValueError(f"judge reads undeclared tables {sorted(unknown)}")

    def table(self, name: str) -> Table:
        return next(t for t in self.measure + self.judge if t.name == name)


def dtype_error(series: pd.Series, dtype: str) -> str:
    """Why ``series`` (as read from a CSV) is not of the declared dtype; empty when it is."""
    values = series.dropna()
    if values.empty:
        return ""
    if dtype == STR:
        ok = not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)
                  or values.map(lambda v: isinstance(v, bool)).all())
    elif dtype == BOOL:
        ok = pd.api.types.is_bool_dtype(series) or set(values.unique()) <= {True, False, "True", "False"}
    elif pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        ok = False
    elif dtype == INT:
        finite = values.to_numpy(dtype=float)
        ok = bool(np.isfinite(finite).all() and (finite == np.round(finite)).all())
    else:
        ok = True
    if ok:
        return ""
    example = values.iloc[0]
    return f"declared {dtype} but holds {series.dtype} values (e.g. {example!r})"


def check_frame(experiment: str, table: Table, frame: pd.DataFrame, *, extra_columns: bool = True) -> None:
    """Raise one ContractError line for the first column of ``frame`` that breaks ``table``'s declaration."""
    where = f"experiment {experiment}, table {table.name}.csv"
    for col in table.columns:
        if col not in frame.columns:
            raise ContractError(f"{where}: column {col} is declared but missing")
    for col, dtype in table.dtypes.items():
        if col in frame.columns and (why := dtype_error(frame[col], dtype)):
            raise ContractError(f"{where}: column {col} {why}")
    for col, keys in table.keys.items():
        if col in frame.columns:
            unknown = sorted(set(frame[col].dropna().astype(str)) - keys.values())
            if unknown:
                raise ContractError(f"{where}: column {col} holds {unknown[:3]}, not among {keys.__name__}'s "
                                    f"keys {sorted(keys.values())}")
    if extra_columns:
        undeclared = [c for c in frame.columns if c not in table.dtypes]
        if undeclared:
            raise ContractError(f"{where}: column {undeclared[0]} is written but not declared")


def check_run(experiment: str, contract: Contract, run_dir: Path) -> dict[str, pd.DataFrame]:
    """Check every CSV of ``run_dir`` against ``contract`` before judging; returns the measure tables read.

    Judge's own tables are checked when present (they are rewritten by the judging that follows), and a CSV
    that neither stage declares is an error: the declaration must say everything the stages exchange.
    """
    frames = {}
    for table in contract.measure:
        path = Path(run_dir) / f"{table.name}.csv"
        if not path.exists():
            if table.required:
                raise ContractError(f"experiment {experiment}, table {table.name}.csv: declared but not written "
                                    f"in {run_dir}")
            continue
        frames[table.name] = pd.read_csv(path, low_memory=False)
        check_frame(experiment, table, frames[table.name])
    declared = {t.name for t in contract.measure + contract.judge} | {SUMMARY}
    for path in sorted(Path(run_dir).glob("*.csv")):
        if path.stem not in declared:
            raise ContractError(f"experiment {experiment}, table {path.name}: written but not declared in "
                                f"its contract (experiments/{experiment.replace('-', '_')}/contract.py)")
    return frames


def read_judged(run_dir: Path, name: str) -> pd.DataFrame:
    """A table judge wrote for plot (fits, lines, intervals); one line saying how to get it when it is missing."""
    path = Path(run_dir) / f"{name}.csv"
    if not path.exists():
        raise UserError(f"{path} is missing: judging writes it for the figures; run `hjexp judge {run_dir}` first")
    return pd.read_csv(path)
