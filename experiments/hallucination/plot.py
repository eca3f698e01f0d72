"""hallucination, plot: figures drawn from results.csv, bound_samples.csv and curvature_maps.csv only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hjexp import plotting

from .contract import Layers, Part, Q

FLOOR = 1e-12  # gaps below this drawn at the floor of the log axis


def _bound_figure(df: pd.DataFrame, samples: pd.DataFrame, run_dir: Path) -> None:
    fig, axes = plotting.figure(2, height=4.4)
    ax1, ax2 = axes[0]
    for (kind, marker), c in zip(((Layers.RANDOM, "."), (Layers.TRAINED, "x")), (samples[samples.layers == k] for k in (Layers.RANDOM, Layers.TRAINED))):
        ax1.scatter(c.delta_over_eps, c.gap_over_eps.clip(lower=FLOOR), s=6, marker=marker, alpha=0.4, rasterized=True,
                    label=f"{kind} layers (all ε)")
    s = np.linspace(0, 30, 400)  # beyond Δ/ε ≈ 28 the bound is below the 1e-12 floor
    for N in sorted(samples.N.unique()):
        ax1.plot(s, np.log1p((N - 1) * np.exp(-s)), "k-", lw=1, label=f"bound log(1 + (N−1)e^(−Δ/ε)), N = {N}")
    ax1.set(yscale="log", xlabel="top-two logit gap Δ/ε", ylabel="(f_ε − max_j z_j)/ε", ylim=(FLOOR / 3, 10),
            xlim=(0, s[-1]), title="Hallucination bound (points beyond Δ/ε = 30 not shown)")
    ax1.legend(fontsize=7, loc="upper right", markerscale=3)
    bound = df[df.part == Part.BOUND]
    for kind, style in ((Layers.RANDOM, "o-"), (Layers.TRAINED, "s--")):
        for q, label in ((Q.MEDIAN_RATIO, "median"), (Q.MAX_RATIO, "max")):
            c = bound[(bound.layers == kind) & (bound.quantity == q)].sort_values("eps")
            ax2.plot(c.eps, c.value, style, ms=3, alpha=1 if q == Q.MAX_RATIO else 0.6, label=f"{kind}: {label} gap/bound")
    N = int(bound.N.iloc[0])
    ax2.axhline(1 / (N - 1), c="grey", ls=":", lw=0.9, label=f"1/(N−1), N = {N}")
    ax2.axhline(1, c="k", ls="--", lw=0.8, label="equality")
    ax2.set(xscale="log", yscale="log", xlabel="ε", ylabel="gap / bound", title="Tightness of the bound")
    ax2.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=2)
    plotting.save(fig, run_dir, "hallucination_bound")


def _curvature_figure(df: pd.DataFrame, maps: pd.DataFrame, run_dir: Path) -> None:
    fig, axes = plotting.figure(3, width=4.4)
    ax1, ax2, ax3 = axes[0]
    curv = df[df.part == Part.CURVATURE]
    for q, style, label in ((Q.PEAK_ON_TIES, "o-", "on tie boundaries"), (Q.PEAK_ON_GRID, "x--", "grid maximum"),
                            (Q.TWO_NEURON_LIMIT, ":", "|w_i − w_j|²/(4ε) (two-neuron tie)")):
        c = curv[curv.quantity == q].groupby("eps").value.max()
        ax1.plot(c.index, c.values, style, ms=4, label=label)
    c = curv[curv.quantity == Q.PEAK_ON_TIES].groupby("eps").value.max()
    e = c.index.to_numpy()
    ax1.plot(e, c.values[0] * e[0] / e, "k-", lw=0.6, alpha=0.6, label="slope −1")
    ax1.set(xscale="log", yscale="log", xlabel="ε", ylabel="peak of Var_π(w)/ε (max over layers)",
            title="Curvature peak vs ε")
    ax1.legend(fontsize=7)
    ties = maps[maps.eps.isna()]
    for ax, e in zip((ax2, ax3), sorted(maps.eps.dropna().unique(), reverse=True)):
        m = maps[maps.eps == e]
        n = int(round(np.sqrt(len(m))))
        img = ax.imshow(np.log10(m.curvature.to_numpy().reshape(n, n).T.clip(min=1e-12)), origin="lower",
                        extent=(m.x1.min(), m.x1.max(), m.x2.min(), m.x2.max()), cmap="magma", vmin=-4)
        ax.scatter(ties.x1, ties.x2, s=0.3, c="cyan", alpha=0.3, label="tie points (top two equal)", rasterized=True)
        fig.colorbar(img, ax=ax, label="log₁₀ Var_π(w)/ε")
        ax.set(xlabel="x₁", ylabel="x₂", title=f"Curvature, random layer 0, ε = {e:g}")
        ax.legend(fontsize=7, loc="upper right", markerscale=10)
    plotting.save(fig, run_dir, "hallucination_curvature")


def _radius_figure(df: pd.DataFrame, run_dir: Path) -> None:
    fig, axes = plotting.figure(2)
    ax1, ax2 = axes[0]
    rad = df[df.part == Part.RADIUS]
    for kind, style in ((Layers.RANDOM, "o-"), (Layers.TRAINED, "s--")):
        c = rad[(rad.layers == kind) & (rad.quantity == Q.OUTSIDE_FRACTION)].sort_values("eps")
        ax1.plot(c.eps, c.value, style, ms=4, label=f"{kind} layers")
        for q, shade in ((Q.MAX_GAP_OUTSIDE, "outside"), (Q.MAX_GAP_INSIDE, "inside")):
            g = rad[(rad.layers == kind) & (rad.quantity == q)].sort_values("eps")
            ax2.plot(g.eps, g.value, style, ms=4, alpha=1 if shade == "outside" else 0.5, label=f"{kind}, {shade} √(2εt)")
    ax1.set(xscale="log", xlabel="ε", ylabel="fraction of the grid", ylim=(0, 1.02),
            title="Outside the diffusion radius √(2εt) of every atom")
    ax1.legend(fontsize=7)
    ax2.axhline(np.log(2), c="k", ls=":", lw=0.8, label="log 2 (two-neuron tie)")
    ax2.set(xscale="log", xlabel="ε", ylabel="max (f_ε − max_j z_j)/ε", title="Departure from the dominant plane", ylim=(0, None))
    ax2.legend(fontsize=7)
    plotting.save(fig, run_dir, "hallucination_radius")


def plot(run_dir: Path) -> None:
    df = pd.read_csv(run_dir / "results.csv")
    _bound_figure(df, pd.read_csv(run_dir / "bound_samples.csv"), run_dir)
    _curvature_figure(df, pd.read_csv(run_dir / "curvature_maps.csv"), run_dir)
    _radius_figure(df, run_dir)
