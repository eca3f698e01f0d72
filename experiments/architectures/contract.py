"""architectures: the tables measure writes (columns and dtypes) and which judge reads (hjexp/contract.py).

The row keys below are the only strings measure writes into ``part``/``quantity``/``arch``/``variant``/``what``
and the only ones judge and plot select by: a renamed key is one edit here, and a stray string is a contract
error, not a lost claim. (No ImportError fallback any more: hjexp/contract.py is committed, and Keys comes from it.)
"""

from hjexp.contract import FLOAT, INT, STR, Contract, Keys, RunParts, RunQuantities, Table


class Part(RunParts):
    IDENTITY = "identity"  # hand co-state vs whole-network autograd (identity.py)
    CONVERGENCE = "convergence"  # discrete co-state vs the RK4 adjoint (convergence.py)
    REFERENCE = "reference"  # the RK4 adjoint, M vs M/2 steps
    PONTRYAGIN = "pontryagin"
    VISCOSITY = "viscosity"


class Arch(Keys):
    """results.arch and costate_curves.arch: each Family's ``name`` (driver.ARCHS gives their order)."""

    RESMLP = "resmlp"
    RNN = "rnn"
    LSTM = "lstm"
    SSM_EULER = "ssm_euler"
    SSM_ZOH = "ssm_zoh"
    TRANSFORMER = "transformer"


class Variant(Keys):
    """results.variant and costate_curves.variant (convergence.variants)."""

    SMOOTH = "smooth"
    MIDPOINT = "midpoint"  # ssm_zoh, input sampled at step midpoints
    CONSTANT_INPUT = "constant_input"  # ssm_zoh and ssm_euler
    DROP_TERM = "drop_term"  # rnn negative control
    REFERENCE = "reference"  # costate_curves only: the RK4 adjoint's curve


class What(Keys):
    """results.what of the identity rows: the co-states, or dL/d<θ name> built by identity.py from each
    family's shapes(); the gradient names are listed so that a renamed parameter is a contract error."""

    P_K = "p_k"
    DL_DW = "dL/dW"  # rnn, lstm
    DL_DU = "dL/dU"
    DL_DB = "dL/db"  # the bias b
    DL_DW1 = "dL/dW1"  # resmlp, transformer
    DL_DB1 = "dL/db1"
    DL_DW2 = "dL/dW2"
    DL_DB2 = "dL/db2"
    DL_DNU = "dL/dnu"  # ssm_euler, ssm_zoh
    DL_DB_IN = "dL/dB"  # the SSM's input matrix B
    DL_DWQ = "dL/dWq"  # transformer
    DL_DWK = "dL/dWk"
    DL_DWV = "dL/dWv"
    DL_DWO = "dL/dWo"


class Q(RunQuantities):
    """results.quantity."""

    MAX_REL_ERR = "max_rel_err"  # identity and convergence rows
    REL_DIFF_HALF_STEPS = "rel_diff_half_steps"  # reference rows
    REL_SUM_DH_DTHETA = "rel_sum_dH_dtheta"  # pontryagin rows, per net
    REL_LARGEST_TERM = "rel_largest_term"
    LOSS_INIT = "loss_init"
    LOSS_FINAL = "loss_final"
    MC = "mc"  # viscosity rows, per (ε, h0): Richardson-extrapolated Monte Carlo E Φ(h_K)
    MC_SE = "mc_se"
    PDE = "pde"  # Crank–Nicolson value
    PDE_SELF_DIFF = "pde_self_diff"
    INVISCID = "inviscid"  # ε = 0 control


MEASURE = (
    Table("results", {"part": STR, "quantity": STR, "value": FLOAT},
          optional={"arch": STR, "what": STR, "variant": STR, "K": INT, "h": FLOAT, "net": INT, "eps": FLOAT,
                    "h0": FLOAT},
          keys={"part": Part, "quantity": Q, "arch": Arch, "variant": Variant, "what": What}),
    Table("costate_curves", {"arch": STR, "variant": STR, "K": INT, "k": INT, "t": FLOAT, "p": FLOAT},
          keys={"arch": Arch, "variant": Variant}),
)
CONTRACT = Contract(measure=MEASURE, reads=("results",))
