"""quadrature: the tables measure writes (columns and dtypes), which judge reads, and what judge writes for plot.

The runner and `hjexp judge` check a run folder against CONTRACT before judging (hjexp/contract.py). The row
keys below are the only strings measure writes into ``case``/``rule`` and the only ones judge and plot select
by: a renamed key is one edit here, and a stray string is a contract error, not a lost claim. There is no
``part``/``quantity`` column (no dtype row), so the key classes subclass plain Keys, not RunParts/RunQuantities.
"""

from hjexp.contract import FLOAT, INT, STR, Contract, Keys, Table


class Case(Keys):
    LIPSCHITZ = "lipschitz"  # g = |y|, ε fixed, against Gauss–Legendre
    SMOOTH = "smooth"  # g = |y|²/2, ε = N^(−1/d), against the closed form
    TIGHT = "tight"  # the sawtooth on the midpoint grid
    AUTHORS = "authors"  # the authors' protocol


class Rule(Keys):
    """results.rule, and the values params.rules may take (integrals.RULES)."""

    ENDPOINT = "endpoint"
    MIDPOINT = "midpoint"
    TRAPEZOID = "trapezoid"
    MONTECARLO = "montecarlo"


MEASURE = (
    Table("results", {"case": STR, "d": INT, "rule": STR, "n_axis": INT, "N": INT, "eps": FLOAT, "repeat": INT,
                      "sup_err": FLOAT, "pred": FLOAT, "pred_rel": FLOAT, "g_at_nodes": FLOAT},
          keys={"case": Case, "rule": Rule}),
    Table("reference", {"case": STR, "d": INT, "reference": STR, "ref_err": FLOAT, "roundoff": FLOAT},
          keys={"case": Case}),
)

CONTRACT = Contract(measure=MEASURE, reads=("results", "reference"))
