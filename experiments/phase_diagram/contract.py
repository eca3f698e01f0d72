"""phase-diagram: the tables measure writes (columns and dtypes), which judge reads, and what judge writes for plot.

The runner and `hjexp judge` check a run folder against CONTRACT before judging (hjexp/contract.py). The row
keys below are the only strings measure writes into ``quantity``, ``set`` and ``query`` and the only ones judge
and plot select by. ``eps_label`` is no key class: it is each configured ε written with ``:g`` (params.eps_bars,
params.eps_maps) or "ε*", so its values follow the config.
"""

from hjexp.contract import FLOAT, INT, STR, Contract, Keys, RunQuantities, Table


class Q(RunQuantities):
    """results.quantity: per set and seed (measure.py _scan), or SKIPPED (one row, no seed, when data are missing)."""

    N_ATOMS = "n_atoms"
    DIM = "dim"
    LOG_N = "log_n"
    EPS_STAR = "eps_star"  # N^(−1/d)
    EPS_NN = "eps_nn"  # mean squared nearest-neighbour distance / 4t
    EPS_CROSS = "eps_cross"  # H at the boundary query crosses ½ log N
    EPS_MIN = "eps_min"  # scan ends
    EPS_MAX = "eps_max"
    H_ATOM_EPS_MIN = "H_atom_eps_min"
    H_ATOM_EPS_MAX = "H_atom_eps_max"
    GAP_ATOM = "gap_atom"  # top-two logit gap Δ at the atom query
    RANGE_ATOM = "range_atom"  # logit range R
    EPS_LO_LIM = "eps_lo_lim"  # limit ends certified from Δ and R
    EPS_HI_LIM = "eps_hi_lim"
    H_ATOM_LO_LIM = "H_atom_lo_lim"
    H_ATOM_HI_LIM = "H_atom_hi_lim"
    SKIPPED = "skipped"


class Set(Keys):
    """The atom sets (sets.py SETS: params.sets is validated against them)."""

    SYNTHETIC = "synthetic"
    MNIST_3V7 = "mnist-3v7"
    MNIST_ALL = "mnist-all"


class Query(Keys):
    """The four query points of every set (sets.py QUERIES fixes their order)."""

    ATOM = "atom"
    CLASS0 = "class0"
    BOUNDARY = "boundary"
    CLASS1 = "class1"


MEASURE = (  # the tables after results are absent only when every set was skipped (no data)
    # a set whose data are not installed writes one row: set, quantity "skipped", value NaN, note (no seed)
    Table("results", {"set": STR, "quantity": STR, "value": FLOAT}, optional={"seed": INT, "note": STR},
          keys={"set": Set, "quantity": Q}),
    Table("atoms", {"set": STR, "atom": INT, "x1": FLOAT, "x2": FLOAT, "cls": INT, "g": FLOAT}, required=False,
          keys={"set": Set}),
    Table("attribution", {"set": STR, "eps_label": STR, "eps": FLOAT, "atom": INT, "cls": INT, "pi": FLOAT},
          required=False, keys={"set": Set}),
    Table("curves", {"set": STR, "seed": INT, "query": STR, "eps": FLOAT, "H": FLOAT}, required=False,
          keys={"set": Set, "query": Query}),
    Table("frames", {"set": STR, "frame": INT, "eps": FLOAT, "ix": INT, "iy": INT, "H": FLOAT}, required=False,
          keys={"set": Set}),
    Table("maps", {"set": STR, "eps_label": STR, "eps": FLOAT, "ix": INT, "iy": INT, "x1": FLOAT, "x2": FLOAT,
                   "H": FLOAT, "p_top": FLOAT, "pred": INT, "field_x1": FLOAT, "field_x2": FLOAT}, required=False,
          keys={"set": Set}),
    Table("queries", {"set": STR, "query": STR, "x1": FLOAT, "x2": FLOAT, "x1_lo": FLOAT, "x1_hi": FLOAT,
                      "x2_lo": FLOAT, "x2_hi": FLOAT, "n_atoms": INT, "eps_star": FLOAT, "classes": STR},
          required=False, keys={"set": Set, "query": Query}),
)

CONTRACT = Contract(measure=MEASURE, reads=("results",))
