"""identity — an LSE layer *is* the Hopf–Cole solution of viscous HJ (THEORY.md §1–3).

Every check compares two independently computed quantities: f from (W, b) against
u from atoms (y, g) via distances; PDE derivatives from autograd; semigroups from
direct minimisation / heat-kernel quadrature against the closed-form solution.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import torch

from hjexp import fitting
from hjexp import lse as L
from hjexp.context import RunContext

CLAIM = "f_ε + u_ε = |x|²/4t exactly; ε -> 0 gives max-plus / Hopf–Lax; u_ε solves u_t + |∇u|² = εΔu"
COST = "5 s / 10 s / 40 s"
DEFAULT_DTYPE = "float64"
ROUNDOFF = 1e-12  # float64: errors above this are not roundoff


def _half_sq(x: torch.Tensor, t: float) -> torch.Tensor:
    return (x * x).sum(-1) / (4.0 * t)


def identity_error(x, W, b, y, g, eps, t) -> torch.Tensor:
    """|f_ε(x) + u_ε(x,t) − |x|²/4t| per member: f from (W,b), u from (y,g).  [E]."""
    f = L.lse(L.logits(x, W, b), eps)  # [E, n]
    u = L.hopf_cole(x, y, g, eps, t)  # [E, n]
    return (f + u - _half_sq(x, t)).abs().amax(-1)


def check_identity(ctx: RunContext, p) -> None:
    t, rows = p.t, []
    eps = ctx.tensor(list(p.paper.eps))
    E = len(eps)
    y = ctx.tensor(list(p.paper.y)).reshape(1, -1, 1).expand(E, -1, -1)  # [E, N, 1]
    g = ctx.tensor(list(p.paper.g)).expand(E, -1)
    W, b = L.atoms_to_lse(y, g, t)
    x = torch.linspace(*p.paper.x_range, p.paper.n_points, dtype=ctx.dtype, device=ctx.device)[:, None]
    for e, err in zip(eps.tolist(), identity_error(x, W, b, y, g, eps, t).tolist()):
        rows.append(dict(part="hopf_cole", setup="paper", d=1, eps=e, quantity="max_abs_err", value=err))
    gen, inverse = ctx.generator(1), []
    eps = ctx.tensor(list(p.random.eps))
    E, N = len(eps), p.random.n_neurons
    for d in p.random.dims:
        W = (torch.randn(N, d, generator=gen, dtype=ctx.dtype, device=ctx.device) / math.sqrt(d)).expand(E, -1, -1)
        b = torch.randn(N, generator=gen, dtype=ctx.dtype, device=ctx.device).expand(E, -1)
        x = torch.randn(p.random.n_points, d, generator=gen, dtype=ctx.dtype, device=ctx.device)
        y, g = L.lse_to_atoms(W, b, t)
        for e, err in zip(eps.tolist(), identity_error(x, W, b, y, g, eps, t).tolist()):
            rows.append(dict(part="hopf_cole", setup="random", d=d, eps=e, quantity="max_abs_err", value=err))
        W2, b2 = L.atoms_to_lse(y, g, t)  # (W,b) -> (y,g) -> (W,b)
        y2, g2 = L.lse_to_atoms(W2, b2, t)  # and once more round to (y,g)
        inverse.append(max((W2 - W).abs().max().item(), (b2 - b).abs().max().item(),
                           (y2 - y).abs().max().item(), (g2 - g).abs().max().item()))
        rows.append(dict(part="inverse_map", setup="random", d=d, quantity="max_abs_err", value=inverse[-1]))
    ctx.add_rows(rows)
    worst = max(r["value"] for r in rows if r["part"] == "hopf_cole")
    ctx.claim("identity.hopf_cole.max_abs_err",
              f"max |f_ε + u_ε − |x|²/4t| over the paper setup and random layers d ≤ {max(p.random.dims)}, "
              f"u from atoms (y,g) by distances (float64; pass ≤ {ROUNDOFF:g})",
              "0 (exact identity)", worst, verdict="pass" if worst <= ROUNDOFF else "fail")
    ctx.claim("identity.inverse_map.max_abs_err", "(W,b) -> (y,g) -> (W,b) -> (y,g) round trip, max abs error",
              "0", max(inverse), verdict="pass" if max(inverse) <= ROUNDOFF else "fail")


def pde_residual(x, tt, y, g, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Autograd residual of u_t + |∇u|² − εΔu for the prefactor-normalised solution
    u + (εd/2) log(4πεt), and the scale |u_t| + |∇u|² + ε|Δu| it is a difference of.  [n]."""
    d = x.shape[-1]
    x = x.clone().requires_grad_(True)
    tt = tt.clone().requires_grad_(True)
    u = L.hopf_cole(x[:, None, :], y[None], g[None], eps, tt)[:, 0]  # one member per point: own t
    u = u + 0.5 * eps * d * torch.log(4 * math.pi * eps * tt)
    u_t, grad = torch.autograd.grad(u.sum(), (tt, x), create_graph=True)
    lap = sum(torch.autograd.grad(grad[:, i].sum(), x, retain_graph=True)[0][:, i] for i in range(d))
    res = u_t + (grad * grad).sum(-1) - eps * lap
    return res.detach(), (u_t.abs() + (grad * grad).sum(-1) + eps * lap.abs()).detach()


def check_pde(ctx: RunContext, p) -> None:
    gen, rows, worst_rel = ctx.generator(2), [], 0.0
    kw = dict(generator=gen, dtype=ctx.dtype, device=ctx.device)
    for d in p.pde.dims:
        y = torch.randn(p.pde.n_atoms, d, **kw)
        g = torch.rand(p.pde.n_atoms, **kw)
        x = 1.5 * torch.randn(p.pde.n_points, d, **kw)
        lo, hi = p.pde.t_range
        tt = lo + (hi - lo) * torch.rand(p.pde.n_points, **kw)
        for eps in p.pde.eps:
            res, scale = pde_residual(x, tt, y, g, eps)
            rel = (res.abs() / scale).max().item()
            worst_rel = max(worst_rel, rel)
            rows += [dict(part="pde_residual", d=d, eps=eps, quantity="max_abs", value=res.abs().max().item()),
                     dict(part="pde_residual", d=d, eps=eps, quantity="max_rel", value=rel)]
    ctx.add_rows(rows)
    worst = max(r["value"] for r in rows if r["quantity"] == "max_abs")
    ctx.claim("identity.pde_residual.max_abs",
              f"max |u_t + |∇u|² − εΔu| of u_ε + (εd/2)log(4πεt), autograd, d ∈ {list(p.pde.dims)}; "
              f"relative to |u_t|+|∇u|²+ε|Δu| it is {worst_rel:.2g} (pass: relative ≤ {ROUNDOFF:g})",
              "0", worst, verdict="pass" if worst_rel <= ROUNDOFF else "fail")


def check_tropical(ctx: RunContext, p) -> None:
    q, rows = p.tropical, []
    eps = ctx.tensor(list(q.eps))
    E = len(eps)
    z = torch.linspace(-3, 3, 601, dtype=ctx.dtype, device=ctx.device)  # contains z = 0, the worst case
    pair = torch.stack([z, torch.zeros_like(z)], -1).expand(E, -1, -1)  # softplus_ε(z) = LSE_ε(z, 0)
    sp_gap = L.lse(pair, eps) - z.clamp_min(0)  # [E, 601]
    zr = 2 * torch.randn(256, q.lse_neurons, generator=ctx.generator(3), dtype=ctx.dtype, device=ctx.device)
    lse_gap = L.lse(zr.expand(E, -1, -1), eps) - zr.amax(-1)  # [E, 256]
    # 2-layer nets: the sup of the gap sits on the kinks, which a grid coarser than ε misses;
    # evaluate on the authors' grid plus the kinks and keep both.
    W1, b1, w2 = (ctx.tensor(list(v)) for v in (q.W1, q.b1, q.w2))
    grid = torch.linspace(*q.x_range, q.n_points, dtype=ctx.dtype, device=ctx.device)
    x = torch.cat([grid, -b1 / W1])
    h = x[:, None] * W1 + b1  # [n, 3]
    relu_net = h.clamp_min(0) @ w2
    sp_net = torch.stack([h, torch.zeros_like(h)], -1).expand(E, -1, -1, -1)
    sp_net = (eps[:, None, None] * torch.logsumexp(sp_net / eps[:, None, None, None], -1)) @ w2  # [E, n]
    net_gap = (sp_net - relu_net).abs()
    logN = math.log(q.lse_neurons)
    for i, e in enumerate(eps.tolist()):
        rows += [dict(part="softplus_gap", eps=e, quantity="max", value=sp_gap[i].max().item()),
                 dict(part="softplus_gap", eps=e, quantity="min", value=sp_gap[i].min().item()),
                 dict(part="lse_max_gap", eps=e, quantity="max", value=lse_gap[i].max().item()),
                 dict(part="lse_max_gap", eps=e, quantity="min", value=lse_gap[i].min().item()),
                 dict(part="two_layer_gap", eps=e, quantity="sup_with_kinks", value=net_gap[i].max().item()),
                 dict(part="two_layer_gap", eps=e, quantity="sup_grid_only", value=net_gap[i, : q.n_points].max().item())]
    ratio_sp = (sp_gap.amax(-1) / (eps * math.log(2))).max().item()
    ok_sp = ratio_sp <= 1 + ROUNDOFF and sp_gap.min().item() >= -ROUNDOFF
    ctx.claim("identity.softplus_gap.max_over_eps_ln2", "max_ε max_z (softplus_ε − ReLU)/(ε ln 2); gap never negative",
              "≤ 1 (= 1 at z = 0)", ratio_sp, verdict="pass" if ok_sp else "fail")
    ratio_lse = (lse_gap.amax(-1) / (eps * logN)).max().item()
    ok_lse = ratio_lse <= 1 + ROUNDOFF and lse_gap.min().item() >= -ROUNDOFF
    ctx.claim("identity.lse_max_gap.within_eps_logN", f"max_ε max (LSE_ε − max)/(ε log N), N = {q.lse_neurons}; gap ≥ 0",
              "in [0, 1]", ratio_lse, verdict="pass" if ok_lse else "fail")
    keep = eps <= q.fit_below
    fit = fitting.power_law(eps[keep].cpu(), net_gap.amax(-1)[keep].cpu())
    ok = abs(fit.slope - 1) <= 0.01
    ctx.claim("identity.two_layer_relu.slope_in_eps",
              f"log–log slope of sup|softplus net − ReLU net| vs ε on ε ≤ {q.fit_below} (sup over grid + kinks); "
              "pass when |slope − 1| ≤ 0.01", 1.0, fit.slope, ci_low=fit.ci_low, ci_high=fit.ci_high,
              verdict="pass" if ok else "fail")
    # ReLU is the two-atom Hopf–Lax solution: max(x,0) = x²/4t − u_0 with y = {0, 2t}, g = {0, −t}.
    t = p.t
    xs = grid[:, None]
    y = ctx.tensor([[0.0], [2 * t]])[None]
    g = ctx.tensor([0.0, -t])[None]
    u0 = L.hopf_lax(xs, y, g, t)[0]
    relu_err = (xs[:, 0].clamp_min(0) - (_half_sq(xs, t) - u0)).abs().max().item()
    authors = (u0 - xs[:, 0].clamp_min(0)).abs().max().item()
    rows += [dict(part="relu_two_atoms", quantity="max_abs_err", value=relu_err),
             dict(part="relu_two_atoms", quantity="authors_u0_vs_relu", value=authors)]
    ctx.add_rows(rows)
    ctx.claim("identity.relu_two_atoms.max_abs_err",
              f"max |max(x,0) − (x²/4t − u_0(x))|, atoms y = (0, 2t), g = (0, −t) on {list(q.x_range)} "
              f"(the authors compare u_0 with ReLU directly: off by {authors:.3g})",
              "0", relu_err, verdict="pass" if relu_err <= ROUNDOFF else "fail")


def check_semigroups(ctx: RunContext, p) -> None:
    t, s, q, rows = p.t, p.semigroup.s, p.semigroup, []
    y = ctx.tensor(list(p.paper.y))[:, None]
    g = ctx.tensor(list(p.paper.g))
    x = torch.linspace(*p.paper.x_range, q.n_eval, dtype=ctx.dtype, device=ctx.device)[:, None]
    exact = L.hopf_lax(x, y, g, t + s)  # [n]
    lo, hi = q.z_range
    hl_ok = True
    for G in q.grid_sizes:
        z = torch.linspace(lo, hi, G, dtype=ctx.dtype, device=ctx.device)
        h = (hi - lo) / (G - 1)
        v = L.hopf_lax(z[:, None], y, g, t)  # u_0(z, t)  [G]
        stepped = (v + (x - z) ** 2 / (4 * s)).amin(-1)  # HL_s on the grid  [n]
        err = stepped - exact  # ≥ 0: a grid minimum never undercuts the true infimum
        # The minimiser is the vertex of one quadratic of curvature 1/2t + 1/2s, so the
        # nearest grid point (|δ| ≤ h/2) costs at most h²(1/t + 1/s)/16.
        bound = h * h * (1 / t + 1 / s) / 16
        hl_ok &= err.min().item() >= -ROUNDOFF and err.max().item() <= bound + ROUNDOFF
        rows += [dict(part="hopf_lax_semigroup", grid=G, h=h, quantity="max_abs_err", value=err.abs().max().item()),
                 dict(part="hopf_lax_semigroup", grid=G, h=h, quantity="bound", value=bound)]
    for G in q.viscous_grid_sizes:
        z = torch.linspace(lo, hi, G, dtype=ctx.dtype, device=ctx.device)
        h = (hi - lo) / (G - 1)
        w = torch.full_like(z, h)
        w[0] = w[-1] = h / 2  # trapezoid weights
        for eps in q.eps_viscous:
            # Prefactor-normalised u solves the clean equation, so u(·,t+s) = −ε log(K_s * e^{−u(·,t)/ε}).
            def clean(pts, tau, eps=eps):
                return L.hopf_cole(pts, y[None], g[None], eps, tau)[0] + 0.5 * eps * math.log(4 * math.pi * eps * tau)
            log_k = -(x - z) ** 2 / (4 * eps * s) - 0.5 * math.log(4 * math.pi * eps * s)  # [n, G]
            stepped = -eps * torch.logsumexp(torch.log(w) + log_k - clean(z[:, None], t) / eps, -1)
            err = (stepped - clean(x, t + s)).abs().max().item()
            rows.append(dict(part="viscous_semigroup", grid=G, h=h, eps=eps, quantity="max_abs_err", value=err))
    ctx.add_rows(rows)
    finest = [r["value"] for r in rows if r["part"] == "hopf_lax_semigroup" and r["quantity"] == "max_abs_err"][-1]
    ctx.claim("identity.hopf_lax_semigroup.max_abs_err",
              f"u_0(·,t+s) vs min over a z grid of u_0(z,t) + |x−z|²/4s at the finest grid "
              f"(t={t}, s={s}); pass when 0 ≤ err ≤ h²(1/t+1/s)/16 on every grid",
              "0 (grid-limited)", finest, verdict="pass" if hl_ok else "fail")
    visc = pd.DataFrame([r for r in rows if r["part"] == "viscous_semigroup"])
    decreasing, finals = True, []
    for _, curve in visc.groupby("eps"):
        e = curve.sort_values("grid")["value"].to_numpy()
        decreasing &= bool(all(b <= max(a, 1e-13) for a, b in zip(e, e[1:])) and e[-1] < e[0] and e[-1] <= 1e-10)
        finals.append(e[-1])
    ctx.claim("identity.viscous_semigroup.err_decreases",
              f"heat-kernel (trapezoid) step of u_ε vs closed form u_ε(·,t+s), ε ∈ {list(q.eps_viscous)}: "
              "error non-increasing in the grid and ≤ 1e-10 at the finest; measured = worst final error",
              "→ 0 with the grid", max(finals), verdict="pass" if decreasing else "fail")


def run(ctx: RunContext) -> None:
    p = ctx.params
    with ctx.progress("identity checks", 4) as advance:
        for check in (check_identity, check_pde, check_tropical, check_semigroups):
            check(ctx, p)
            advance(1)


def plot(run_dir: Path) -> None:
    from hjexp import plotting

    df = pd.read_csv(run_dir / "results.csv")
    floor = 1e-17  # exact zeros drawn at the floor of a log axis
    fig, axes = plotting.figure(2)
    ax1, ax2 = axes[0]
    hc = df[(df.part == "hopf_cole")]
    for (setup, d), c in hc.groupby(["setup", "d"]):
        ax1.plot(c.eps, c.value.clip(lower=floor), "o-", ms=3, label=f"{setup}, d={int(d)}")
    ax1.axhline(ROUNDOFF, ls="--", c="k", lw=0.8, label="pass threshold")
    ax1.set(xscale="log", yscale="log", xlabel="ε", ylabel="max |f_ε + u_ε − |x|²/4t|",
            title="Hopf–Cole identity (float64)")
    ax1.legend(ncol=2)
    pde = df[(df.part == "pde_residual") & (df.quantity == "max_rel")]
    for d, c in pde.groupby("d"):
        ax2.plot(c.eps, c.value.clip(lower=floor), "s-", ms=3, label=f"d={int(d)}")
    ax2.set(xscale="log", yscale="log", xlabel="ε", ylabel="max |residual| / (|u_t|+|∇u|²+ε|Δu|)",
            title="PDE residual by autograd")
    ax2.legend()
    plotting.save(fig, run_dir, "identity_error_vs_eps")

    fig, axes = plotting.figure(2)
    ax1, ax2 = axes[0]
    for part, label in (("softplus_gap", "softplus_ε − ReLU"), ("lse_max_gap", "LSE_ε − max")):
        c = df[(df.part == part) & (df.quantity == "max")]
        ax1.plot(c.eps, c.value, "o-", ms=3, label=f"sup {label}")
    e = df[df.part == "softplus_gap"].eps.drop_duplicates().sort_values()
    ax1.plot(e, e * math.log(2), "k--", lw=0.8, label="ε ln 2")
    ax1.set(xscale="log", yscale="log", xlabel="ε", ylabel="gap", title="Tropical limit: gaps vs ε")
    ax1.legend()
    for q, style in (("sup_with_kinks", "o-"), ("sup_grid_only", "x:")):
        c = df[(df.part == "two_layer_gap") & (df.quantity == q)]
        ax2.plot(c.eps, c.value, style, ms=4, label=q.replace("_", " "))
    ax2.plot(e, e * 0.5 * math.log(2) * 2, "k--", lw=0.8, label="ε·ln2·Σ w₂ at the double kink")
    ax2.set(xscale="log", yscale="log", xlabel="ε", ylabel="sup |softplus net − ReLU net|",
            title="2-layer nets: linear in ε")
    ax2.legend()
    plotting.save(fig, run_dir, "tropical_gaps_vs_eps")

    fig, axes = plotting.figure(1)
    ax = axes[0][0]
    hl = df[df.part == "hopf_lax_semigroup"]
    ax.plot(hl[hl.quantity == "max_abs_err"].h, hl[hl.quantity == "max_abs_err"].value.clip(lower=floor), "o-", label="Hopf–Lax (ε = 0)")
    ax.plot(hl[hl.quantity == "bound"].h, hl[hl.quantity == "bound"].value, "k--", lw=0.8, label="bound h²(1/t+1/s)/16")
    for eps, c in df[df.part == "viscous_semigroup"].groupby("eps"):
        ax.plot(c.h, c.value.clip(lower=floor), "s-", ms=3, label=f"viscous, ε={eps}")
    ax.set(xscale="log", yscale="log", xlabel="grid spacing h", ylabel="max |error|", title="Semigroup steps vs grid")
    ax.legend()
    plotting.save(fig, run_dir, "semigroup_error_vs_grid")
