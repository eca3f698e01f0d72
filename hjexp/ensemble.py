"""A stacked ensemble of one-layer models: every member of a sweep in one tensor.

Parameters carry a leading member axis E (seeds × ε × widths × sample sizes).
Members narrower than the widest are masked (``neuron_mask``), so a whole sweep
is one tensor program. Two forms of the same function class (THEORY.md §3):

- ``lse``:       f(x) = c · LSE_ε(Wx + b)            params W [E,N,d], b [E,N], optional c [E]
- ``hopf_cole``: u(x) = -ε log Σ exp(-(g + |x-y|²/4t)/ε)  params y [E,N,d], g [E,N]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from hjexp import lse as L

FORMS = ("lse", "hopf_cole")


@dataclass
class Ensemble:
    form: str
    params: dict[str, Tensor]
    eps: Tensor  # [E]
    t: float = 1.0
    neuron_mask: Tensor | None = None  # [E, N] bool
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.form not in FORMS:
            raise ValueError(f"unknown model form {self.form!r}; choose one of {FORMS}")

    @property
    def size(self) -> int:
        return int(self.eps.shape[0])

    def logits(self, x: Tensor) -> Tensor:
        """[E, n, N] logits whose ε-LSE is the network output (or -u for hopf_cole)."""
        p = self.params
        if self.form == "lse":
            return L.logits(x, p["W"], p["b"], self.neuron_mask)
        return L.atom_logits(x, p["y"], p["g"], self.t, self.neuron_mask)

    def predict(self, x: Tensor) -> Tensor:
        """Model output [E, n]: c·f for ``lse``, u for ``hopf_cole``."""
        out = L.lse(self.logits(x), self.eps)
        if self.form == "hopf_cole":
            return -out
        c = self.params.get("c")
        return out if c is None else c.unsqueeze(-1) * out

    def atoms(self) -> tuple[Tensor, Tensor]:
        """(y, g) of the PDE side, whichever form is trained."""
        p = self.params
        if self.form == "hopf_cole":
            return p["y"], p["g"]
        return L.lse_to_atoms(p["W"], p["b"], self.t)

    def trainable(self) -> list[Tensor]:
        return list(self.params.values())

    def member(self, e: int) -> Ensemble:
        """Member e as a size-1 ensemble (views, not copies)."""
        mask = None if self.neuron_mask is None else self.neuron_mask[e : e + 1]
        params = {k: v[e : e + 1] for k, v in self.params.items()}
        return Ensemble(self.form, params, self.eps[e : e + 1], self.t, mask)


def init_lse(E: int, N: int, d: int, eps: Tensor, *, w_scale: float, b_scale: float,
             generator: torch.Generator, readout: bool = False,
             neuron_mask: Tensor | None = None) -> Ensemble:
    """W ~ w_scale·N(0,1), b ~ b_scale·N(0,1) (the authors' initialisation family)."""
    kw = dict(generator=generator, device=eps.device, dtype=eps.dtype)
    params = {"W": w_scale * torch.randn(E, N, d, **kw), "b": b_scale * torch.randn(E, N, **kw)}
    if readout:
        params["c"] = torch.ones(E, device=eps.device, dtype=eps.dtype)
    for v in params.values():
        v.requires_grad_(True)
    return Ensemble("lse", params, eps, neuron_mask=neuron_mask)


def init_hopf_cole(y: Tensor, g: Tensor, eps: Tensor, t: float,
                   neuron_mask: Tensor | None = None) -> Ensemble:
    """Hopf–Cole ensemble from given initial atoms y [E,N,d] and values g [E,N]."""
    params = {"y": y.clone().requires_grad_(True), "g": g.clone().requires_grad_(True)}
    return Ensemble("hopf_cole", params, eps, t=t, neuron_mask=neuron_mask)
