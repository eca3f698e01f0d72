"""recovery, plot: fits and recovered atoms over g*, per setup and ε; δ̄ vs ε. CSVs only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import NullLocator
from omegaconf import OmegaConf

from hjexp import plotting

from .contract import Kind, Q


def plot(run_dir: Path) -> None:
    p = OmegaConf.load(run_dir / "config.yaml").params
    fits = pd.read_csv(run_dir / "fits.csv")
    atoms = pd.read_csv(run_dir / "atoms.csv")
    per_atom = pd.read_csv(run_dir / "per_atom.csv")
    setups = list(p.setups)
    eps = sorted(p.eps, reverse=True)
    fig, axes = plotting.figure(len(eps), len(setups), width=4.2, height=3.4)
    ys = np.linspace(*p.atom_range, 200)
    for row, setup in enumerate(setups):
        for col, e in enumerate(eps):
            ax = axes[row][col]
            f = fits[(fits.setup == setup) & np.isclose(fits.eps, e)]
            ax.plot(f.x, f.u_target, "k-", lw=1.2, label="target u₀ (Hopf–Lax)")
            ax.plot(f.x, f.u_fit, "C1--", lw=1.2, label="fit u = |x|²/4t − f_ε")
            ax.plot(ys, np.abs(ys), c="0.6", lw=0.8, label="g*(y) = |y|")
            tru = per_atom[(per_atom.setup == setup) & np.isclose(per_atom.eps, e) & per_atom.selected]
            act = tru[tru.active]
            ax.plot(tru.y_true, tru.g_true, "kx", ms=6, label="true atoms (y*, g*)")
            ax.plot(act.y_true, act.g_true, "ks", ms=8, mfc="none", label="true atoms that win somewhere")
            a = atoms[(atoms.setup == setup) & np.isclose(atoms.eps, e) & atoms.selected & (atoms.kind == Kind.MERGED)]
            used = a.usage >= p.min_usage
            ax.scatter(a.y[used], a.g[used], s=20 + 300 * a.usage[used], c="C0", alpha=0.8, zorder=3,
                       label="recovered (y_j, g_j), area ∝ usage")
            ax.scatter(a.y[~used], a.g[~used], s=14, facecolors="none", edgecolors="C0", zorder=3,
                       label=f"recovered, usage < {p.min_usage:g}")
            lo, hi = p.x_range
            ax.set(xlim=(lo - 0.1, hi + 0.1), ylim=(-0.3, 3.9), xlabel="x and y (input units)",
                   ylabel="u(x) and g(y) (output units)", title=f"{setup}, t = {p.setups[setup]:g}, ε = {e:g}")
    axes[0][0].legend(loc="upper center", ncol=2, fontsize=6.5)  # the band above u, g ≤ 2.6 holds no data
    plotting.save(fig, run_dir, "recovery_fits_and_atoms")

    df = pd.read_csv(run_dir / "results.csv")
    fig, axes = plotting.figure(len(setups), height=4.4)
    for ax, setup in zip(axes[0], setups):
        d = df[(df.setup == setup) & (df.quantity.isin([Q.DELTA_BAR, Q.DELTA_BAR_MERGED]))]
        for q, c, label in ((Q.DELTA_BAR, "C0", "per neuron"), (Q.DELTA_BAR_MERGED, "C3", "coincident merged")):
            s = d[d.quantity == q]
            ax.scatter(s.eps, s.value, s=10, c=c, alpha=0.4, label=f"{label}, all seeds")
            best = s[s.selected.astype(bool)].sort_values("eps")
            ax.plot(best.eps, best.value, "o-", c=c, label=f"{label}, best seed")
        ax.set(xscale="log", yscale="log", xlabel="ε", ylabel="δ̄ = usage-weighted mean of |g_j − g*(y_j)|",
               title=f"{setup}, t = {p.setups[setup]:g}")
        ax.set_xticks(list(p.eps), [f"{e:g}" for e in p.eps])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)  # below the axes: no data covered
    plotting.save(fig, run_dir, "recovery_delta_vs_eps")
