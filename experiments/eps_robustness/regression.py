"""The bound parts: random weights, a trained 1-D fit of |x|, and c·LSE_ε regression on image data.

Every part trains (or draws) all its ε and seeds as one stacked ensemble, member e = (seed, ε),
then measures the curvature of every member in one batched program (curvature.py).
"""

from __future__ import annotations

import math

import torch

from hjexp.context import RunContext
from hjexp.data import images
from hjexp.engine import init_lse, predict, train

from .contract import Part, Q
from .curvature import curvature_rows


def _grid(ctx: RunContext, eps: list[float], seeds: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Member axis E = seeds × ε (seed-major): (ε [E], seed index [E])."""
    e = ctx.tensor(list(eps)).repeat(seeds)
    s = torch.arange(seeds, device=ctx.device).repeat_interleave(len(eps))
    return e, s


def random_part(ctx: RunContext, p) -> dict:
    """N unit-norm rows in d dims, b = 0, c = 1, one unit query; ε on a log grid (the authors' setup)."""
    gen = ctx.generator(11)
    kw = dict(generator=gen, dtype=ctx.dtype, device=ctx.device)
    W = torch.randn(p.n_neurons, p.d, **kw)
    W = W / W.norm(dim=-1, keepdim=True)  # [N, d]
    q = torch.randn(p.n_queries, p.d, **kw)
    q = q / q.norm(dim=-1, keepdim=True)  # [n, d]
    eps = torch.logspace(*p.log10_eps_range, p.n_eps, dtype=ctx.dtype, device=ctx.device)  # [E]
    E = len(eps)
    Ws = W.expand(E, -1, -1)
    b = torch.zeros(E, p.n_neurons, dtype=ctx.dtype, device=ctx.device)
    rows = curvature_rows(Part.RANDOM, q, Ws, b, eps, torch.zeros(E, dtype=torch.long, device=ctx.device))
    return {"rows": rows}


def trained1d_part(ctx: RunContext, p) -> dict:
    """LSE_ε(Wx + b) fitted to |x| on U(−2, 2) by full-batch Adam, all (seed, ε) in one ensemble."""
    eps, seed = _grid(ctx, p.eps, p.seeds)
    E = len(eps)
    gen = ctx.generator(12)
    lo, hi = p.train_range
    x_seed = lo + (hi - lo) * torch.rand(p.seeds, p.n_train, 1, generator=gen, dtype=ctx.dtype, device=ctx.device)
    x = x_seed[seed]  # [E, n, 1]: each seed its own training draw
    model = init_lse(E, p.n_neurons, 1, eps, w_scale=p.w_init, b_scale=p.b_init, generator=gen)
    with ctx.progress("trained1d: Adam", p.steps) as advance:
        train(model, x, x[..., 0].abs(), max_steps=p.steps, lr=p.lr, progress=advance)
    x_test = torch.linspace(*p.test_range, p.n_test, dtype=ctx.dtype, device=ctx.device)[:, None]  # [n, 1]
    rmse = (predict(model, x_test) - x_test[:, 0].abs()).pow(2).mean(-1).sqrt()  # [E]
    W, b = model.W, model.b
    rows = curvature_rows(Part.TRAINED1D, x_test, W, b, eps, seed)
    rows += [dict(part=Part.TRAINED1D, seed=int(seed[e]), eps=float(eps[e]), quantity=Q.RMSE, value=float(rmse[e]))
             for e in range(E)]
    return {"rows": rows}


def _features(ctx: RunContext, name: str, split: str, n: int, k: int, n_pca: int | None, root) -> tuple:
    """First n images of a split as PCA-k coordinates of pixels/255 (PCA fitted on training images only)."""
    x, y = images.load(name, split, root)
    x, y = x[:n], y[:n]
    mean, comps = images.pca(name, k, n_train=n_pca, root=root)
    mean, comps = mean.to(ctx.dtype), comps.to(ctx.dtype)
    u = torch.cat([images.project(c.to(ctx.dtype) / 255.0, mean, comps) for c in x.split(8192)])  # [n, k]
    return u.to(ctx.device), y.to(device=ctx.device, dtype=ctx.dtype)


def image_part(ctx: RunContext, part: str, data: str, p, k: int, root) -> dict:
    """c·LSE_ε(Wu + b) regressing the class label on PCA coordinates u (the authors' choice)."""
    n_pca = None if p.pca_on_all_train else p.n_train
    u, y = _features(ctx, data, "train", p.n_train, k, n_pca, root)
    u_test, y_test = _features(ctx, data, "test", max(p.n_rmse, p.n_hessian), k, n_pca, root)
    eps, seed = _grid(ctx, p.eps, p.seeds)
    E, d = len(eps), k
    gen = ctx.generator(13)
    model = init_lse(E, p.n_neurons, d, eps, w_scale=p.w_init / math.sqrt(d), b_scale=0.0,
                     generator=gen, readout=True)
    with ctx.progress(f"{part}: Adam (batch {p.batch})", p.steps) as advance:
        train(model, u, y, max_steps=p.steps, lr=p.lr, batch_size=p.batch, generator=gen, progress=advance)
    rmse = (predict(model, u_test[: p.n_rmse]) - y_test[: p.n_rmse]).pow(2).mean(-1).sqrt()  # [E]
    W, b, c = (v.detach() for v in (model.W, model.b, model.c))
    rows = curvature_rows(part, u_test[: p.n_hessian], W, b, eps, seed, readout=c)
    rows += [dict(part=part, seed=int(seed[e]), eps=float(eps[e]), quantity=q, value=float(v[e]))
             for e in range(E) for q, v in ((Q.RMSE, rmse), (Q.READOUT_C, c))]
    return {"rows": rows}
