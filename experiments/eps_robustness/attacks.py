"""Projected gradient descent attacks (ℓ∞, ℓ2) on LSE classifiers, batched over (model, image) pairs.

Two losses: cross-entropy, and the margin max_{j≠y} z_j − z_y (difference of logits). A
temperature-like ε can saturate cross-entropy gradients (vanishing softmax tails), which the margin
loss does not suffer: reporting both keeps gradient masking from passing for robustness.

Every iterate is feasible (inside the ball and the [0, 1] box), so any misclassified iterate is a
genuine adversarial example. A pair is done once one is found: robust accuracy asks only whether one
exists (later restarts, radii and steps attack the pairs not yet broken — the usual protocol, which
saves most of the work), and its distance is kept as an upper bound on the nearest one. The gradient
is the classifier's closed form (``LSEClassifier.pair_objective``), and the rows still under attack are
compacted as pairs fall, so the cost follows the pairs left rather than models × images.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from hjexp.engine import backend, native
from hjexp.engine import pgd as engine_pgd
from hjexp.engine.pgd import row_norm, start

from .classifier import LSEClassifier
from .contract import Loss, Norm

LOSSES = (Loss.CE, Loss.MARGIN)
NORMS = (Norm.LINF, Norm.L2)


def margin(z: Tensor, y: Tensor) -> Tensor:
    """z_y − max_{j≠y} z_j; negative iff misclassified.  z [E, n, C], y [n] -> [E, n]."""
    idx = y.reshape(1, -1, 1).expand(z.shape[0], -1, 1)
    zy = z.gather(-1, idx)[..., 0]
    return zy - z.scatter(-1, idx, -math.inf).amax(-1)


def _step(xa: Tensor, g: Tensor, x0: Tensor, alpha: Tensor, radius: Tensor, norm: str, lo: Tensor | None,
          hi: Tensor | None, box) -> None:
    """One projected ascent step, in place on xa (g is overwritten)."""
    if norm == Norm.LINF:
        xa.addcmul_(g.sign_(), alpha)
        # The ball ∩ box is a box: [max(x0 − r, 0), min(x0 + r, 1)], one clamp.
        torch.clamp(xa, lo, hi, out=xa)
        return
    xa.addcmul_(g, alpha / row_norm(g).clamp_min(1e-30)).sub_(x0)  # xa now holds δ
    xa.mul_((radius / row_norm(xa).clamp_min(1e-30)).clamp_max(1.0)).add_(x0)
    if box is not None:  # clipping to the box only shrinks |δ_i| (x0 ∈ box), so the iterate stays in the ball
        xa.clamp_(*box)


def native_layout(model: LSEClassifier) -> dict | None:
    """The classifier padded for the C step (hjexp/engine/attack.c), or None where it cannot run
    (the torch backend, not on the CPU, more than 64 classes): the torch path then takes the step."""
    E, C, N, k = model.W.shape
    dtype, dev = model.W.dtype, model.W.device
    if not backend.active().c or dev.type != "cpu" or dtype not in native.TYPES or C > 64 or C < 2:
        return None
    lanes = native.vec_bytes() // model.W.element_size()  # one vector; the products' tiles are 4 vectors wide
    (D, _), tile = model.comps.shape, 4 * lanes
    kp, Dp, CNp = -(-k // tile) * tile, -(-D // tile) * tile, -(-C * N // lanes) * lanes
    W = model.W.detach().reshape(E, C * N, k)
    z = dict(dtype=dtype, device=dev)
    lay = dict(k=k, C=C, N=N, eps=model.eps.contiguous(), PcT=torch.zeros(k, Dp, **z),
               Pc=torch.zeros(D, kp, **z), muP=torch.zeros(kp, **z), WT=torch.zeros(E, k, CNp, **z),
               Wk=torch.zeros(E, C * N, kp, **z), bias=torch.zeros(E, CNp, **z))
    lay["Pc"][:, :k] = model.comps
    lay["PcT"][:, :D] = model.comps.T
    lay["muP"][:k] = model.mean @ model.comps
    lay["WT"][..., :C * N] = W.transpose(1, 2)
    lay["Wk"][..., :k] = W
    lay["bias"][:, :C * N] = model.b.detach().reshape(E, C * N)
    return lay


def _attack_rows(model: LSEClassifier, x0: Tensor, y: Tensor, member: Tensor, radius: Tensor, *, norm: str,
                 loss: str, steps: int, generator, box, layout: dict | None) -> tuple[Tensor, Tensor]:
    """One restart on P rows (pairs).  Step t of T has size r·(2(1 − t/T) + 1/T): large steps explore
    first, small ones refine.  The C step when ``layout`` is given, else torch's.
    Returns (found [P] bool, ℓ2 distance of the example found [P], inf where none)."""
    P = len(y)
    found = torch.zeros(P, dtype=torch.bool, device=x0.device)
    dist = torch.full((P,), math.inf, dtype=x0.dtype, device=x0.device)
    rows = torch.arange(P, device=x0.device)  # which of the P pairs each live row is
    radius = radius[:, None]
    lo = hi = None
    if norm == Norm.LINF:
        lo, hi = x0 - radius, x0 + radius
        if box is not None:
            lo.clamp_(min=box[0])
            hi.clamp_(max=box[1])
    xa = start(x0, radius, norm, generator)
    if box is not None:
        xa.clamp_(*box)
    for t in range(steps + 1):
        last = t == steps
        alpha = radius * (2 * (1 - t / steps) + 1 / steps)
        if layout is not None:  # margins at xa, and every row not yet adversarial moved
            gap, g = native.pgd_step(layout, xa, x0, lo, hi, member, y, alpha, radius, norm=norm, loss=loss,
                                     update=not last, box=box), None
        else:
            gap, g = model.pair_objective(xa, member, y, loss, grad=not last)
        hit = gap < 0
        if bool(hit.any()):
            found[rows[hit]] = True
            dist[rows[hit]] = row_norm(xa[hit] - x0[hit])[:, 0]
            keep = ~hit
            rows, xa, x0, y, member, radius, alpha = (v[keep] for v in (rows, xa, x0, y, member, radius, alpha))
            g, lo, hi = (None if v is None else v[keep] for v in (g, lo, hi))
            if not len(rows):
                break
        if last:
            break
        if layout is None:
            _step(xa, g, x0, alpha, radius, norm, lo, hi, box)
    return found, dist


@torch.no_grad()
def pgd(model: LSEClassifier, x: Tensor, y: Tensor, radius: float | Tensor, *, norm: str, loss: str, steps: int,
        restarts: int, generator: torch.Generator, todo: Tensor | None = None, chunk: int = 2500,
        box: tuple[float, float] | None = (0.0, 1.0), native_step: bool = True) -> tuple[Tensor, Tensor]:
    """PGD with random restarts, every model of ``model`` against every image x [n, D] with labels y [n],
    at one radius, one per image [n], or one per model and image [E, n].  ``todo`` [E, n] bool limits
    the pairs attacked; ``chunk`` bounds the rows attacked at once (memory ≈ 5·chunk·D numbers).
    ``native_step=False`` keeps to the torch step (the C one is used where it can run).

    Returns (found [E, n] bool: an adversarial example within the radius was found,
    l2 [E, n]: the ℓ2 distance of the one found, inf where none).
    """
    if norm not in NORMS or loss not in LOSSES:
        raise ValueError(f"norm must be one of {NORMS} and loss one of {LOSSES}")
    E, n, y = len(model.eps), len(y), y.long()
    radius = torch.as_tensor(radius, dtype=x.dtype, device=x.device).broadcast_to((E, n)).flatten()
    found = torch.zeros(E * n, dtype=torch.bool, device=x.device)
    best = torch.full((E * n,), math.inf, dtype=x.dtype, device=x.device)
    todo = torch.ones(E * n, dtype=torch.bool, device=x.device) if todo is None else todo.flatten().clone()
    layout = native_layout(model) if native_step else None
    for _ in range(restarts):
        # Pairs are numbered member-major (e·n + i), so every chunk's members come in ascending order.
        left = torch.nonzero(todo & ~found).flatten()
        for pairs in left.split(chunk) if len(left) else ():
            image, member = pairs % n, torch.div(pairs, n, rounding_mode="floor")
            if x.device.type == "cpu":  # compacting the rows still under attack pays on a CPU
                hit, dist = _attack_rows(model, x[image], y[image], member, radius[pairs], norm=norm, loss=loss,
                                         steps=steps, generator=generator, box=box, layout=layout)
            else:  # a GPU: compaction is five host syncs a step; engine/pgd.py's loop has none
                hit, dist = engine_pgd.attack_rows(model.W.detach(), model.b.detach(), model.eps, model.mean,
                                                   model.comps, x[image], y[image], member, radius[pairs], norm=norm,
                                                   loss=loss, steps=steps, generator=generator, box=box)
            found[pairs[hit]] = True
            best[pairs] = torch.minimum(best[pairs], dist)
    return found.view(E, n), best.view(E, n)


def radius_sweep(model: LSEClassifier, x: Tensor, y: Tensor, radii: list[float], *, norm: str, loss: str,
                 steps: int, restarts: int, generator: torch.Generator, chunk: int = 2500) -> tuple[Tensor, Tensor]:
    """Robustness at each radius, ascending: a pair broken at a radius stays broken at larger ones,
    so only the pairs not yet broken are attacked again.

    Returns (broken [R, E, n] bool, including clean errors at every radius; l2 [E, n] ℓ2 distance
    of an adversarial example found — the one at the smallest radius —, 0 for clean errors, inf where none).
    """
    with torch.no_grad():
        clean_wrong = torch.cat([margin(model.logits(c), yc) < 0 for c, yc in zip(x.split(chunk), y.split(chunk))], 1)
    broken = clean_wrong.clone()
    best = torch.where(clean_wrong, 0.0, math.inf).to(x.dtype)
    out = []
    for r in sorted(radii):
        found, dist = pgd(model, x, y, r, norm=norm, loss=loss, steps=steps, restarts=restarts, generator=generator,
                          todo=~broken, chunk=chunk)
        broken |= found
        best = torch.minimum(best, dist)
        out.append(broken.clone())
    return torch.stack(out), best
