"""architectures: the tables measure writes (columns and dtypes) and which judge reads (hjexp/contract.py)."""

from hjexp.contract import FLOAT, INT, STR, Contract, Table

MEASURE = (
    Table("results", {"part": STR, "quantity": STR, "value": FLOAT},
          optional={"arch": STR, "what": STR, "variant": STR, "K": INT, "h": FLOAT, "net": INT, "eps": FLOAT,
                    "h0": FLOAT}),
    Table("costate_curves", {"arch": STR, "variant": STR, "K": INT, "k": INT, "t": FLOAT, "p": FLOAT}),
)

CONTRACT = Contract(measure=MEASURE, reads=("results",))
