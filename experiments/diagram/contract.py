"""diagram: the tables measure writes (columns and dtypes) and which judge reads (hjexp/contract.py).

hjexp.contract is being introduced at the same time as this experiment; until it exists the experiment runs
without a declared contract (CONTRACT = None), as every experiment did before it."""

try:
    from hjexp.contract import FLOAT, INT, STR, Contract, Table
except ImportError:  # pragma: no cover - only before hjexp/contract.py lands
    CONTRACT = None
else:
    MEASURE = (
        Table("results", {"part": STR, "value": FLOAT},
              optional={"quantity": STR, "d": INT, "N": INT, "eps": FLOAT, "edge": STR, "corner": STR,
                        "replicate": INT, "layers": INT, "how": STR, "name": STR, "grid": INT}),
    )
    CONTRACT = Contract(measure=MEASURE, reads=("results",))
