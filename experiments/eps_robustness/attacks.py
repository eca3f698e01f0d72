"""Projected gradient descent attacks (ℓ∞ and ℓ2), batched over models and images.

``logits_fn`` maps inputs [E, n, D] to class logits [E, n, C]; every member (model) is attacked on
its own copy of the images in one tensor program. Two losses: cross-entropy, and the margin
max_{j≠y} z_j − z_y (difference of logits). A temperature-like ε can saturate cross-entropy
gradients (vanishing softmax tails), which the margin loss does not suffer: reporting both keeps
gradient masking from passing for robustness.

Every iterate is feasible (inside the ball and the [0, 1] box), so any misclassified iterate is a
genuine adversarial example; we keep, per image and model, whether one was found and the smallest
ℓ2 distance of one found.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

LOSSES = ("ce", "margin")
NORMS = ("linf", "l2")


def margin(z: Tensor, y: Tensor) -> Tensor:
    """z_y − max_{j≠y} z_j; negative iff misclassified.  z [E, n, C], y [n] -> [E, n]."""
    idx = y.reshape(1, -1, 1).expand(z.shape[0], -1, 1)
    zy = z.gather(-1, idx)[..., 0]
    return zy - z.scatter(-1, idx, -math.inf).amax(-1)


def _objective(z: Tensor, y: Tensor, loss: str) -> Tensor:
    """The quantity PGD ascends, summed (members and images are independent).  -> scalar."""
    if loss == "margin":
        return -margin(z, y).sum()
    E = z.shape[0]
    return F.cross_entropy(z.flatten(0, 1), y.repeat(E), reduction="sum")


def _flat_norm(v: Tensor) -> Tensor:
    return v.flatten(2).norm(dim=-1)[..., None]  # [E, n, 1]


def _project(delta: Tensor, radius: Tensor, norm: str) -> Tensor:
    if norm == "linf":
        return torch.maximum(torch.minimum(delta, radius), -radius)
    return delta * (radius / _flat_norm(delta).clamp_min(1e-30)).clamp_max(1.0)


def _start(shape, radius: Tensor, norm: str, generator, like: Tensor) -> Tensor:
    """A uniform random start in the ℓ∞ ball, or a random direction at a uniform fraction of the ℓ2 radius."""
    kw = dict(generator=generator, dtype=like.dtype, device=like.device)
    if norm == "linf":
        return radius * (2 * torch.rand(shape, **kw) - 1)
    d = torch.randn(shape, **kw)
    frac = torch.rand(shape[:2], **kw)[..., None]
    return radius * frac * d / _flat_norm(d).clamp_min(1e-30)


def pgd(logits_fn: Callable[[Tensor], Tensor], x: Tensor, y: Tensor, radius: float | Tensor, *, norm: str,
        loss: str, steps: int, restarts: int, generator: torch.Generator, members: int,
        box: tuple[float, float] | None = (0.0, 1.0)) -> tuple[Tensor, Tensor]:
    """PGD with random restarts at one radius (or one per image, radius [n], or per model and image, [E, n]).
    x [n, D], y [n]. Step t of T has size r·(2(1 − t/T) + 1/T): large steps explore first, small ones
    refine (a fixed step of 2.5r/T leaves an ℓ2 iterate at a visible angle from the best direction).

    Returns (found [E, n] bool: an adversarial example within the radius was found,
    l2 [E, n]: the smallest ℓ2 distance of one found, inf where none).
    """
    if norm not in NORMS or loss not in LOSSES:
        raise ValueError(f"norm must be one of {NORMS} and loss one of {LOSSES}")
    shape = (members, *x.shape)
    x0 = x.expand(shape)
    found = torch.zeros(shape[:2], dtype=torch.bool, device=x.device)
    best = torch.full(shape[:2], math.inf, dtype=x.dtype, device=x.device)
    radius = torch.as_tensor(radius, dtype=x.dtype, device=x.device)
    radius = radius[..., None] if radius.ndim == 2 else radius.reshape(1, -1, 1)  # [1 or E, 1 or n, 1]

    def record(xa: Tensor, z: Tensor) -> None:
        hit = margin(z.detach(), y) < 0  # [E, n]
        dist = _flat_norm(xa.detach() - x0)[..., 0]
        found.logical_or_(hit)
        best.copy_(torch.where(hit, torch.minimum(best, dist), best))

    for _ in range(restarts):
        delta = _start(shape, radius, norm, generator, x)
        xa = x0 + delta if box is None else (x0 + delta).clamp(*box)
        for t in range(steps):
            alpha = radius * (2 * (1 - t / steps) + 1 / steps)
            xa = xa.detach().requires_grad_(True)
            z = logits_fn(xa)
            record(xa, z)
            (g,) = torch.autograd.grad(_objective(z, y, loss), xa)
            with torch.no_grad():
                step = g.sign() if norm == "linf" else g / _flat_norm(g).clamp_min(1e-30)
                delta = _project(xa + alpha * step - x0, radius, norm)
                # Clipping to the box only shrinks |δ_i| (x ∈ box), so the iterate stays in the ball.
                xa = x0 + delta if box is None else (x0 + delta).clamp(*box)
        with torch.no_grad():
            record(xa, logits_fn(xa))
    return found, best


def radius_sweep(logits_fn, x: Tensor, y: Tensor, radii: list[float], *, norm: str, loss: str, steps: int,
                 restarts: int, generator: torch.Generator, members: int, chunk: int = 512) -> tuple[Tensor, Tensor]:
    """Robustness at each radius, ascending: an image broken at a radius stays broken at larger ones,
    so only images some member has not yet lost are attacked again.

    Returns (broken [R, E, n] bool, including clean errors at every radius; l2 [E, n] smallest ℓ2
    distance of any adversarial example found, 0 for clean errors, inf where none).
    """
    with torch.no_grad():
        clean_wrong = torch.cat([margin(logits_fn(c), yc) < 0 for c, yc in zip(x.split(chunk), y.split(chunk))], 1)
    broken = clean_wrong.clone()
    best = torch.where(clean_wrong, 0.0, math.inf).to(x.dtype)
    out = []
    for r in sorted(radii):
        active = torch.nonzero(~broken.all(0)).flatten()
        for idx in active.split(chunk):
            found, dist = pgd(logits_fn, x[idx], y[idx], r, norm=norm, loss=loss, steps=steps, restarts=restarts,
                              generator=generator, members=members)
            broken[:, idx] |= found
            best[:, idx] = torch.minimum(best[:, idx], dist)
        out.append(broken.clone())
    return torch.stack(out), best
