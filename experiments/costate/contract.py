"""costate: the tables measure writes (columns and dtypes), which judge reads, and what judge writes for plot.

The runner and `hjexp judge` check a run folder against CONTRACT before judging (hjexp/contract.py). The row
keys below are the only strings measure writes into ``part``/``quantity``/``what`` and ``source`` and the only
ones judge and plot select by: a renamed key is one edit here, and a stray string is a contract error.
"""

from hjexp.contract import FLOAT, INT, STR, Contract, Keys, RunParts, RunQuantities, Table


class Part(RunParts):
    DISCRETE = "discrete"  # hand co-state vs autograd
    REFERENCE = "reference"  # the RK4 adjoint reference's own accuracy
    CONVERGENCE = "convergence"  # discrete co-state vs the reference


class Q(RunQuantities):
    """results.quantity."""

    MAX_REL_ERR = "max_rel_err"
    P0_REL_ERR = "p0_rel_err"
    REL_DIFF_HALF_STEPS = "rel_diff_half_steps"  # RK4 with M vs M/2 steps
    X0_ROUNDTRIP = "x0_roundtrip"


class What(Keys):
    """results.what of the discrete part: the co-states, then ∂L/∂θ per parameter of residual.PARAMS."""

    P_K = "p_k"
    DL_DW1 = "dL/dW1"
    DL_DB1 = "dL/db1"
    DL_DW2 = "dL/dW2"
    DL_DB2 = "dL/db2"


class Source(Keys):
    """costate_curves.source."""

    REFERENCE = "reference"
    DISCRETE = "discrete"


MEASURE = (
    Table("results", {"part": STR, "quantity": STR, "value": FLOAT, "K": INT, "h": FLOAT, "what": STR},
          keys={"part": Part, "quantity": Q, "what": What}),
    Table("costate_curves", {"source": STR, "K": INT, "t": FLOAT, "p": FLOAT}, keys={"source": Source}),
)

CONTRACT = Contract(measure=MEASURE, reads=("results",))
