"""identity — an LSE layer *is* the Hopf–Cole solution of viscous HJ (docs/theory.md §1–3)."""

from .contract import CONTRACT
from .judge import CLAIMS, judge
from .measure import measure
from .plot import plot

CLAIM = "f_ε + u_ε = |x|²/4t exactly; ε -> 0 gives max-plus / Hopf–Lax; u_ε solves u_t + |∇u|² = εΔu"
COST = "smoke 4 s / quick 3 s / paper 11 s"  # run wall times on the 2-core CPU (quick and paper: quiet, threads=2)
DEFAULT_DTYPE = "float64"

__all__ = ["CLAIM", "CLAIMS", "CONTRACT", "COST", "DEFAULT_DTYPE", "judge", "measure", "plot"]
