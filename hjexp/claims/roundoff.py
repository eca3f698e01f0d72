"""Roundoff tolerances that follow the run's dtype.

The `judge.roundoff` keys are stated for float64. A float32 run of the same identity carries
2^29 times the unit roundoff, so its tolerance is scaled by the ratio of machine epsilons: a
float32 run then judges roundoff as roundoff instead of reporting it as a contradiction. The
dtype reaches the judge as a row of results.csv (the judge reads only the run's CSVs).
"""

from __future__ import annotations

import torch

from hjexp.contract import RunParts, RunQuantities

FLOAT64_EPS = torch.finfo(torch.float64).eps


def dtype_row(dtype: torch.dtype) -> dict:
    """The results.csv row that carries the run's machine epsilon."""
    return dict(part=RunParts.DTYPE, quantity=RunQuantities.MACHINE_EPS, value=torch.finfo(dtype).eps)


def roundoff_tol(df, stated: float) -> tuple[float, str]:
    """``stated`` (a float64 tolerance) scaled to the run's dtype, and a note for the description."""
    row = df[(df.part == RunParts.DTYPE) & (df.quantity == RunQuantities.MACHINE_EPS)]
    eps = float(row.value.iloc[0]) if len(row) else FLOAT64_EPS
    scale = eps / FLOAT64_EPS
    note = "" if scale == 1 else f" (tolerance {stated:g} scaled ×{scale:.3g} to this run's dtype, machine ε {eps:.3g})"
    return stated * scale, note
