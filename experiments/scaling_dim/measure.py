"""scaling-dim — trained LSE layers: test RMSE ∝ N^(−α), α = 1/d_eff? (THEORY.md §4.2)

Two setups, each one batched tensor program per dimension (all widths × seeds × ε
trained together by the closed-form trainer, widths masked to the largest N):

- ``authors``: target ‖x‖₂ on U(−2, 2)^d, ε = N^(−1/d) as in the paper, and beside it ε fixed
  small, because with ε tied to N the smoothing error alone (≤ ε log N) is O(N^(−1/d)):
  α = 1/d could come from the prescription rather than from width.
- ``manifold``: data on a d_int-manifold in R^D (linear and curved embeddings), target
  ‖x − x₀‖₂ (x₀ = image of z = 0): convex in x, so inside the closure of the LSE class, and
  a Lipschitz function of the intrinsic coordinates with a cone kink at z = 0. ε tied to N
  (c·N^(−1/d_int)) or chosen per (width, seed) on a validation split. d_eff = 1/α̂ is set
  beside a TwoNN estimate of the same data.

Model: the LSE form f = ε·LSE(Wx + b) (network side), init W ~ N(0,1)·0.5/√D, b ~ 0.3·N(0,1).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import pandas as pd
import torch

from hjexp import ensemble as ens
from hjexp.context import RunContext
from hjexp.data.manifolds import EMBEDDINGS, manifold_sample, uniform_box
from hjexp.errors import UserError
from hjexp.fast import predict_fast, train_adam_fast
from hjexp.intrinsic_dim import levina_bickel, twonn

from ._scaling_report import alpha_claims, plot_all

CLAIM = "test RMSE of a trained width-N LSE layer ∝ N^(−1/d_eff), d_eff the intrinsic dimension of the data"
COST = "10 s / 2 min / ≈ 1 h (estimated; the authors ε-tied part alone: 11.4 min measured on a quiet 2-core CPU)"
EPS_MODES = ("tied", "fixed", "validation")


def validate(p) -> None:
    for part in ("authors", "manifold"):
        q = p[part]
        bad = [m for m in q.eps_modes if m not in EPS_MODES]
        if bad:
            raise UserError(f"params.{part}.eps_modes: unknown {bad}; choose from {list(EPS_MODES)}")
    bad = [e for e in p.manifold.embeddings if e not in EMBEDDINGS]
    if bad:
        raise UserError(f"params.manifold.embeddings: unknown {bad}; choose from {list(EMBEDDINGS)}")
    if 2 * max(p.manifold.d_int) > p.manifold.D:
        raise UserError(f"params.manifold.D={p.manifold.D} is too small: the curved embedding needs D ≥ 2·d_int")
    for d in p.authors.dims:
        if str(d) not in p.authors.widths:
            raise UserError(f"params.authors.widths has no list for d={d}")


def members(widths, seeds: int, modes, d: int, q) -> pd.DataFrame:
    """One row per ensemble member: width, seed, ε mode and ε value."""
    rows = []
    for mode in modes:
        for N in widths:
            if mode == "tied":
                eps_list = [q.eps_c * N ** (-1 / d)]
            elif mode == "fixed":
                eps_list = [q.eps_fixed]
            else:
                eps_list = list(q.eps_grid)
            for eps in eps_list:
                for s in range(seeds):
                    rows.append(dict(eps_mode=mode, width=N, seed=s, eps=eps))
    return pd.DataFrame(rows)


def train_members(ctx: RunContext, tab: pd.DataFrame, x_tr, y_tr, evals: dict, q, label: str, gen_off: int):
    """Train every member of ``tab`` at once; adds an RMSE column per evaluation split."""
    E, N, D = len(tab), int(tab.width.max()), x_tr.shape[-1]
    widths = torch.tensor(tab.width.to_numpy(), device=ctx.device)
    mask = torch.arange(N, device=ctx.device)[None, :] < widths[:, None]  # [E, N]
    eps = ctx.tensor(tab.eps.to_numpy().copy())
    # one init per (seed, width): members differing only in ε start from the same weights
    gen = ctx.generator(gen_off)
    W0 = torch.randn(max(tab.seed) + 1, N, D, generator=gen, dtype=ctx.dtype, device=ctx.device)
    b0 = torch.randn(max(tab.seed) + 1, N, generator=gen, dtype=ctx.dtype, device=ctx.device)
    seed_idx = torch.tensor(tab.seed.to_numpy(), device=ctx.device)
    model = ens.Ensemble("lse", {"W": (q.w_scale / math.sqrt(D)) * W0[seed_idx], "b": q.b_scale * b0[seed_idx]},
                         eps, neuron_mask=mask)
    el = int(tab.width.sum()) * x_tr.shape[0] * q.steps
    with ctx.progress(f"{label}: {E} members, {el:.2g} element-steps", q.steps) as advance:
        t0 = time.perf_counter()
        train_loss = train_adam_fast(model, x_tr, y_tr, steps=q.steps, lr=q.lr, progress=advance)
        dt = time.perf_counter() - t0
    ctx.log(f"{label}: {el:.3g} element-steps in {dt:.1f} s = {dt / el * 1e9:.2f} ns/element-step")
    tab = tab.copy()
    tab["train_rmse"] = train_loss.sqrt().cpu().numpy()
    for name, (x, y) in evals.items():
        pred = predict_fast(model, x)  # [E, n]
        tab[f"{name}_rmse"] = ((pred - y) ** 2).mean(-1).sqrt().cpu().numpy()
    tab["element_steps"] = el
    return tab


def pick_validation(tab: pd.DataFrame) -> pd.DataFrame:
    """Validation members: keep, per (width, seed), the ε with the lowest validation RMSE."""
    v = tab[tab.eps_mode == "validation"]
    if v.empty:
        return tab
    best = v.loc[v.groupby(["width", "seed"]).val_rmse.idxmin()].assign(eps_mode="validation")
    return pd.concat([tab[tab.eps_mode != "validation"].assign(selected=True), best.assign(selected=True),
                      v.assign(eps_mode="validation_grid", selected=False)], ignore_index=True)


def run_authors(ctx: RunContext, q) -> None:
    tables = []  # mean ± sd over seeds, and (labelled) the authors' best-of-seeds on test data
    for d in q.dims:
        gen = ctx.generator(10 + d)
        x = uniform_box(q.n_train + q.n_test, d, -2.0, 2.0, gen, dtype=ctx.dtype, device=ctx.device)
        y = x.norm(dim=-1)
        x_tr, y_tr, x_te, y_te = x[: q.n_train], y[: q.n_train], x[q.n_train:], y[q.n_train:]
        tab = members(list(q.widths[str(d)]), q.seeds, q.eps_modes, d, q)
        splits = {"test": (x_te, y_te)}
        if "validation" in q.eps_modes:
            splits["val"] = (x_tr[: q.n_test], y_tr[: q.n_test])  # authors' setup has no split: reuse train rows
        tab = train_members(ctx, tab, x_tr, y_tr, splits, q, f"authors d={d}", 20 + d)
        tab = pick_validation(tab) if "validation" in q.eps_modes else tab.assign(selected=True)
        ctx.add_rows(tab, setup="authors", d=d, embedding="box", D=d)
        agg = tab[tab.selected].groupby(["eps_mode", "width"]).test_rmse
        tables.append(pd.DataFrame({"test_rmse_mean": agg.mean(), "test_rmse_sd": agg.std(),
                                    "test_rmse_best_of_seeds_test_selected": agg.min()}).reset_index().assign(d=d))
    ctx.save_table("authors_table", pd.concat(tables, ignore_index=True))


def run_manifold(ctx: RunContext, q) -> None:
    dims_rows = []
    for k, kind in enumerate(q.embeddings):
        for d in q.d_int:
            gen = ctx.generator(100 + 10 * k + d)
            n_all = q.n_train + q.n_val + q.n_test
            z, x, x0 = manifold_sample(n_all, d, q.D, kind, gen, half_width=q.half_width, radius=q.radius,
                                       dtype=ctx.dtype, device=ctx.device)
            y = (x - x0).norm(dim=-1)  # convex in x; Lipschitz in z with a cone kink at z = 0
            a, b = q.n_train, q.n_train + q.n_val
            tab = members(list(q.widths), q.seeds, q.eps_modes, d, q)
            tab = train_members(ctx, tab, x[:a], y[:a], {"val": (x[a:b], y[a:b]), "test": (x[b:], y[b:])},
                                q, f"manifold {kind} d_int={d}", 200 + 10 * k + d)
            tab = pick_validation(tab) if "validation" in q.eps_modes else tab.assign(selected=True)
            ctx.add_rows(tab, setup="manifold", d=d, embedding=kind, D=q.D)
            dims_rows.append(dict(embedding=kind, d_int=d, D=q.D, twonn=twonn(x[:a]),
                                  twonn_discard10=twonn(x[:a], 0.1), levina_bickel=levina_bickel(x[:a], q.lb_k)))
    ctx.save_table("intrinsic_dim", pd.DataFrame(dims_rows))


def run(ctx: RunContext) -> None:
    p = ctx.params
    if p.authors.enabled:
        run_authors(ctx, p.authors)
    if p.manifold.enabled:
        run_manifold(ctx, p.manifold)
    res = pd.DataFrame(ctx.rows)
    dims = pd.DataFrame() if not p.manifold.enabled else pd.read_csv(ctx.run_dir / "intrinsic_dim.csv")
    for c in alpha_claims(res, dims, p):
        ctx.claim(**c)


def plot(run_dir: Path) -> None:
    res = pd.read_csv(run_dir / "results.csv")
    path = run_dir / "intrinsic_dim.csv"
    plot_all(run_dir, res, pd.read_csv(path) if path.exists() else pd.DataFrame())
