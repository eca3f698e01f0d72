"""phase-diagram, plot: entropy curves and attribution bars; maps and the animation in plot_maps.py.
Everything is drawn from the run's CSVs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hjexp import plotting

from .contract import Q, Query
from .plot_maps import plot_animation, plot_maps

QUERY_STYLE = {Query.ATOM: ("C2", "atom (class 0)"), Query.CLASS0: ("C0", "class-0 centre"),
               Query.BOUNDARY: ("C3", "boundary (midpoint)"), Query.CLASS1: ("C1", "class-1 centre")}
TOP_BARS = 30  # a bar per atom is unreadable for N = 2000: the largest weights only


def _scales(results: pd.DataFrame, name: str) -> dict[str, float]:
    """Geometric means over seeds of ε_×, ε_nn; ε* and N."""
    part = results[results.set == name]
    v = {q: g.value.to_numpy() for q, g in part.groupby("quantity")}

    def gm(a):
        return float(np.exp(np.nanmean(np.log(a)))) if np.isfinite(a).any() else np.nan

    return dict(cross=gm(v[Q.EPS_CROSS]), nn=gm(v[Q.EPS_NN]), star=float(v[Q.EPS_STAR][0]), n=int(v[Q.N_ATOMS][0]))


def plot_curves(run_dir: Path, curves: pd.DataFrame, results: pd.DataFrame) -> None:
    names = list(dict.fromkeys(curves.set))
    fig, axes = plotting.figure(len(names), width=4.8, height=5.0)
    for ax, name in zip(axes[0], names):
        sc = _scales(results, name)
        log_n = np.log(sc["n"])
        part = curves[curves.set == name]
        for query, (colour, label) in QUERY_STYLE.items():
            by_eps = part[part['query'] == query].groupby("eps").H
            med, lo, hi = (by_eps.median() / log_n, by_eps.quantile(0.1) / log_n, by_eps.quantile(0.9) / log_n)
            ax.plot(med.index, med.values, color=colour, label=label)
            ax.fill_between(med.index, lo.values, hi.values, color=colour, alpha=0.15, lw=0)
        ax.axhline(0.5, color="k", lw=0.6, ls=":")
        ax.axvline(sc["star"], color="k", ls="--", lw=0.9, label=f"ε* = N^(−1/d) = {sc['star']:.3g}")
        ax.axvline(sc["nn"], color="0.5", ls="-.", lw=0.9, label=f"ε_nn = ⟨nn dist²⟩/4t = {sc['nn']:.3g}")
        if np.isfinite(sc["cross"]):
            ax.plot([sc["cross"]], [0.5], "kv", ms=7, label=f"ε_× (boundary, ½ log N) = {sc['cross']:.3g}")
        ax.set(xscale="log", xlabel="ε", ylabel="H(π) / log N", ylim=(-0.02, 1.05))
        ax.set_title(f"{name}, N = {sc['n']} (median, 10–90% band over seeds)", pad=14, fontsize=9)
        top = ax.secondary_xaxis("top", functions=(lambda e, s=sc["nn"]: e / s, lambda r, s=sc["nn"]: r * s))
        top.set_xlabel("ε / ε_nn (data-scale units)", fontsize=8)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, fontsize=7)
    plotting.save(fig, run_dir, "entropy_vs_eps")


def _short(name: str) -> str:
    return name.replace("digit ", "").replace("cluster ", "")


def plot_bars(run_dir: Path, bars: pd.DataFrame, queries: pd.DataFrame) -> None:
    names = list(dict.fromkeys(bars.set))
    n_eps = bars.groupby("set").eps_label.nunique().max()
    fig, axes = plotting.figure(n_eps, len(names), width=3.6, height=2.9)
    for row, name in zip(axes, names):
        part = bars[bars.set == name]
        classes = queries[queries.set == name].classes.iloc[0].split("|")
        for ax, (eps, grp) in zip(row, part.groupby("eps")):
            grp = grp.sort_values("pi", ascending=False)
            shown = grp.head(TOP_BARS)
            colours = [f"C{int(c) % 10}" for c in shown.cls]
            ax.bar(np.arange(len(shown)), shown.pi, color=colours)
            pi = grp.pi.to_numpy()
            H = float(-(pi[pi > 0] * np.log(pi[pi > 0])).sum())
            mass = grp.groupby("cls").pi.sum()
            lead = mass.sort_values(ascending=False).head(2)
            probs = ", ".join(f"p({_short(classes[int(c)])}) = {m:.2f}" for c, m in lead.items())
            label = grp.eps_label.iloc[0]
            shown_eps = label if label == f"{eps:g}" else f"{label} = {eps:.3g}"
            ax.set(title=f"{name}, ε = {shown_eps}\nH/log N = {H / np.log(len(grp)):.2f}; {probs}",
                   xlabel=f"atoms by weight (top {len(shown)} of {len(grp)})",
                   ylabel="π_j at the boundary query", ylim=(0, 1.15 * float(shown.pi.max())))
            ax.title.set_fontsize(8)
        handles = [plotting.plt.Rectangle((0, 0), 1, 1, color=f"C{i % 10}") for i in range(len(classes))]
        row[-1].legend(handles, [_short(c) for c in classes], loc="upper left", bbox_to_anchor=(1.01, 1.0),
                       fontsize=6, title="class", title_fontsize=7)
    plotting.save(fig, run_dir, "attribution_bars")


def plot(run_dir: Path) -> None:
    run_dir = Path(run_dir)
    if not (run_dir / "curves.csv").exists():  # every set was skipped (no data installed): nothing to draw
        fig, axes = plotting.figure(1)
        axes[0][0].text(0.5, 0.5, "every set was skipped (data not installed)", ha="center")
        axes[0][0].set_axis_off()
        plotting.save(fig, run_dir, "entropy_vs_eps")
        return
    results = pd.read_csv(run_dir / "results.csv")
    queries = pd.read_csv(run_dir / "queries.csv")
    plot_curves(run_dir, pd.read_csv(run_dir / "curves.csv"), results)
    plot_bars(run_dir, pd.read_csv(run_dir / "attribution.csv"), queries)
    atoms = pd.read_csv(run_dir / "atoms.csv")
    plot_maps(run_dir, pd.read_csv(run_dir / "maps.csv"), atoms, queries)
    plot_animation(run_dir, pd.read_csv(run_dir / "frames.csv"), atoms, queries)
