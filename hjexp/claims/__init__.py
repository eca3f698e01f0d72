"""Claims and verdicts: kinds with stated rules, trustworthy slope statistics, judging from saved runs.

An experiment's ``judge(run)`` returns a list of :class:`Claim` made by the rule functions
(``exact``, ``bound``, ``at_least``, ``count``, ``monotone``, ``upper_rate``, ``attained_rate``, ``info``;
each judged one takes the conditions of ``TERMS``); its ``CLAIMS`` catalogue
lists every id it can emit with the kind and criterion.
"""

from hjexp.claims.catalogue import Spec
from hjexp.claims.judging import RunData
from hjexp.claims.kinds import (
    COLUMNS,
    KINDS,
    MEANING,
    RULES,
    TERMS,
    VERDICTS,
    Claim,
    attained_rate,
    bound,
    custom,
    exact,
    fmt,
    info,
    is_forced,
    upper_rate,
)
from hjexp.claims.kinds_several import at_least, count, monotone
from hjexp.claims.skips import Skipped, skipped, skipped_each
from hjexp.claims.stats import SlopeEstimate, deterministic_slope, local_slopes, seed_slope

__all__ = ["COLUMNS", "KINDS", "MEANING", "RULES", "TERMS", "VERDICTS", "Claim", "RunData", "SlopeEstimate", "Spec",
           "at_least", "attained_rate", "bound", "count", "custom", "deterministic_slope", "exact", "fmt", "info",
           "is_forced", "local_slopes", "monotone", "seed_slope", "upper_rate", "Skipped", "skipped", "skipped_each"]
