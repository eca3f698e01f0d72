"""Figure helpers: Agg backend, one house style, PNG + PDF and animated GIFs written atomically."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from hjexp.results import atomic_write  # noqa: E402

STYLE = {"figure.dpi": 110, "savefig.dpi": 150, "axes.grid": True, "grid.alpha": 0.3,
         "axes.spines.top": False, "axes.spines.right": False, "font.size": 10, "legend.fontsize": 8}


def figure(ncols: int = 1, nrows: int = 1, width: float = 4.8, height: float = 3.6):
    plt.rcParams.update(STYLE)
    return plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False)


def save(fig, run_dir: Path, name: str) -> list[Path]:
    """figures/<name>.png and .pdf; returns both paths."""
    fig.tight_layout()
    paths = []
    for ext in ("png", "pdf"):
        buf = io.BytesIO()
        fig.savefig(buf, format=ext)
        path = run_dir / "figures" / f"{name}.{ext}"
        atomic_write(path, buf.getvalue())
        paths.append(path)
    plt.close(fig)
    return paths


def save_gif(fig, update: Callable[[int], object], n_frames: int, path: Path, fps: int = 4, dpi: int | None = None) -> Path:
    """An animated GIF of ``fig`` after update(0), …, update(n_frames − 1), written atomically.
    Each frame is drawn once (matplotlib's FuncAnimation + PillowWriter draws every frame twice
    on Agg: half of the bifurcation and phase-diagram plot stages)."""
    if dpi is not None:
        fig.set_dpi(dpi)
    frames = []
    for i in range(n_frames):
        update(i)
        fig.canvas.draw()
        frames.append(Image.fromarray(np.asarray(fig.canvas.buffer_rgba())).convert("RGB")
                      .quantize(256, method=Image.Quantize.MEDIANCUT))
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=round(1000 / fps), loop=0)
    atomic_write(path, buf.getvalue())
    plt.close(fig)
    return path
