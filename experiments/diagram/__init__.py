"""diagram — the four views of one LSE layer in a commutative diagram, and the activation table (THEORY.md §5)."""

from .contract import CONTRACT
from .judge import CLAIMS, judge
from .measure import measure
from .plot import plot

CLAIM = ("network, tropical, PDE and convex-program corners computed independently commute; 0 ≤ f_ε − f_0 ≤ ε log N "
         "at order ε; Lip ≤ max_j|w_j| and its product under composition; sigmoid/tanh are ∇LSE, SiLU/GELU open")
COST = "smoke 4 s / quick 20 s / paper 48 s"  # CPU seconds at threads=1 on the shared 2-core box (wall there, loaded: 14 / 56 / 116 s)
DEFAULT_DTYPE = "float64"

__all__ = ["CLAIM", "CLAIMS", "CONTRACT", "COST", "DEFAULT_DTYPE", "judge", "measure", "plot"]
