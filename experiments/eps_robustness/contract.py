"""eps-robustness: the tables measure writes (columns and dtypes), which judge reads, and what judge writes for plot.

The runner and `hjexp judge` check a run folder against CONTRACT before judging (hjexp/contract.py).
"""

from hjexp.contract import BOOL, FLOAT, INT, STR, Contract, Table  # noqa: F401

REGRESSION = ("random", "trained1d", "mnist", "fashion", "cifar10")  # the regression parts (results.csv part)

MEASURE = (
    Table("results", {"part": STR, "seed": INT, "eps": FLOAT, "quantity": STR, "value": FLOAT},
          optional={"note": STR, "data": STR, "norm": STR, "loss": STR, "radius": FLOAT}),  # note: skipped parts; rest: attack
    Table("certificates", {"data": STR, "eps": FLOAT, "image": INT, "label": INT, "correct": BOOL, "certified_l2": FLOAT, "nearest_adv_l2": FLOAT},
          required=False),  # the attack part only
)

CONTRACT = Contract(measure=MEASURE, reads=('results', 'certificates'))
