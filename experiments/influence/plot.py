"""influence, plot: figures drawn from results.csv and timings.csv only."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from hjexp import plotting

from .contract import Clock, Method, Part, Q

FLOOR = 1e-18  # exact zeros drawn at the floor of a log axis
LABELS = {Method.CLOSED_FORM: "closed form softmax(z/ε)", Method.AUTOGRAD: "autograd ∂f/∂s_j",
          Method.LEAVE_ONE_OUT: "leave-one-atom-out brute force"}


def plot(run_dir: Path) -> None:
    df = pd.read_csv(run_dir / "results.csv")
    timings = pd.read_csv(run_dir / "timings.csv")
    tol = float(OmegaConf.load(run_dir / "config.yaml").judge.roundoff)
    fig, axes = plotting.figure(2)
    ax1, ax2 = axes[0]
    err = df[(df.part == Part.IDENTITY) & (df.quantity == Q.MAX_ABS_ERR)]
    for method, c in err.groupby("method"):
        ax1.plot(c.eps, c.value.clip(lower=FLOOR), "o-", ms=4, label=f"π_j vs {LABELS[method]}")
    ax1.axhline(tol, c="k", ls="--", lw=0.8, label="pass threshold")
    ax1.set(xscale="log", yscale="log", xlabel="ε", ylabel="max |difference|", ylim=(FLOOR / 3, tol * 1e3),
            title="Closed-form attribution is exact (float64)")
    ax1.legend(fontsize=7, loc="upper left")
    for method, c in timings.groupby("method"):
        c = c.sort_values("N")
        ax2.plot(c.N, c.seconds_per_query, "o-", ms=3, label=LABELS[method])
    closed = timings[timings.method == Method.CLOSED_FORM].sort_values("N")
    top = closed.iloc[-1]
    ax2.plot(closed.N, top.seconds_per_query * closed.N / top.N, "k:", lw=0.9, label="∝ N")
    brute = timings[timings.method == Method.LEAVE_ONE_OUT].sort_values("N")
    if len(brute):
        last = brute.iloc[-1]
        ax2.plot(brute.N, last.seconds_per_query * (brute.N / last.N) ** 2, "k--", lw=0.8, label="∝ N²")
    clock = "process CPU" if timings.clock.iloc[0] == Clock.PROCESS_CPU else "wall-clock"
    ax2.set(xscale="log", yscale="log", xlabel="atoms N", ylabel=f"{clock} s per query (min of repeats)",
            title="Cost of an attribution query")
    ax2.set_xscale("log", base=2)
    ax2.legend(fontsize=7, loc="upper left")
    plotting.save(fig, run_dir, "influence")
