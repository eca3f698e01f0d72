"""eps-robustness — curvature of LSE_ε models vs ε against the paper's bound, and real attacks (THEORY.md §4.3)."""

from .judge import CLAIMS, judge
from .measure import measure, validate
from .plot import plot

CLAIM = "‖∇²_x f‖₂ = ‖Cov_π(W)‖₂/ε ≤ ‖W‖²_{2,∞}/ε: curvature falls like 1/ε, so larger ε is more robust"
COST = "TBD"
DEFAULT_DTYPE = "float32"

__all__ = ["CLAIM", "CLAIMS", "COST", "DEFAULT_DTYPE", "judge", "measure", "plot", "validate"]
