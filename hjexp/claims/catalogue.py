"""The claim catalogue: every claim id an experiment can emit, its kind and its criterion,
known without running anything (`hjexp claims`, docs/claims.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from hjexp.claims.kinds import KINDS, RULES


@dataclass(frozen=True)
class Spec:
    """One catalogue entry. ``claim_id`` may hold ``{placeholders}`` (``rate.slope.d{d}``).

    theory    — the paper's value or statement, in words or symbols (``−1/d``)
    criterion — the rule in words with its default numbers; empty: the kind's generic rule
    expected  — the verdict expected at each profile, and why
    """

    claim_id: str
    kind: str
    theory: str
    about: str
    criterion: str = ""
    expected: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"catalogue entry {self.claim_id}: unknown kind {self.kind!r}")

    @property
    def rule(self) -> str:
        return self.criterion or RULES[self.kind]

    def matches(self, claim_id: str) -> bool:
        pattern = "".join("[^.]+" if part.startswith("{") else re.escape(part)
                          for part in re.split(r"(\{[^}]*\})", self.claim_id))
        return re.fullmatch(pattern, claim_id) is not None


def find(specs: tuple[Spec, ...], claim_id: str) -> Spec | None:
    return next((s for s in specs if s.matches(claim_id)), None)
