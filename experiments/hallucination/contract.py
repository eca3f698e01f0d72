"""hallucination: the tables measure writes (columns and dtypes), which judge reads, and what judge writes for plot.

The runner and `hjexp judge` check a run folder against CONTRACT before judging (hjexp/contract.py). The row
keys below are the only strings measure writes into ``part``/``quantity``/``layers`` and the only ones judge
and plot select by: a renamed key is one edit here, and a stray string is a contract error, not a lost claim.
"""

from hjexp.contract import FLOAT, INT, STR, Contract, Keys, RunParts, RunQuantities, Table


class Part(RunParts):
    TRAINING = "training"
    BOUND = "bound"
    CURVATURE = "curvature"
    RADIUS = "radius"


class Layers(Keys):
    RANDOM = "random"
    TRAINED = "trained"


class Q(RunQuantities):
    """results.quantity."""

    TRAIN_MSE = "train_mse"
    MAX_EXCESS = "max_excess"  # max of |f_ε − max z| − bound
    MIN_GAP = "min_gap"
    MAX_RATIO = "max_ratio"  # gap / bound
    MEDIAN_RATIO = "median_ratio"
    USABLE_FRACTION = "usable_fraction"
    PEAK_ON_TIES = "peak_on_ties"
    PEAK_ON_GRID = "peak_on_grid"
    TWO_NEURON_LIMIT = "two_neuron_limit"
    OUTSIDE_FRACTION = "outside_fraction"
    MAX_GAP_OUTSIDE = "max_gap_over_eps_outside"
    MAX_GAP_INSIDE = "max_gap_over_eps_inside"


MEASURE = (
    Table("results", {"part": STR, "quantity": STR, "value": FLOAT, "layers": STR, "eps": FLOAT, "N": INT, "layer": INT},
          keys={"part": Part, "quantity": Q, "layers": Layers}),
    Table("bound_samples", {"layers": STR, "eps": FLOAT, "N": INT, "delta_over_eps": FLOAT, "gap_over_eps": FLOAT},
          keys={"layers": Layers}),
    Table("curvature_maps", {"eps": FLOAT, "x1": FLOAT, "x2": FLOAT, "curvature": FLOAT}),
)

CONTRACT = Contract(measure=MEASURE, reads=("results",))
