"""attention — softmax attention is a Gibbs average: the gradient of an LSE (docs/theory.md §4.7)."""

from hjexp.errors import UserError

from .contract import CONTRACT
from .judge import CLAIMS, judge
from .measure import measure
from .plot import plot

CLAIM = "softmax(QKᵀ/√d)V = (∇_z LSE_√d(QKᵀ))·V and ∇_q LSE_√d(q·K) = Attn(q, K, K); LSE FFN = Hopf–Cole on LN inputs"
COST = "smoke 2 s / quick 1.4 s / paper 7 s"  # run wall times on the 2-core CPU (quick and paper: quiet, threads=2)
DEFAULT_DTYPE = "float64"


def validate(p) -> None:
    bad = [d for d in p.dims if not (isinstance(d, int) and d >= 2)]
    if bad:
        raise UserError(f"params.dims={list(p.dims)}: every d must be an integer ≥ 2 (LayerNorm of one "
                        "feature is 0), e.g. params.dims=[4,8,16]")
    if p.lse_ffn.d < 2:
        raise UserError(f"params.lse_ffn.d={p.lse_ffn.d} must be ≥ 2 (LayerNorm of one feature is 0)")


__all__ = ["CLAIM", "CLAIMS", "CONTRACT", "COST", "DEFAULT_DTYPE", "judge", "measure", "plot", "validate"]
