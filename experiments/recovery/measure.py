"""recovery, measure: fit an LSE net to the Hopf–Lax solution u_0 of atoms (y*, |y*|), every
(ε, seed) member of a setup in one batched Adam run, then an L-BFGS polish per member; read the
atoms (y_j, g_j) = (2t w_j, −b_j − t|w_j|²) off the net and compare them with g*.

The net fits f = LSE_ε(Wx + b) to |x|²/4t − u_0, so that u = |x|²/4t − f is the Hopf–Cole
solution of the recovered atoms (docs/theory.md §3): the training MSE is the MSE of u against u_0.
"""

from __future__ import annotations

import pandas as pd
import torch

from hjexp.context import RunContext
from hjexp.engine import closed as L
from hjexp.engine import init_lse, polish_lbfgs, train

from .contract import Kind, Q


def true_atoms(ctx: RunContext, p) -> tuple[torch.Tensor, torch.Tensor]:
    """y* [K, 1] evenly spaced, g* = |y*| [K]."""
    y = torch.linspace(*p.atom_range, p.n_atoms, dtype=ctx.dtype, device=ctx.device)[:, None]
    return y, y[:, 0].abs()


def fit_members(ctx: RunContext, p, t: float, offset: int, x, target) -> dict:
    """All ε × seeds members of one setup: Adam in one batch, then the per-member polish."""
    eps = ctx.tensor(list(p.eps)).repeat_interleave(p.seeds)  # [E], member = (ε index, seed)
    model = init_lse(len(eps), p.n_neurons, 1, eps, w_scale=p.w_scale, b_scale=p.b_scale,
                     generator=ctx.generator(offset))
    with torch.no_grad():  # the paper's init read as atoms at t_init, carried to this t: the same start atoms
        y0, g0 = L.lse_to_atoms(model.W, model.b, float(p.init_t))
        model.W, model.b = L.atoms_to_lse(y0, g0, t)
    with ctx.progress(f"Adam, t={t:g}, {len(eps)} members", p.steps) as advance:
        adam_loss = train(model, x, target, max_steps=p.steps, lr=p.lr, progress=advance).loss
    loss = adam_loss
    if p.lbfgs_iterations > 0:
        loss = polish_lbfgs(model, x, target, iterations=p.lbfgs_iterations)
    return dict(W=model.W.detach(), b=model.b.detach(), eps=eps,
                adam_loss=adam_loss.detach(), loss=loss.detach())


def merge_coincident(Y, G, usage, eps, tol: float):
    """Neurons within ``tol`` of each other in y act as one atom with g = −ε log Σ exp(−g_j/ε)
    (the net's function cannot tell them apart).  Y [E, N], G, usage [E, N] -> per cluster [E, C=N]."""
    order = Y.argsort(-1)
    Ys, Gs, Us = (v.gather(-1, order) for v in (Y, G, usage))
    new = torch.cat([torch.ones_like(Ys[:, :1], dtype=torch.bool), Ys.diff(dim=-1) > tol], -1)
    cid = new.long().cumsum(-1) - 1  # [E, N] cluster index of each sorted neuron
    member = cid[..., None] == torch.arange(Y.shape[-1], device=Y.device)  # [E, N, C]
    e = eps[:, None]
    neg = torch.where(member, (-Gs / e)[..., None], torch.full_like(member, float("-inf"), dtype=Y.dtype))
    g_c = -e * torch.logsumexp(neg, dim=1)  # [E, C]; +inf for empty clusters
    u_c = (member * Us[..., None]).sum(1)  # [E, C]
    y_sum = (member * (Us * Ys)[..., None]).sum(1)
    y_plain = (member * Ys[..., None]).sum(1) / member.sum(1).clamp_min(1)
    y_c = torch.where(u_c > 0, y_sum / u_c.clamp_min(torch.finfo(Y.dtype).tiny), y_plain)
    return y_c, g_c, u_c, member.any(1)  # valid clusters [E, C]


def evaluate(ctx: RunContext, p, name: str, t: float, fit: dict, x, u0, y_true, g_true) -> dict:
    """Rows for results.csv (added here) and the atoms, per_atom and fits tables (returned)."""
    eps, W, b = fit["eps"], fit["W"], fit["b"]
    S, K = p.seeds, len(g_true)
    z = L.logits(x, W, b)  # [E, n, N]
    u_fit = (x[:, 0] ** 2) / (4 * t) - L.lse(z, eps)  # [E, n]
    err = u_fit - u0
    usage = L.gibbs(z, eps).mean(1)  # [E, N] mean Gibbs weight over the data
    Yn, Gn = L.lse_to_atoms(W, b, t)
    Y = Yn[..., 0]  # [E, N]
    delta = (usage * (Gn - Y.abs()).abs()).sum(-1)  # [E] usage-weighted |g_j − g*(y_j)|
    yc, gc, uc, valid = merge_coincident(Y, Gn, usage, eps, p.merge_tol)
    dev_c = torch.where(valid, uc * (gc - yc.abs()).abs(), torch.zeros_like(uc))
    delta_merged = dev_c.sum(-1)
    used = valid & (uc >= p.min_usage)  # [E, C]
    # Per true atom: the nearest used (merged) atom and its errors.
    dist = (yc[:, None, :] - y_true[:, 0][None, :, None]).abs()  # [E, K, C]
    dist = torch.where(used[:, None, :], dist, torch.full_like(dist, float("inf")))
    near = dist.argmin(-1)  # [E, K]
    y_rec, g_rec, u_rec = (v.gather(-1, near) for v in (yc, gc, uc))
    winner = L.atom_logits(x, y_true[None], g_true[None], t)[0].argmax(-1)  # [n] which true atom wins
    active = torch.zeros(K, dtype=torch.bool, device=x.device)
    active[winner] = True

    seed = torch.arange(S, device=x.device).repeat(len(p.eps))
    loss = fit["loss"].view(len(p.eps), S)
    selected = torch.zeros_like(loss, dtype=torch.bool)
    selected[torch.arange(len(p.eps), device=loss.device), loss.argmin(-1)] = True
    selected = selected.flatten()
    common = dict(setup=name, t=t)
    members = pd.DataFrame(dict(eps=eps.tolist(), seed=seed.tolist(), selected=selected.tolist()))
    rows = []
    for q, v in ((Q.TRAIN_MSE, fit["loss"]), (Q.ADAM_MSE, fit["adam_loss"]), (Q.MAX_FIT_ERR, err.abs().amax(-1)),
                 (Q.DELTA_BAR, delta), (Q.DELTA_BAR_MERGED, delta_merged), (Q.N_USED, used.sum(-1))):
        rows.append(members.assign(quantity=q, value=v.double().tolist()))
    rows.append(pd.DataFrame([dict(eps=e, quantity=Q.N_ACTIVE_TRUE, value=int(active.sum())) for e in p.eps]))
    ctx.add_rows(pd.concat(rows, ignore_index=True), **common)

    E, N = Y.shape
    neurons = members.loc[members.index.repeat(N)].assign(
        kind=Kind.NEURON, j=list(range(N)) * E, y=Y.flatten().tolist(), g=Gn.flatten().tolist(),
        usage=usage.flatten().tolist())
    merged = members.loc[members.index.repeat(N)].assign(
        kind=Kind.MERGED, j=list(range(N)) * E, y=yc.flatten().tolist(), g=gc.flatten().tolist(),
        usage=uc.flatten().tolist())
    merged = merged[valid.flatten().tolist()]
    per_atom = members.loc[members.index.repeat(K)].assign(
        k=list(range(K)) * E, y_true=y_true[:, 0].repeat(E).tolist(), g_true=g_true.repeat(E).tolist(),
        active=active.repeat(E).tolist(), y_rec=y_rec.flatten().tolist(), g_rec=g_rec.flatten().tolist(),
        usage_rec=u_rec.flatten().tolist())
    sel = selected.nonzero().flatten()
    fits = pd.DataFrame(dict(eps=eps[sel].repeat_interleave(len(x)).tolist(), x=x[:, 0].repeat(len(sel)).tolist(),
                             u_target=u0.repeat(len(sel)).tolist(), u_fit=u_fit[sel].flatten().tolist()))
    return {k: v.assign(**common) for k, v in (("atoms", pd.concat([neurons, merged])), ("per_atom", per_atom),
                                               ("fits", fits))}


def measure(ctx: RunContext) -> None:
    p = ctx.params
    y_true, g_true = true_atoms(ctx, p)
    x = torch.linspace(*p.x_range, p.n_points, dtype=ctx.dtype, device=ctx.device)[:, None]  # [n, 1]
    tables: dict[str, list[pd.DataFrame]] = {"atoms": [], "per_atom": [], "fits": []}
    for i, (name, t) in enumerate(p.setups.items()):
        t = float(t)
        u0 = L.hopf_lax(x, y_true, g_true, t)  # [n], the ε = 0 target
        target = (x[:, 0] ** 2) / (4 * t) - u0  # what f = LSE_ε must fit
        fit = ctx.cached(f"fit_{name}", lambda t=t, target=target, i=i: fit_members(ctx, p, t, 100 + i, x, target))
        with torch.no_grad():
            for k, v in evaluate(ctx, p, name, t, fit, x, u0, y_true, g_true).items():
                tables[k].append(v)
    for k, frames in tables.items():
        ctx.save_table(k, pd.concat(frames, ignore_index=True))
