"""Figure helpers: Agg backend, one house style, PNG + PDF written atomically."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

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
