"""attention, plot: figures drawn from results.csv only."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.ticker import NullLocator
from omegaconf import OmegaConf

from hjexp import plotting

from .contract import Identity, Norm, Part, Q

FLOOR = 1e-18  # exact zeros drawn at the floor of a log axis
LABELS = {Identity.ATTN_V: "softmax(QKᵀ/√d)V vs ∇_z LSE·V", Identity.GRAD_Q: "Attn(q,K,K) vs ∇_q LSE(q·K)"}


def plot(run_dir: Path) -> None:
    df = pd.read_csv(run_dir / "results.csv")
    tol = float(OmegaConf.load(run_dir / "config.yaml").judge.roundoff)
    err = df[df.quantity == Q.MAX_ABS_ERR]
    fig, axes = plotting.figure(2)
    ax1, ax2 = axes[0]
    gibbs = err[err.part == Part.GIBBS]
    for (norm, identity), c in gibbs.groupby(["norm", "identity"]):
        style = "o-" if norm == Norm.RAW else "s--"
        ax1.plot(c.d, c.value.clip(lower=FLOOR), style, ms=4, label=f"{LABELS[identity]} ({norm})")
    authors = df[df.part == Part.AUTHORS_CHECK]
    ax1.plot(authors.d, authors.value.clip(lower=FLOOR), "x:", c="grey", ms=6,
             label=f"authors' check (max {authors.value.max():.1g}; at the floor = exactly 0)")
    ax1.axhline(tol, ls="--", c="k", lw=0.8, label="pass threshold")
    ax1.set(xscale="log", yscale="log", xlabel="key/query dimension d (ε = √d)",
            ylabel="max |difference| over trials", title="Attention = Gibbs average (float64)",
            ylim=(FLOOR / 3, tol * 1e3))
    ax1.set_xticks(sorted(gibbs.d.unique()), [str(int(d)) for d in sorted(gibbs.d.unique())])
    ax1.xaxis.set_minor_locator(NullLocator())
    ax1.legend(loc="upper left", fontsize=7)
    ffn = err[err.part == Part.LSE_FFN]
    ax2.plot(ffn.eps, ffn.value.clip(lower=FLOOR), "o-", label="max |f_ε + u_ε − |x|²/4t|")
    ax2.axhline(tol, ls="--", c="k", lw=0.8, label="pass threshold")
    ax2.set(xscale="log", yscale="log", xlabel="ε", ylabel="max |error| over layers and points",
            title="LSE feed-forward on LayerNorm inputs", ylim=(FLOOR / 3, tol * 1e3))
    ax2.legend(loc="upper left")
    plotting.save(fig, run_dir, "attention_identity_errors")
