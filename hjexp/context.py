"""RunContext: what an experiment's ``measure(ctx)`` gets — params, device, seeds,
progress bars, and the places to put rows and tables. Claims are not made here: the
experiment's ``judge(run)`` makes them from the saved CSVs."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from omegaconf import DictConfig
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from hjexp.engine.backend import Backend
from hjexp.results import atomic_write, write_csv


@dataclass
class RunContext:
    name: str
    params: DictConfig
    profile: str
    device: torch.device
    dtype: torch.dtype
    seed: int
    run_dir: Path
    console: Console
    logger: logging.Logger
    rows: list[dict] = field(default_factory=list)
    engine: Backend | None = None  # the resolved engine=… key; active while measure(ctx) runs

    def generator(self, offset: int = 0) -> torch.Generator:
        """An explicit CPU generator seeded seed + offset: on any device a run draws the numbers a CPU run
        draws (hjexp/draws.py moves them to the device)."""
        return torch.Generator().manual_seed(self.seed * 1_000_003 + offset)

    def tensor(self, data: Any) -> torch.Tensor:
        if isinstance(data, np.ndarray) and not data.flags.writeable:
            data = data.copy()  # torch warns on (and must not alias) read-only arrays, e.g. from pandas
        return torch.as_tensor(data, dtype=self.dtype, device=self.device)

    def log(self, message: str) -> None:
        self.logger.info(message)

    def add_rows(self, rows: list[dict] | pd.DataFrame, **common: Any) -> None:
        """Tidy rows for results.csv: one per member and measurement."""
        records = rows.to_dict("records") if isinstance(rows, pd.DataFrame) else rows
        records = [{**common, **r} for r in records]
        self.rows.extend(records)
        self.report_diverged(records)

    def report_diverged(self, records: list[dict]) -> None:
        """Name every member flagged ``diverged`` (NaN/inf during training) with its config values.
        Its rows stay in results.csv, marked; slope fits drop non-finite replicates and say so."""
        for r in records:
            if r.get("diverged") is True or r.get("diverged") == 1:
                config = ", ".join(f"{k}={v}" for k, v in r.items()
                                   if isinstance(v, (int, str)) and not isinstance(v, bool) and k != "diverged")
                message = f"member diverged (non-finite training loss), excluded from fits: {config}"
                self.console.print(f"[yellow]warning:[/] {escape(message)}", highlight=False)
                self.log(message)

    def save_table(self, name: str, frame: pd.DataFrame) -> Path:
        """An extra CSV (e.g. curves for plots), written atomically right away."""
        path = self.run_dir / f"{name}.csv"
        write_csv(path, frame)
        return path

    def cached(self, key: str, compute: Callable[[], Any]) -> Any:
        """Result of ``compute()``, saved under checkpoints/<key>.pt once it finishes.

        Wrap each expensive unit of work (one d, one data set) in this: a run resumed
        with ``hjexp run NAME resume=RUN_DIR`` reloads finished units instead of redoing them.
        """
        path = self.run_dir / "checkpoints" / f"{key}.pt"
        if path.exists():
            self.log(f"resumed {key} from {path}")
            return torch.load(path, map_location=self.device, weights_only=False)
        result = compute()
        buffer = io.BytesIO()
        torch.save(result, buffer)
        atomic_write(path, buffer.getvalue())
        return result

    @contextmanager
    def progress(self, description: str, total: int) -> Iterator[Callable[[int], None]]:
        """A rich progress bar (steps, ETA); yields ``advance(k)``."""
        bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                       TimeElapsedColumn(), TimeRemainingColumn(), console=self.console, transient=True)
        with bar:
            task = bar.add_task(description, total=total)
            yield lambda k=1: bar.advance(task, k)
        self.log(f"{description}: {total} done")
