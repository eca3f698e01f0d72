"""diagram: the tables measure writes (columns and dtypes) and which judge reads (hjexp/contract.py).

The row keys below are the only strings measure writes into ``part``/``quantity``/``edge``/``corner``/``how``/
``name`` and the only ones judge and plot select by: a renamed key is one edit here, and a stray string is a
contract error, not a lost claim. ``layers`` is a number (1, or the composition's depth), not a key.
"""

from hjexp.contract import FLOAT, INT, STR, Contract, Keys, RunParts, RunQuantities, Table


class Part(RunParts):
    EDGE = "edge"  # a horizontal edge of the diagram, one row per `edge`
    VERTICAL = "vertical"  # the ε → 0 gap of a corner
    GAP_SUP = "gap_sup"  # sup gap on tie sets, per replicate (the order fit)
    TIE_TIGHTNESS = "tie_tightness"
    CONVEX = "convex"  # the mirror-ascent solver
    LIPSCHITZ = "lipschitz"
    CONTROL = "control"  # mean gap on a fine grid: the order fit's negative control
    ACTIVATION = "activation"
    ASYMMETRY = "asymmetry"  # Jacobian asymmetry of a vector field


class Q(RunQuantities):
    """results.quantity (empty in the rows of edge, tie_tightness, lipschitz, control and most gap_sup rows)."""

    MAX_RATIO = "max_ratio"  # gap / (ε log N)
    MIN_GAP = "min_gap"
    TIED_FRACTION = "tied_fraction"
    VALUE_ERR_MAX = "value_err_max"  # f_ε − F(p_K)
    VALUE_ERR_MIN = "value_err_min"
    MAXIMISER_OVER_PINSKER = "maximiser_over_pinsker"
    CERTIFICATE = "certificate"
    ITERATIONS = "iterations"
    TOL = "tol"
    MAX_ABS_ERR = "max_abs_err"
    RELU_SUP_GAP = "relu_sup_gap"
    RELU_L1_GAP = "relu_l1_gap"
    MIN_DERIVATIVE = "min_derivative"
    MAX = "max"
    MEDIAN = "median"


class Edge(Keys):
    NETWORK_PDE = "network_pde"
    TROPICAL_HOPFLAX = "tropical_hopflax"
    TROPICAL_LEGENDRE = "tropical_legendre"  # d ∈ legendre.dims only
    HOPFLAX_LEGENDRE = "hopflax_legendre"


class Corner(Keys):
    NETWORK = "network"
    PDE = "pde"
    CONVEX = "convex"  # d ∈ legendre.dims only


class How(Keys):
    """How sup |∇F| was sought (lipschitz rows)."""

    SAMPLED = "sampled"
    ASCENT = "ascent"


class Name(Keys):
    """results.name: a scalar activation (activations.ACTIVATIONS) or a vector field (activations.FIELDS)."""

    SILU = "silu"
    GELU = "gelu"
    SOFTPLUS = "softplus"
    SIGMOID = "sigmoid"
    TANH = "tanh"
    SOFTMAX = "softmax"
    SILU_VECTOR = "silu_vector"
    PROBIT = "probit"
    GELU_VECTOR = "gelu_vector"


MEASURE = (
    Table("results", {"part": STR, "value": FLOAT},
          optional={"quantity": STR, "d": INT, "N": INT, "eps": FLOAT, "edge": STR, "corner": STR,
                    "replicate": INT, "layers": INT, "how": STR, "name": STR, "grid": INT},
          keys={"part": Part, "quantity": Q, "edge": Edge, "corner": Corner, "how": How, "name": Name}),
)
CONTRACT = Contract(measure=MEASURE, reads=("results",))
