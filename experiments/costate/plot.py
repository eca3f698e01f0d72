"""costate, plot: figures drawn from results.csv and costate_curves.csv only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import NullFormatter, NullLocator

from hjexp import plotting

from .contract import Part, Q, Source


def plot(run_dir: Path) -> None:
    df = pd.read_csv(run_dir / "results.csv")
    curves = pd.read_csv(run_dir / "costate_curves.csv")
    fig, axes = plotting.figure(2)
    ax1, ax2 = axes[0]
    conv = df[df.part == Part.CONVERGENCE]
    for q, style, label in ((Q.MAX_REL_ERR, "o-", "sup_k |p_k − p(t_k)| / sup|p|"),
                            (Q.P0_REL_ERR, "s--", "|p_0 − p(0)| / sup|p|")):
        c = conv[conv.quantity == q].sort_values("h")
        ax1.plot(c.h, c.value, style, ms=4, label=label)
    c = conv[conv.quantity == Q.MAX_REL_ERR].sort_values("h")
    h = c.h.to_numpy()
    ax1.plot(h, c.value.iloc[-1] * h / h[-1], "k:", lw=0.9, label="slope 1 (order h)")
    ref = df[(df.part == Part.REFERENCE) & (df.quantity == Q.REL_DIFF_HALF_STEPS)].value.iloc[0]
    ax1.axhline(max(ref, 1e-17), c="grey", lw=0.8, ls="--", label="reference self-difference")
    ax1.set(xscale="log", yscale="log", xlabel="step h = T/K", ylabel="relative co-state error",
            title="Discrete co-state → adjoint ODE")
    ax1.xaxis.set_minor_formatter(NullFormatter())
    ax1.legend(fontsize=7)
    disc = df[df.part == Part.DISCRETE]
    worst = disc.groupby("K").value.max()
    ax2.plot(worst.index, worst.clip(lower=1e-18), "o-", label="hand co-state vs autograd (worst relative)")
    ax2.axhline(1e-12, c="k", ls="--", lw=0.8, label="pass threshold")
    ax2.set(xscale="log", yscale="log", xlabel="depth K", ylabel="max relative difference",
            title="Backprop = discrete co-state (float64)")
    ax2.set_xticks(list(worst.index), [str(int(k)) for k in worst.index])
    ax2.xaxis.set_minor_locator(NullLocator())
    ax2.legend(fontsize=7)
    plotting.save(fig, run_dir, "costate_errors")

    fig, axes = plotting.figure(1)
    ax = axes[0][0]
    r = curves[curves.source == Source.REFERENCE]
    ax.plot(r.t, r.p, "k-", lw=1.5, label="adjoint ODE (RK4)")
    depths = sorted(curves[curves.source == Source.DISCRETE].K.unique())
    for K in depths[: min(3, len(depths))]:
        c = curves[(curves.source == Source.DISCRETE) & (curves.K == K)]
        ax.plot(c.t, c.p, "o--", ms=3, lw=0.8, label=f"discrete co-state, K = {K}")
    ax.set(xlabel="time t (layer k at t = kT/K)", ylabel="co-state component p₁ (net 0, input 0)",
           title="Co-state along the depth")
    ax.legend(fontsize=7)
    ax.set_xlim(np.min(r.t), np.max(r.t))
    plotting.save(fig, run_dir, "costate_trajectory")
