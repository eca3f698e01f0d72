"""bifurcation, figures of the landscape: H(x; ε) maps (2-D) or curves (1-D) with the critical
points of critical_points.csv, at three ε and as an animated GIF. H is evaluated here with
numpy from atoms.csv (the plot stage reads CSVs only)."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd

from hjexp import plotting

from .contract import Type
from .judge import dims

MARKERS = {Type.MIN: "o", Type.SADDLE: "^", Type.MAX: "s", Type.DEGENERATE: "x"}


def entropy_np(x: np.ndarray, y: np.ndarray, g: np.ndarray, t: float, eps: float) -> np.ndarray:
    """H(x; ε) [M] for x [M, d]: log-sum-exp shifted, 0 log 0 = 0."""
    a = -(g[None, :] + ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1) / (4 * t)) / eps  # [M, N]
    a = a - a.max(-1, keepdims=True)
    log_pi = a - np.log(np.exp(a).sum(-1, keepdims=True))
    return -(np.exp(log_pi) * log_pi).sum(-1)


def _atoms(atoms: pd.DataFrame):
    d = dims(atoms)
    y = atoms[[f"y{i}" for i in range(d)]].to_numpy()
    lo, hi = (np.array(ast.literal_eval(atoms[c].iloc[0])) for c in ("box_lo", "box_hi"))
    return y, atoms.g.to_numpy(), float(atoms.t.iloc[0]), d, lo, hi


def _draw(ax, atoms, points, eps, colours, n_grid=80, colorbar=False):
    """One panel: the landscape at ``eps`` (a grid ε of points) and its critical points."""
    y, g, t, d, lo, hi = _atoms(atoms)
    pts = points[np.isclose(points.eps, eps, rtol=1e-9)]
    if d == 1:
        x = np.linspace(lo[0], hi[0], 600)[:, None]
        ax.plot(x[:, 0], entropy_np(x, y, g, t, eps), "k-", lw=1)
        for kind, s in pts.groupby("type"):
            ax.plot(s.x0, s.H, MARKERS[kind], c=colours[kind], ms=6, label=kind)
        ax.plot(y[:, 0], np.zeros(len(y)), "|", c="0.3", ms=10, label="atoms")
        ax.set(xlabel="x", ylabel="H(x; ε) (nats)", ylim=(-0.05, np.log(len(y)) * 1.05))
        return None
    u, v = np.meshgrid(np.linspace(lo[0], hi[0], n_grid), np.linspace(lo[1], hi[1], n_grid))
    H = entropy_np(np.stack([u.ravel(), v.ravel()], -1), y, g, t, eps).reshape(u.shape)
    im = ax.pcolormesh(u, v, H, cmap="viridis", vmin=0, vmax=np.log(len(y)), shading="auto", rasterized=True)
    ax.scatter(y[:, 0], y[:, 1], c=np.where(g > g.min(), "w", "0.7"), s=12, edgecolors="k", lw=0.4, label="atoms")
    for kind, s in pts.groupby("type"):
        ax.scatter(s.x0, s.x1, marker=MARKERS[kind], c=colours[kind], s=30, edgecolors="w", lw=0.6, label=kind)
    ax.set(xlabel="x₁", ylabel="x₂", aspect="equal")
    ax.grid(False)
    return im


def _count(n: int) -> str:
    return f"{n} critical point" + ("" if n == 1 else "s")


def entropy_maps(run_dir: Path, name: str, atoms, points, map_eps: list[float], colours) -> None:
    grid = np.sort(points.eps.unique()) if len(points) else np.array(map_eps)
    chosen = [grid[np.abs(np.log(grid) - np.log(e)).argmin()] for e in map_eps]
    fig, axes = plotting.figure(len(chosen), width=4.3, height=4.3)
    im = None
    for ax, e in zip(axes[0], chosen):
        im = _draw(ax, atoms, points, e, colours)
        n = int(np.isclose(points.eps, e, rtol=1e-9).sum())
        ax.set_title(f"{name}, ε = {e:.3g}\n{_count(n)}")
    axes[0][0].legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=4, fontsize=7)  # below: no data covered
    if im is not None:
        fig.colorbar(im, ax=axes[0][-1], label="H(x; ε) (nats)", shrink=0.9)
    plotting.save(fig, run_dir, f"entropy_maps_{name}")


def animate(run_dir: Path, name: str, atoms, points, n_frames: int, colours) -> Path:
    """figures/entropy_<name>.gif: the landscape and its critical points over the ε grid."""
    grid = np.sort(points.eps.unique())
    frames = grid[np.unique(np.linspace(0, len(grid) - 1, max(2, n_frames)).round().astype(int))]
    fig, axes = plotting.figure(1, width=5.0, height=4.8)
    fig.subplots_adjust(bottom=0.24, top=0.88)  # room for the legend below the axes
    ax = axes[0][0]

    def update(i):
        ax.clear()
        _draw(ax, atoms, points, frames[i], colours, n_grid=60)
        n = int(np.isclose(points.eps, frames[i], rtol=1e-9).sum())
        ax.set_title(f"{name}: ε = {frames[i]:.3g}\n{_count(n)}")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=4, fontsize=7)

    return plotting.save_gif(fig, update, len(frames), run_dir / "figures" / f"entropy_{name}.gif", fps=4)
