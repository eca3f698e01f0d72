"""The `attack` part: LSE_ε class-logit classifiers on MNIST / Fashion-MNIST, one model per ε, trained
together; PGD (ℓ∞, ℓ2; cross-entropy and margin losses; radius sweeps), certified ℓ2 radii, and the
peer check of PGD by adv-lib's APGD on the first params.attack.peer.n_images test images (peer.py)."""

from __future__ import annotations

import math
import time

import pandas as pd
import torch

from hjexp.context import RunContext
from hjexp.data import images

from .attacks import LOSSES, NORMS, radius_sweep
from .classifier import certified_radius, init_classifier, train_classifier
from .contract import Loss, Norm, Part, Q
from .curvature import identity_rel_err
from .peer import peer_rows

N_CLASSES = 10


def _pixels(ctx: RunContext, name: str, split: str, n: int, root) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = images.load(name, split, root)
    return (x[:n].to(device=ctx.device, dtype=ctx.dtype) / 255.0), y[:n].to(ctx.device)


def attack_data(ctx: RunContext, data: str, a, root) -> dict:
    """Train, attack and certify on one data set.  Returns {"rows": [...], "tables": {name: DataFrame}}."""
    name = images.canonical(data)
    n_pca = None if a.pca_on_all_train else a.n_train
    mean, comps = images.pca(name, a.pca_dim, n_train=n_pca, root=root)
    mean, comps = mean.to(device=ctx.device, dtype=ctx.dtype), comps.to(device=ctx.device, dtype=ctx.dtype)
    x_tr, y_tr = _pixels(ctx, name, "train", a.n_train, root)
    u_tr = images.project(x_tr, mean, comps)  # [n_train, k]
    del x_tr
    x, y = _pixels(ctx, name, "test", a.n_test, root)  # [n, D] in [0, 1]
    eps = ctx.tensor(list(a.eps))
    E = len(eps)
    gen = ctx.generator(21 + len(name))
    model = init_classifier(E, N_CLASSES, a.n_neurons, mean, comps, eps, w_init=a.w_init, generator=gen)
    with ctx.progress(f"attack/{data}: Adam (cross-entropy)", a.steps) as advance:
        train_ce = train_classifier(model, u_tr, y_tr, steps=a.steps, lr=a.lr, batch=a.batch, generator=gen,
                                    progress=advance)
    model = model.to(ctx.dtype)
    with torch.no_grad():
        clean = torch.cat([model.logits(c).argmax(-1) for c in x.split(1024)], 1) == y  # [E, n]
        cert = torch.cat([certified_radius(model.to(torch.float64), c.double(), yc)
                          for c, yc in zip(x.split(1024), y.split(1024))], 1).to(ctx.dtype)  # [E, n]
    # Exact identity on these models too: each class logit z_c is an LSE layer in the features u.
    W, b = model.W.flatten(0, 1), model.b.flatten(0, 1)  # [E·C, N, k]
    u_few = images.project(x[:8], mean, comps).expand(E * N_CLASSES, -1, -1)
    ident = identity_rel_err(u_few, W, b, eps.repeat_interleave(N_CLASSES)).view(E, N_CLASSES).amax(-1)

    rows, nearest, at_standard = [], torch.full_like(cert, math.inf), {}
    common = dict(part=Part.ATTACK, data=data)
    for e in range(E):
        ev = float(eps[e])
        rows += [dict(common, eps=ev, quantity=Q.CLEAN_ACC, value=float(clean[e].float().mean())),
                 dict(common, eps=ev, quantity=Q.TRAIN_CE, value=float(train_ce[e])),
                 dict(common, eps=ev, quantity=Q.IDENTITY_REL_ERR, value=float(ident[e])),
                 dict(common, eps=ev, quantity=Q.CERTIFIED_MEDIAN, value=float(cert[e].median()))]
    for norm in NORMS:
        radii = sorted(float(r) for r in a.radii[data][norm])
        per_loss = {}
        for loss in LOSSES:
            with ctx.progress(f"attack/{data}: PGD {norm} {loss}, {len(radii)} radii", 1) as advance:
                per_loss[loss], best = radius_sweep(model, x, y, radii, norm=norm, loss=loss, steps=a.pgd.steps,
                                                    restarts=a.pgd.restarts, generator=gen, chunk=a.pgd.chunk)
                advance(1)
            nearest = torch.minimum(nearest, best)
        per_loss[Loss.BOTH] = per_loss[Loss.CE] | per_loss[Loss.MARGIN]
        std = min(range(len(radii)), key=lambda i: abs(radii[i] - float(a.standard[data][norm])))
        at_standard[norm] = per_loss[Loss.BOTH][std]  # [E, n], broken at the standard radius
        for loss, broken in per_loss.items():  # broken [R, E, n]
            acc = (~broken).float().mean(-1)  # [R, E]
            rows += [dict(common, eps=float(eps[e]), norm=norm, loss=loss, radius=r, quantity=Q.ROBUST_ACC,
                          value=float(acc[i, e])) for i, r in enumerate(radii) for e in range(E)]
        if norm == Norm.L2:
            rows += [dict(common, eps=float(eps[e]), norm=Norm.L2, loss=Loss.CERTIFIED, radius=r, quantity=Q.ROBUST_ACC,
                          value=float((cert[e] >= r).float().mean())) for r in radii for e in range(E)]
    n_peer = min(int(a.peer.n_images), len(y))
    if n_peer > 0:
        start = time.perf_counter()
        with ctx.progress(f"attack/{data}: APGD-CE, APGD-DLR (adv-lib) on {n_peer} images", 1) as advance:
            rows += peer_rows(model, x[:n_peer], y[:n_peer], eps, {k: v[:, :n_peer] for k, v in at_standard.items()},
                              a.standard[data], a.peer, common)
            advance(1)
        ctx.log(f"attack-{data}: peer attack {time.perf_counter() - start:.1f} s")
    table = pd.DataFrame({
        "data": data, "eps": eps.repeat_interleave(len(y)).tolist(),
        "image": torch.arange(len(y), device=y.device).repeat(E).tolist(), "label": y.repeat(E).tolist(),
        "correct": clean.flatten().tolist(), "certified_l2": cert.flatten().tolist(),
        "nearest_adv_l2": nearest.flatten().tolist()})
    return {"rows": rows, "tables": {"certificates": table}}
