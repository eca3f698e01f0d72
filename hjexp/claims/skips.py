"""Explicit skips: a catalogued claim this run does not judge says so in a row, with the reason.

A judge returns ``C.skipped(claim_id, reason)`` beside its claims when a part was not run (a data set not
installed, a part the profile switches off). ``summarise`` turns it into an ``info`` row of summary.csv —
never judged, so it moves no headline of the scorecard; nothing measured; the catalogued kind and the reason in
its criterion — and fails the run, naming the claim, when a catalogued claim is neither judged nor skipped.

A catalogue pattern (``rate.slope.d{d}``) counts as judged when at least one id matching it is emitted; a
skip may name one instance or the pattern itself (``C.skipped("rate.slope.d{d}", "no d was run")``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hjexp.claims.kinds import Claim

SKIPPED = "skipped, not measured in this run"


@dataclass(frozen=True)
class Skipped:
    claim_id: str
    reason: str

    def __post_init__(self):
        if not self.reason.strip():
            raise ValueError(f"skipping claim {self.claim_id} needs a reason")

    def claim(self, spec) -> Claim:
        """The summary.csv row for this skip, with the catalogue entry's kind, theory and description."""
        return Claim(self.claim_id, "info", spec.about, spec.theory, math.nan, math.nan, math.nan,
                     f"{SKIPPED}: {self.reason} (catalogued as {spec.kind})", "info")


def skipped(claim_id: str, reason: str) -> Skipped:
    """A catalogued claim (or pattern) this run does not judge, and why."""
    return Skipped(claim_id, reason)


def is_skipped(criterion) -> bool:
    return isinstance(criterion, str) and criterion.startswith(SKIPPED)


def skipped_each(specs, reason: str, prefix: str = "", **values: str) -> list[Skipped]:
    """Skip every catalogue entry under ``prefix`` that has each placeholder of ``values``, filled in:
    ``skipped_each(CLAIMS, why, "robust.{part}.", part="cifar10")`` skips robust.cifar10.bound_holds, …"""
    out = []
    for spec in specs:
        cid = spec.claim_id
        if cid.startswith(prefix) and all(f"{{{k}}}" in cid for k in values):
            for k, v in values.items():
                cid = cid.replace(f"{{{k}}}", v)
            out.append(Skipped(cid, reason))
    return out
