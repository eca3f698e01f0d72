"""A classifier whose class logits are LSE_ε layers, one model per ε stacked on a member axis.

z_c(x) = ε·log Σ_k exp((w_ck·u + b_ck)/ε),  u = Pᵀ(x − μ)  (a fixed PCA projection, so the model and
every attack act on pixels x ∈ [0, 1]^D). Member e has its own ε_e; all members train in one program
on the same minibatches (cross-entropy summed over members: each member's gradient is its own).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from hjexp import engine
from hjexp.engine import pgd

from .curvature import cov_bounds


@dataclass
class LSEClassifier:
    W: Tensor  # [E, C, N, k]
    b: Tensor  # [E, C, N]
    eps: Tensor  # [E]
    mean: Tensor  # [D] pixel mean of the PCA
    comps: Tensor  # [D, k] orthonormal columns P

    def features(self, x: Tensor) -> Tensor:
        """u = (x − μ)P.  x [..., D] -> [..., k]."""
        return (x - self.mean) @ self.comps

    def neuron_logits(self, u: Tensor) -> Tensor:
        """w_ck·u + b_ck.  u [E, n, k] or [n, k] -> [E, n, C, N]."""
        spec = "enk,ecjk->encj" if u.ndim == 3 else "nk,ecjk->encj"
        return torch.einsum(spec, u, self.W) + self.b[:, None]

    def logits_from_features(self, u: Tensor) -> Tensor:
        e = self.eps.reshape(-1, 1, 1)
        return e * torch.logsumexp(self.neuron_logits(u) / e[..., None], -1)  # [E, n, C]

    def logits(self, x: Tensor) -> Tensor:
        """Class logits of pixel inputs.  x [E, n, D] or [n, D] -> [E, n, C]."""
        return self.logits_from_features(self.features(x))

    def pair_objective(self, x: Tensor, member: Tensor, y: Tensor, loss: str,
                       grad: bool = True) -> tuple[Tensor, Tensor | None]:
        """For rows that each pair an image with a model (``member`` ascending): the margin
        z_y − max_{j≠y} z_j [P] and, in closed form, ∇_x of the attack objective [P, D] —
        cross-entropy −log softmax(z)_y, or the negated margin.

        ∇_x z_c = P E_{π_c}[w_c], so ∇_x obj = P Σ_c (∂obj/∂z_c) Σ_j π_cj w_cj. Rows are laid out
        member by member in a padded [E, P_max] block so every model's neurons act in one bmm.
        x [P, D], member [P] long, y [P] long.
        """
        slot, width = pgd.layout(member, self.W.shape[0])
        return pgd.objective(self.W, self.b, self.eps, self.mean, self.comps, x, member, y, loss, slot, width, grad)

    def margins_and_gradients(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """f_j = z_y − z_j and ‖∇_x f_j‖₂ in closed form (∇_u z_c = E_{π_c}[w_c]; ‖P v‖ = ‖v‖).

        x [n, D], y [n] -> both [E, n, C] (the j = y entry is 0 / 0).
        """
        u = self.features(x)
        a = self.neuron_logits(u)  # [E, n, C, N]
        e = self.eps.reshape(-1, 1, 1, 1)
        z = e[..., 0] * torch.logsumexp(a / e, -1)  # [E, n, C]
        grad_u = torch.einsum("encj,ecjk->enck", torch.softmax(a / e, -1), self.W)  # [E, n, C, k]
        idx = y.reshape(1, -1, 1).expand(len(self.eps), -1, 1)
        f = z.gather(-1, idx) - z
        g_y = grad_u.gather(2, idx[..., None].expand(-1, -1, 1, grad_u.shape[-1]))
        return f, (g_y - grad_u).norm(dim=-1)

    def curvature_bound(self) -> Tensor:
        """m_c ≥ sup_x ‖∇²_x z_c‖₂ = sup_π ‖Cov_π(W_c)‖/ε (‖P A Pᵀ‖ = ‖A‖): the tighter of the
        half-spectral and range bounds.  [E, C]."""
        bounds = cov_bounds(self.W)
        return torch.minimum(bounds["half_spectral"], bounds["range"]) / self.eps[:, None]

    def to(self, dtype: torch.dtype) -> LSEClassifier:
        return LSEClassifier(*(t.detach().to(dtype) for t in (self.W, self.b, self.eps, self.mean, self.comps)))


def certified_radius(model: LSEClassifier, x: Tensor, y: Tensor) -> Tensor:
    """ℓ2 radius within which the prediction provably stays y; 0 where x is misclassified.  [E, n].

    f_j(x + δ) ≥ f_j − ‖g_j‖‖δ‖ − m_j‖δ‖²/2 with m_j ≥ −λ_min(∇²f_j) (∇²z_y ⪰ 0), so f_j > 0 for
    ‖δ‖ < r_j = (√(‖g_j‖² + 2 m_j f_j) − ‖g_j‖)/m_j, written 2f_j/(‖g_j‖ + √(…)) to stay exact as m_j → 0.
    """
    f, g = model.margins_and_gradients(x, y)  # [E, n, C]
    m = model.curvature_bound()[:, None, :]  # [E, 1, C]
    r = 2 * f / (g + torch.sqrt(g * g + 2 * m * f.clamp_min(0)))
    r = r.scatter(-1, y.reshape(1, -1, 1).expand(len(model.eps), -1, 1), math.inf)  # j = y is no constraint
    radius = r.amin(-1)
    others = f.scatter(-1, y.reshape(1, -1, 1).expand(len(model.eps), -1, 1), math.inf)
    return torch.where(others.amin(-1) > 0, radius, torch.zeros_like(radius))


def init_classifier(E: int, C: int, N: int, mean: Tensor, comps: Tensor, eps: Tensor, *, w_init: float,
                    generator: torch.Generator) -> LSEClassifier:
    k = comps.shape[1]
    W = w_init / math.sqrt(k) * torch.randn(E, C, N, k, generator=generator, dtype=eps.dtype, device=eps.device)
    b = torch.zeros(E, C, N, dtype=eps.dtype, device=eps.device)
    return LSEClassifier(W.requires_grad_(True), b.requires_grad_(True), eps, mean, comps)


def train_classifier(model: LSEClassifier, u: Tensor, y: Tensor, *, steps: int, lr: float, batch: int,
                     generator: torch.Generator, progress=None) -> Tensor:
    """Adam on Σ_e CE_e over shared minibatches of PCA features u [n, k], on the engine's fused pass
    (engine.train_cross_entropy: class c of model e is engine member e·C + c); the minibatch draws
    are torch.optim's loop's. ``model`` is updated in place. Returns final train CE [E]."""
    E, C, N, k = model.W.shape
    net = engine.LSE(model.W.detach().flatten(0, 1).clone(), model.b.detach().flatten(0, 1).clone(),
                     model.eps.detach().repeat_interleave(C))
    ce = engine.train_cross_entropy(net, u, y, C, steps=steps, lr=lr, batch=batch, generator=generator,
                                    progress=progress)
    with torch.no_grad():
        model.W.copy_(net.W.view(E, C, N, k))
        model.b.copy_(net.b.view(E, C, N))
    return ce
