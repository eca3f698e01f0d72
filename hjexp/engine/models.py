"""The two forms of one model class (docs/theory.md §3) as typed ensembles: every member in one tensor.

    LSE       f(x) = c · ε log Σ_j exp((w_j·x + b_j)/ε)          W [E, N, d], b [E, N], c [E] optional
    HopfCole  u(x) = −ε log Σ_j exp(−(g_j + |x − y_j|²/4t)/ε)    y [E, N, d], g [E, N], t scalar

Exact conversion (c = 1): y = 2tW, g = −b − t|W|², and u = |x|²/4t − f. Members share nothing but
shapes: per-member ε [E], and narrower members masked (``neuron_mask`` [E, N], False = absent neuron).

Both forms present the fused kernel (engine.kernel) with the same network-side problem: packed
parameters θ [E, N, d+1] (their own [A, B] columns), the map θ -> [W, b] and its pull-back of
gradients, and the output map pred = scale·f + offset(x). So one forward/backward serves both,
with no switch on a form name.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import Tensor

from hjexp.engine import closed


class Model:
    """What LSE and HopfCole share; subclasses are dataclasses with tensors stacked over E."""

    eps: Tensor  # [E]
    neuron_mask: Tensor | None  # [E, N] bool
    native_form: int | None = None  # engine/param.c's code for network/pull_back (None: torch hooks only)

    # --- the two atom-wise parameter blocks, and the trainable tensors ------------------------
    def blocks(self) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def tensors(self) -> dict[str, Tensor]:
        """Trainable tensors by name (views of the model's own storage)."""
        raise NotImplementedError

    @property
    def size(self) -> int:
        return int(self.eps.shape[0])

    @property
    def width(self) -> int:
        return int(self.blocks()[1].shape[1])

    @property
    def dim(self) -> int:
        return int(self.blocks()[0].shape[2])

    def trainable(self) -> list[Tensor]:
        return list(self.tensors().values())

    def member(self, e: int) -> Model:
        """Member e as a size-1 ensemble (views, not copies)."""
        return self._map(lambda v: v[e : e + 1])

    def clone(self, requires_grad: bool = False) -> Model:
        """Detached copy; ``requires_grad`` makes the trainable tensors autograd leaves."""
        out = self._map(lambda v: v.detach().clone())
        if requires_grad:
            for v in out.trainable():
                v.requires_grad_(True)
        return out

    def to(self, dtype: torch.dtype | None = None, device: torch.device | str | None = None) -> Model:
        """Copy with floating tensors in ``dtype`` and every tensor on ``device``."""
        return self._map(lambda v: v.detach().to(device=device, dtype=dtype if v.is_floating_point() else None,
                                                 copy=True))

    def _map(self, fn) -> Model:
        new = {f.name: fn(getattr(self, f.name)) for f in dataclasses.fields(self)
               if isinstance(getattr(self, f.name), Tensor)}
        return dataclasses.replace(self, **new)

    # --- reference forward (closed forms, autograd-capable) ---------------------------------
    def logits(self, x: Tensor) -> Tensor:
        """[E, n, N] logits whose ε-LSE gives the output through ``output``."""
        raise NotImplementedError

    def output(self, f: Tensor, x: Tensor) -> Tensor:
        """Model output [E, n] from f = ε-LSE of the logits [E, n]."""
        raise NotImplementedError

    def predict(self, x: Tensor) -> Tensor:
        """Output [E, n] on the closed forms, unchunked (differentiable; engine.predict is the fast one)."""
        return self.output(closed.lse(self.logits(x), self.eps), x)

    # --- hooks of the fused kernel (network side) ------------------------------------------
    def packed(self) -> Tensor:
        """[A, B] as one detached [E, N, d+1] tensor (the trained parameters)."""
        a, b = self.blocks()
        return torch.cat([a.detach(), b.detach().unsqueeze(-1)], -1)

    def unpack_(self, idx: Tensor, theta: Tensor) -> None:
        """Write packed parameters of members ``idx`` (first theta.shape[1] neurons) back, in place."""
        a, b = self.blocks()
        w = theta.shape[1]
        with torch.no_grad():
            a[idx, :w] = theta[..., :-1]
            b[idx, :w] = theta[..., -1]

    @staticmethod
    def network(theta: Tensor, t: float) -> Tensor:
        """Packed parameters -> network-side [W, b]  [.., N, d+1]."""
        return theta

    @staticmethod
    def pull_back(theta: Tensor, g_net: Tensor, t: float) -> Tensor:
        """dL/d[W, b] -> dL/dθ (chain rule through ``network``)."""
        return g_net

    sign = 1.0  # pred = sign·(readout)·f + offset(x)
    t = 1.0

    def readout(self) -> Tensor | None:
        return None

    def offset(self, x: Tensor) -> Tensor | None:
        return None


@dataclass
class LSE(Model):
    """The network side: f = c·LSE_ε(Wx + b), convex in x."""

    W: Tensor  # [E, N, d]
    b: Tensor  # [E, N]
    eps: Tensor  # [E]
    c: Tensor | None = None  # [E] scalar readout (trainable)
    neuron_mask: Tensor | None = None
    native_form = 0  # param.c's form code: the network is θ itself (Model's network and pull_back)

    def blocks(self) -> tuple[Tensor, Tensor]:
        return self.W, self.b

    def tensors(self) -> dict[str, Tensor]:
        out = {"W": self.W, "b": self.b}
        if self.c is not None:
            out["c"] = self.c
        return out

    def readout(self) -> Tensor | None:
        return self.c

    def logits(self, x: Tensor) -> Tensor:
        return closed.logits(x, self.W, self.b, self.neuron_mask)

    def output(self, f: Tensor, x: Tensor) -> Tensor:
        return f if self.c is None else self.c.unsqueeze(-1) * f

    def to_hopf_cole(self, t: float) -> HopfCole:
        """The same function on the PDE side: u = |x|²/4t − f (exact; needs c = 1, i.e. no readout)."""
        if self.c is not None:
            raise ValueError("a readout c ≠ 1 has no Hopf–Cole twin; convert c·f's parameters first")
        y, g = closed.lse_to_atoms(self.W, self.b, t)
        return HopfCole(y, g, self.eps, t, self.neuron_mask)

    def atoms(self, t: float) -> tuple[Tensor, Tensor]:
        """(y, g) of the PDE side at time t."""
        return closed.lse_to_atoms(self.W, self.b, t)


@dataclass
class HopfCole(Model):
    """The PDE side: u = −ε log Σ exp(−(g + |x−y|²/4t)/ε), a soft minimum of quadratic bumps."""

    y: Tensor  # [E, N, d] atoms
    g: Tensor  # [E, N] values
    eps: Tensor  # [E]
    t: float = 1.0
    neuron_mask: Tensor | None = None
    sign = -1.0
    native_form = 1  # param.c's form code: W = y/2t, b = −g − |y|²/4t (network and pull_back below)

    def blocks(self) -> tuple[Tensor, Tensor]:
        return self.y, self.g

    def tensors(self) -> dict[str, Tensor]:
        return {"y": self.y, "g": self.g}

    def logits(self, x: Tensor) -> Tensor:
        """From distances (not through W, b), so the identity u = |x|²/4t − f is a real check."""
        return closed.atom_logits(x, self.y, self.g, self.t, self.neuron_mask)

    def output(self, f: Tensor, x: Tensor) -> Tensor:
        return -f

    def offset(self, x: Tensor) -> Tensor:
        return (x * x).sum(-1) / (4 * self.t)  # [.., n]

    def to_lse(self) -> LSE:
        W, b = closed.atoms_to_lse(self.y, self.g, self.t)
        return LSE(W, b, self.eps, None, self.neuron_mask)

    def atoms(self, t: float | None = None) -> tuple[Tensor, Tensor]:
        return self.y, self.g

    @staticmethod
    def network(theta: Tensor, t: float) -> Tensor:
        y, g = theta[..., :-1], theta[..., -1:]
        return torch.cat([y / (2 * t), -g - (y * y).sum(-1, keepdim=True) / (4 * t)], -1)

    @staticmethod
    def pull_back(theta: Tensor, g_net: Tensor, t: float) -> Tensor:
        # W = y/2t, b = −g − |y|²/4t  =>  dL/dy = (dL/dW − dL/db·y)/2t,  dL/dg = −dL/db
        gW, gb = g_net[..., :-1], g_net[..., -1:]
        return torch.cat([(gW - gb * theta[..., :-1]) / (2 * t), -gb], -1)


def init_lse(E: int, N: int, d: int, eps: Tensor, *, w_scale: float, b_scale: float,
             generator: torch.Generator, readout: bool = False, neuron_mask: Tensor | None = None) -> LSE:
    """W ~ w_scale·N(0,1), b ~ b_scale·N(0,1) (the authors' initialisation family); c = 1 if ``readout``."""
    kw = dict(generator=generator, device=eps.device, dtype=eps.dtype)
    W, b = w_scale * torch.randn(E, N, d, **kw), b_scale * torch.randn(E, N, **kw)
    c = torch.ones(E, device=eps.device, dtype=eps.dtype) if readout else None
    return LSE(W, b, eps, c, neuron_mask)
