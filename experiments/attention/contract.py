"""attention: the tables measure writes (columns and dtypes), which judge reads, and what judge writes for plot.

The runner and `hjexp judge` check a run folder against CONTRACT before judging (hjexp/contract.py). The row
keys below are the only strings measure writes into ``part``/``quantity``/``norm``/``identity`` and the only
ones judge and plot select by: a renamed key is one edit here, and a stray string is a contract error.
"""

from hjexp.contract import FLOAT, INT, STR, Contract, Keys, RunParts, RunQuantities, Table


class Part(RunParts):
    GIBBS = "gibbs"
    AUTHORS_CHECK = "authors_check"  # same float operations on both sides: 0 by construction
    LSE_FFN = "lse_ffn"


class Norm(Keys):
    RAW = "raw"
    LAYERNORM = "layernorm"


class Identity(Keys):
    ATTN_V = "attn_v"  # softmax(QKᵀ/√d)V vs ∇_z LSE·V
    GRAD_Q = "grad_q"  # Attn(q, K, K) vs ∇_q LSE(q·K)
    HOPF_COLE = "hopf_cole"  # f_ε + u_ε = |x|²/4t


class Q(RunQuantities):
    """results.quantity."""

    MAX_ABS_ERR = "max_abs_err"
    MEDIAN_TRIAL_ERR = "median_trial_err"
    MAX_ABS_OUTPUT = "max_abs_output"
    MAX_ABS_DIFF = "max_abs_diff"


MEASURE = (
    Table("results", {"part": STR, "quantity": STR, "value": FLOAT, "norm": STR, "identity": STR, "d": INT,
                      "eps": FLOAT},
          keys={"part": Part, "quantity": Q, "norm": Norm, "identity": Identity}),
)

CONTRACT = Contract(measure=MEASURE, reads=("results",))
