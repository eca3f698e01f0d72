"""identity, plot: figures drawn from results.csv only."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from hjexp import plotting

from .contract import Part, Q


def yaml_roundoff(run_dir: Path) -> float:
    return float(OmegaConf.load(run_dir / "config.yaml").judge.roundoff)


def plot(run_dir: Path) -> None:
    df = pd.read_csv(run_dir / "results.csv")
    floor = 1e-17  # exact zeros drawn at the floor of a log axis
    fig, axes = plotting.figure(2)
    ax1, ax2 = axes[0]
    hc = df[(df.part == Part.HOPF_COLE)]
    for (setup, d), c in hc.groupby(["setup", "d"]):
        ax1.plot(c.eps, c.value.clip(lower=floor), "o-", ms=3, label=f"{setup}, d={int(d)}")
    ax1.axhline(yaml_roundoff(run_dir), ls="--", c="k", lw=0.8, label="pass threshold")
    ax1.set(xscale="log", yscale="log", xlabel="ε", ylabel="max |f_ε + u_ε − |x|²/4t|",
            title="Hopf–Cole identity (float64)")
    ax1.legend(ncol=2)
    pde = df[(df.part == Part.PDE_RESIDUAL) & (df.quantity == Q.MAX_REL)]
    for d, c in pde.groupby("d"):
        ax2.plot(c.eps, c.value.clip(lower=floor), "s-", ms=3, label=f"d={int(d)}")
    ax2.set(xscale="log", yscale="log", xlabel="ε", ylabel="max |residual| / (|u_t|+|∇u|²+ε|Δu|)",
            title="PDE residual by autograd")
    ax2.legend()
    plotting.save(fig, run_dir, "identity_error_vs_eps")

    fig, axes = plotting.figure(2)
    ax1, ax2 = axes[0]
    for part, label in ((Part.SOFTPLUS_GAP, "softplus_ε − ReLU"), (Part.LSE_MAX_GAP, "LSE_ε − max")):
        c = df[(df.part == part) & (df.quantity == Q.MAX)]
        ax1.plot(c.eps, c.value, "o-", ms=3, label=f"sup {label}")
    e = df[df.part == Part.SOFTPLUS_GAP].eps.drop_duplicates().sort_values()
    ax1.plot(e, e * math.log(2), "k--", lw=0.8, label="ε ln 2")
    ax1.set(xscale="log", yscale="log", xlabel="ε", ylabel="gap", title="Tropical limit: gaps vs ε")
    ax1.legend()
    for q, style in ((Q.SUP_WITH_KINKS, "o-"), (Q.SUP_GRID_ONLY, "x:")):
        c = df[(df.part == Part.TWO_LAYER_GAP) & (df.quantity == q)]
        ax2.plot(c.eps, c.value, style, ms=4, label=q.replace("_", " "))
    ax2.plot(e, e * 0.5 * math.log(2) * 2, "k--", lw=0.8, label="ε·ln2·Σ w₂ at the double kink")
    ax2.set(xscale="log", yscale="log", xlabel="ε", ylabel="sup |softplus net − ReLU net|",
            title="2-layer nets: linear in ε")
    ax2.legend()
    plotting.save(fig, run_dir, "tropical_gaps_vs_eps")

    fig, axes = plotting.figure(1)
    ax = axes[0][0]
    hl = df[df.part == Part.HOPF_LAX_SEMIGROUP]
    err, bound = hl[hl.quantity == Q.MAX_ABS_ERR], hl[hl.quantity == Q.BOUND]
    ax.plot(err.h, err.value.clip(lower=floor), "o-", label="Hopf–Lax (ε = 0)")
    ax.plot(bound.h, bound.value, "k--", lw=0.8, label="bound h²(1/t+1/s)/16")
    for eps, c in df[df.part == Part.VISCOUS_SEMIGROUP].groupby("eps"):
        ax.plot(c.h, c.value.clip(lower=floor), "s-", ms=3, label=f"viscous, ε={eps}")
    ax.set(xscale="log", yscale="log", xlabel="grid spacing h", ylabel="max |error|", title="Semigroup steps vs grid")
    ax.legend()
    plotting.save(fig, run_dir, "semigroup_error_vs_grid")
