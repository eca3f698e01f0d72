"""architectures: the tables measure writes (columns and dtypes) and which judge reads (hjexp/contract.py).

hjexp.contract is being introduced alongside this experiment; until it exists the experiment runs without a
declared contract (CONTRACT = None), as every experiment did before it."""

try:
    from hjexp.contract import FLOAT, INT, STR, Contract, Table
except ImportError:  # pragma: no cover - only before hjexp/contract.py lands
    CONTRACT = None
else:
    MEASURE = (
        Table("results", {"part": STR, "quantity": STR, "value": FLOAT},
              optional={"arch": STR, "what": STR, "variant": STR, "K": INT, "h": FLOAT, "net": INT, "eps": FLOAT,
                        "h0": FLOAT}),
        Table("costate_curves", {"arch": STR, "variant": STR, "K": INT, "k": INT, "t": FLOAT, "p": FLOAT}),
    )
    CONTRACT = Contract(measure=MEASURE, reads=("results",))
