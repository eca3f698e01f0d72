"""identity: the tables measure writes (columns and dtypes), which judge reads, and what judge writes for plot.

The runner and `hjexp judge` check a run folder against CONTRACT before judging (hjexp/contract.py). The row
keys below are the only strings measure writes into ``part``/``quantity``/``setup`` and the only ones judge
and plot select by: a renamed key is one edit here, and a stray string is a contract error, not a lost claim.
"""

from hjexp.contract import FLOAT, INT, STR, Contract, Keys, RunParts, RunQuantities, Table


class Part(RunParts):
    HOPF_COLE = "hopf_cole"
    INVERSE_MAP = "inverse_map"
    PDE_RESIDUAL = "pde_residual"
    SOFTPLUS_GAP = "softplus_gap"
    LSE_MAX_GAP = "lse_max_gap"
    TWO_LAYER_GAP = "two_layer_gap"
    RELU_TWO_ATOMS = "relu_two_atoms"
    HOPF_LAX_SEMIGROUP = "hopf_lax_semigroup"
    VISCOUS_SEMIGROUP = "viscous_semigroup"


class Setup(Keys):
    PAPER = "paper"
    RANDOM = "random"


class Q(RunQuantities):
    """results.quantity."""

    MAX_ABS_ERR = "max_abs_err"
    MAX_ABS = "max_abs"  # pde_residual: absolute
    MAX_REL = "max_rel"  # pde_residual: relative to |u_t| + |∇u|² + ε|Δu|
    MAX = "max"
    MIN = "min"
    SUP_WITH_KINKS = "sup_with_kinks"
    SUP_GRID_ONLY = "sup_grid_only"
    AUTHORS_U0_VS_RELU = "authors_u0_vs_relu"
    MIN_SIGNED_ERR = "min_signed_err"
    BOUND = "bound"


MEASURE = (
    Table("results", {"part": STR, "quantity": STR, "value": FLOAT, "setup": STR, "d": INT, "eps": FLOAT, "grid": INT,
                      "h": FLOAT},
          keys={"part": Part, "quantity": Q, "setup": Setup}),
)

CONTRACT = Contract(measure=MEASURE, reads=("results",))
