"""phase-diagram, maps: entropy and prediction over the data's box with the characteristic field,
and an animated GIF of the entropy map over ε."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colors

from hjexp import plotting

from .contract import Query

ARROWS = 12  # field arrows per axis


def _image(part: pd.DataFrame, column: str) -> np.ndarray:
    """[n, n] array (row = x2 index) from long-form grid rows."""
    return part.pivot(index="iy", columns="ix", values=column).to_numpy()


def _extent(q: pd.DataFrame) -> list[float]:
    return [q.x1_lo.iloc[0], q.x1_hi.iloc[0], q.x2_lo.iloc[0], q.x2_hi.iloc[0]]


def _atoms(ax, atoms: pd.DataFrame, q: pd.DataFrame) -> None:
    many = len(atoms) > 200
    ax.scatter(atoms.x1, atoms.x2, c=[f"C{int(c) % 10}" for c in atoms.cls], s=2 if many else 14,
               edgecolors="none" if many else "k", linewidths=0.6, alpha=0.5 if many else 1)
    b = q[q['query'] == Query.BOUNDARY]
    ax.plot(b.x1, b.x2, "k+", ms=9, mew=1.5)


def _field(ax, part: pd.DataFrame) -> None:
    """∇u = (x − E_π[y])/2t on a subsample of the grid (arrows point uphill in u)."""
    n = part.ix.max() + 1
    keep = np.unique(np.linspace(0, n - 1, ARROWS).round().astype(int))
    sub = part[part.ix.isin(keep) & part.iy.isin(keep)]
    ax.quiver(sub.x1, sub.x2, sub.field_x1, sub.field_x2, color="w", alpha=0.85, width=0.004,
              edgecolor="k", linewidth=0.3)


def _panels(run_dir: Path, maps: pd.DataFrame, atoms: pd.DataFrame, queries: pd.DataFrame, what: str) -> None:
    names = list(dict.fromkeys(maps.set))
    n_eps = maps.groupby("set").eps_label.nunique().max()
    fig, axes = plotting.figure(n_eps, len(names), width=3.7, height=3.4)
    for row, name in zip(axes, names):
        part, q = maps[maps.set == name], queries[queries.set == name]
        n_atoms, classes = int(q.n_atoms.iloc[0]), q.classes.iloc[0].split("|")
        for ax, (eps, grp) in zip(row, part.groupby("eps")):
            if what == "entropy":
                im = ax.imshow(_image(grp, "H") / np.log(n_atoms), origin="lower", extent=_extent(q),
                               vmin=0, vmax=1, cmap="viridis", aspect="auto")
            elif len(classes) == 2:  # p(class 1) = Σ_{j in class 1} π_j
                p1 = np.where(_image(grp, "pred") == 1, _image(grp, "p_top"), 1 - _image(grp, "p_top"))
                im = ax.imshow(p1, origin="lower", extent=_extent(q), vmin=0, vmax=1, cmap="coolwarm", aspect="auto")
            else:  # argmax class, faded where the top class probability is low
                rgb = np.array([colors.to_rgb(f"C{c % 10}") for c in range(10)])[_image(grp, "pred").astype(int)]
                top = _image(grp, "p_top")[..., None]
                ax.imshow(rgb * top + (1 - top), origin="lower", extent=_extent(q), aspect="auto")
                im = None
            _atoms(ax, atoms[atoms.set == name], q)
            _field(ax, grp)
            label = grp.eps_label.iloc[0]
            ax.set(xlabel="x₁", ylabel="x₂",
                   title=f"{name}, ε = {label if label == f'{eps:g}' else f'{label} = {eps:.3g}'}")
            ax.grid(False)
        if im is not None:
            label = "H(π) / log N" if what == "entropy" else f"p({classes[1]})"
            fig.colorbar(im, ax=row[-1], fraction=0.05, pad=0.03, label=label)
        elif what == "prediction":
            row[-1].set_title(row[-1].get_title() + "\n(colour: argmax class, faded by its probability)", fontsize=8)
            handles = [plotting.plt.Rectangle((0, 0), 1, 1, color=f"C{i % 10}") for i in range(len(classes))]
            row[-1].legend(handles, [c.replace("digit ", "") for c in classes], loc="upper left", fontsize=6,
                           bbox_to_anchor=(1.01, 1.0), title="class", title_fontsize=7)
    fig.suptitle("arrows: characteristic field ∇u = (x − E_π[y])/2t; + boundary query; dots: atoms (seed 0)",
                 fontsize=9)
    plotting.save(fig, run_dir, f"{what}_maps")


def plot_maps(run_dir: Path, maps: pd.DataFrame, atoms: pd.DataFrame, queries: pd.DataFrame) -> None:
    _panels(run_dir, maps, atoms, queries, "entropy")
    _panels(run_dir, maps, atoms, queries, "prediction")


def plot_animation(run_dir: Path, frames: pd.DataFrame, atoms: pd.DataFrame, queries: pd.DataFrame) -> None:
    names = list(dict.fromkeys(frames.set))
    fig, axes = plotting.figure(len(names), width=3.6, height=3.6)
    images, stacks = [], []
    for ax, name in zip(axes[0], names):
        part, q = frames[frames.set == name], queries[queries.set == name]
        log_n = np.log(int(q.n_atoms.iloc[0]))
        stack = [_image(f, "H") / log_n for _, f in part.groupby("frame")]
        stacks.append(stack)
        images.append(ax.imshow(stack[0], origin="lower", extent=_extent(q), vmin=0, vmax=1, cmap="viridis",
                                aspect="auto"))
        _atoms(ax, atoms[atoms.set == name], q)
        ax.set(xlabel="x₁", ylabel="x₂", title=name)
        ax.grid(False)
    eps = frames.groupby("frame").eps.first().to_numpy()
    label = fig.suptitle("")
    fig.colorbar(images[-1], ax=axes[0][-1], fraction=0.05, pad=0.03, label="H(π) / log N")
    fig.tight_layout()

    def draw(k):
        for im, stack in zip(images, stacks):
            im.set_data(stack[k])
        label.set_text(f"entropy of the attribution weights, ε = {eps[k]:.3g}")
        return images

    plotting.save_gif(fig, draw, len(eps), run_dir / "figures" / "entropy_animation.gif", fps=4, dpi=80)  # 80 dpi: a GIF of a few MB
