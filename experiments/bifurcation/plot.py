"""bifurcation, plot: bifurcation diagram, counts vs ε, entropy maps, animation. CSVs only."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from hjexp import plotting

from .contract import Counted, Method, Type, dims
from .maps import animate, entropy_maps

COLOURS = {Type.MIN: "C0", Type.SADDLE: "C2", Type.MAX: "C3", Type.DEGENERATE: "0.5"}


def plot(run_dir: Path) -> None:
    p = OmegaConf.load(run_dir / "config.yaml").params
    branches = pd.read_csv(run_dir / "branches.csv")
    folds = pd.read_csv(run_dir / "folds.csv")
    atoms = pd.read_csv(run_dir / "atoms.csv")
    counts = pd.read_csv(run_dir / "results.csv")
    points = pd.read_csv(run_dir / "critical_points.csv")
    sets = list(p.sets)

    fig, axes = plotting.figure(len(sets), width=5.0, height=3.8)
    for ax, name in zip(axes[0], sets):
        b = branches[branches.set == name]
        for kind, c in COLOURS.items():
            s = b[b.type == kind]
            if len(s):
                ax.scatter(s.eps, s.H, s=3, c=c, label=kind, rasterized=True)
        f = folds[folds.set == name]
        ax.scatter(f.eps_fold, f.H, marker="x", s=40, c="k", lw=1.2, label=f"fold ({len(f)})", zorder=3)
        a = atoms[atoms.set == name]
        d = dims(a)
        star = len(a) ** (-1.0 / d)
        ax.axvline(star, ls="--", c="0.4", lw=0.8, label=f"ε* = N^(−1/d) = {star:.3g}")
        ax.set(xscale="log", xlabel="ε", ylabel="H at critical points (nats)",
               title=f"{name} (N = {len(a)}, d = {d})")
        ax.legend(loc="lower right", markerscale=2)  # large ε, small H: empty in every set
    plotting.save(fig, run_dir, "bifurcation_diagram")

    fig, axes = plotting.figure(len(sets), width=5.0, height=3.8)
    for ax, name in zip(axes[0], sets):
        c = counts[(counts.set == name)]
        for method, style in ((Method.UNION, "k-"), (Method.CONTINUATION, "C1--"), (Method.MULTISTART, "C4:")):
            s = c[(c.method == method) & (c.type == Counted.ALL)].sort_values("eps")
            ax.step(s.eps, s["count"], style, where="mid", lw=1.4, label=f"all, {method}")
        for kind in (Counted.MIN, Counted.SADDLE, Counted.MAX):
            s = c[(c.method == Method.UNION) & (c.type == kind)].sort_values("eps")
            if s["count"].any():
                ax.step(s.eps, s["count"], where="mid", c=COLOURS[kind], lw=0.8, alpha=0.8, label=f"{kind}, union")
        ax.set(xscale="log", xlabel="ε", ylabel="number of critical points", title=name)
        ax.legend(loc="upper right")
    plotting.save(fig, run_dir, "critical_point_counts")

    for name in sets:
        entropy_maps(run_dir, name, atoms[atoms.set == name], points[points.set == name], list(p.map_eps), COLOURS)
        animate(run_dir, name, atoms[atoms.set == name], points[points.set == name], int(p.n_frames), COLOURS)
