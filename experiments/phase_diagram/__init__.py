"""phase-diagram — particle ↔ wave: entropy of the attribution weights across ε (docs/theory.md §4.5)."""

from hjexp.errors import UserError

from .contract import CONTRACT
from .judge import CLAIMS, judge
from .measure import measure
from .plot import plot
from .sets import SETS

CLAIM = ("H(π) → 0 at an atom as ε → 0 and → log N as ε → ∞; the particle ↔ wave transition sits at "
         "ε* = N^(−1/d) (synthetic 2-cluster set, MNIST 3 vs 7, all-class MNIST)")
COST = "smoke 10 s / quick 21 s / paper 33 s"  # run wall times on the 2-core CPU (quick and paper: quiet, threads=2)
DEFAULT_DTYPE = "float64"


def validate(params) -> None:
    unknown = [s for s in params.sets if s not in SETS]
    if unknown or not len(params.sets):
        raise UserError(f"params.sets={list(params.sets)}: choose from {', '.join(SETS)}, e.g. params.sets=[synthetic]")
    lo, hi = params.scan_log10
    if not lo < hi:
        raise UserError(f"params.scan_log10={list(params.scan_log10)} must be [lo, hi] with lo < hi, e.g. [-2,1.3]")
    if params.n_scan < 2 or params.n_grid < 2 or params.n_anim_grid < 2:
        raise UserError("params.n_scan, n_grid and n_anim_grid must be ≥ 2 (a scan and a grid need two points)")
    if params.synthetic.n_per_class < 1 or params.synthetic.sigma <= 0:
        raise UserError("params.synthetic needs n_per_class ≥ 1 and sigma > 0, e.g. n_per_class=8 sigma=0.4")


__all__ = ["CLAIM", "CLAIMS", "CONTRACT", "COST", "DEFAULT_DTYPE", "judge", "measure", "plot", "validate"]
