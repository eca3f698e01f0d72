"""recovery — the initial data (y, g) are read off a trained LSE net as ε → 0 (docs/theory.md §3)."""

from hjexp.errors import UserError

from .contract import CONTRACT
from .judge import CLAIMS, judge
from .measure import measure
from .plot import plot

CLAIM = "fitting u_0 with an LSE net and reading (y_j, g_j) = (2t w_j, −b_j − t|w_j|²) recovers g* as ε → 0"
COST = "smoke 4 s / quick 8 s / paper 14 s"  # run wall times on the 2-core CPU (quick and paper: quiet, threads=2)
DEFAULT_DTYPE = "float32"



def validate(params) -> None:
    for name, t in params.setups.items():
        if not float(t) > 0:
            raise UserError(f"params.setups.{name}={t} must be a time t > 0, e.g. params.setups.{name}=0.1")
    for key in ("atom_range", "x_range"):
        lo, hi = params[key]
        if not lo < hi:
            raise UserError(f"params.{key}={list(params[key])} must be [lo, hi] with lo < hi, e.g. [-2, 2]")
    if not params.seeds >= 1 or not params.steps >= 0 or not params.lbfgs_iterations >= 0:
        raise UserError("params.seeds must be ≥ 1 and params.steps, params.lbfgs_iterations ≥ 0")


__all__ = ["CLAIM", "CLAIMS", "CONTRACT", "COST", "DEFAULT_DTYPE", "judge", "measure", "plot", "validate"]
