"""quadrature, plot: figures drawn from results.csv, reference.csv and config.yaml only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from hjexp import plotting

from .contract import Case, Rule

COLOURS = {Rule.ENDPOINT: "C0", Rule.MIDPOINT: "C1", Rule.TRAPEZOID: "C2", Rule.MONTECARLO: "C3",
           "sawtooth": "C4"}  # the tight case's curve: a colour, not a rule


def _curve(ax, c: pd.DataFrame, rule: str, fmt: str, label: str) -> None:
    """One rule's sup errors against N; Monte Carlo as geometric mean ×/÷ geometric sd over repeats
    (errors are positive and spread over decades, so a symmetric ± sd would cross zero)."""
    if rule != Rule.MONTECARLO:
        c = c.sort_values("N")
        ax.plot(c.N, c.sup_err, fmt, ms=3, color=COLOURS[rule], label=label)
        return
    logs = np.log(c.sup_err).groupby(c.N)
    mean, sd = np.exp(logs.mean()), np.exp(logs.std().fillna(0))
    ax.errorbar(mean.index, mean, yerr=[mean - mean / sd, mean * sd - mean], fmt=fmt, ms=3, capsize=2,
                color=COLOURS[rule], label=label + "\n(geometric mean ×/÷ geometric sd)")


def _floor(refs: pd.DataFrame, case: str, d: int, factor: float) -> float:
    row = refs[(refs.case == case) & (refs.d == d)].iloc[0]
    return factor * max(row.ref_err, row.roundoff)


def _limits(ax, values: pd.Series, floor: float) -> tuple[float, float]:
    """y-range of the measured errors; the floor is drawn only when it lies near them."""
    lo, hi = values[values > 0].min() / 3, values.max() * 3
    if floor > lo / 1e3:
        ax.axhline(floor, color="grey", lw=0.8, ls=(0, (1, 3)), label="floor: grids below it are not judged")
        lo = min(lo, floor / 3)
    ax.set_ylim(lo, hi)
    return lo, hi


def _panels(n: int):
    """n data panels and, to their right, one panel that holds only the shared legend."""
    fig, axes = plotting.figure(n + 1, width=4.0)
    axes[0][0].get_gridspec().set_width_ratios([1.0] * n + [0.75])
    fig.set_size_inches(4.0 * n + 3.0, fig.get_size_inches()[1])
    axes[0][-1].axis("off")
    return fig, axes[0][:-1], axes[0][-1]


def _legend(panels, box) -> None:
    handles = {}
    for ax in panels:
        for h, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, h)
    box.legend(list(handles.values()), list(handles), loc="center left", fontsize=8, frameon=False)


def lipschitz(df, refs, factor, run_dir) -> None:
    dims = sorted(df.d.unique())
    fig, panels, box = _panels(len(dims))
    for ax, d in zip(panels, dims):
        c = df[(df.case == Case.LIPSCHITZ) & (df.d == d)]
        for rule, cr in c.groupby("rule"):
            _curve(ax, cr, rule, "o-", rule)
        saw = df[(df.case == Case.TIGHT) & (df.d == d)].sort_values("N")
        ax.plot(saw.N, saw.sup_err, "s-", ms=3, color=COLOURS["sawtooth"], label="sawtooth input, midpoint grid")
        ax.plot(saw.N, saw.pred, "k:", lw=1.2, label="h/4 = N^(−1/d) (the attained rate)")
        N = np.sort(c.N.unique()).astype(float)
        top = c[c.N == N[0]].sup_err.median()
        ax.plot(N, top * (N / N[0]) ** (-2 / d), "k-.", lw=0.7, alpha=0.6, label="∝ N^(−2/d)")
        ax.plot(N, 0.5 * top * (N / N[0]) ** -0.5, "k--", lw=0.7, alpha=0.6, label="∝ N^(−1/2)")
        _limits(ax, pd.concat([c.sup_err, saw.sup_err]), _floor(refs, Case.LIPSCHITZ, d, factor))
        ax.set(xscale="log", yscale="log", xlabel="N (atoms)", ylabel="sup_x |ū_N(x) − ū(x)|",
               title=f"g = |y| and sawtooth, ε = 1, d = {int(d)}")
    _legend(panels, box)
    plotting.save(fig, run_dir, "quadrature_lipschitz_error_vs_N")


def smooth(df, refs, factor, run_dir) -> None:
    dims = sorted(df.d.unique())
    fig, panels, box = _panels(len(dims))
    for ax, d in zip(panels, dims):
        c = df[(df.case == Case.SMOOTH) & (df.d == d)]
        lo, _ = _limits(ax, c.sup_err, _floor(refs, Case.SMOOTH, d, factor))
        for rule, cr in c.groupby("rule"):
            _curve(ax, cr, rule, "o", f"{rule}: measured")
            pred = cr.groupby("N").pred.first()
            pred = pred[pred > lo / 10]  # the exp(−cn) terms fall far below roundoff
            ax.plot(pred.index, pred.values, "-", lw=1, color=COLOURS[rule], alpha=0.7, label=f"{rule}: predicted term")
        ax.set(xscale="log", yscale="log", xlabel="N (atoms)", ylabel="sup_x |ū_N(x) − ū(x)|",
               title=f"g = |y|²/2, ε = N^(−1/d), d = {int(d)}")
    _legend(panels, box)
    plotting.save(fig, run_dir, "quadrature_smooth_error_vs_N")


def authors(df, run_dir) -> None:
    a = df[df.case == Case.AUTHORS]
    if a.empty:
        return
    dims = sorted(a.d.unique())
    fig, panels, box = _panels(len(dims))
    for ax, d in zip(panels, dims):
        c = a[a.d == d].sort_values("N")
        ax.plot(c.N, c.sup_err, "o", ms=4, color="C0", label="authors: their grids vs their reference")
        slope, icpt = np.polyfit(np.log(c.N), np.log(c.sup_err), 1)
        ax.plot(c.N, np.exp(icpt) * c.N ** slope, "C0--", lw=1, label="authors: one line through all sizes")
        ax.text(0.97, 0.95, f"their slope {slope:.3f}\ntheory −1/d = {-1 / d:.3g}", transform=ax.transAxes,
                ha="right", va="top", fontsize=8)
        ours = df[(df.case == Case.LIPSCHITZ) & (df.d == d) & (df.rule == Rule.ENDPOINT)].sort_values("N")
        ax.plot(ours.N, ours.sup_err, "x-", ms=4, color="C1", label="corrected: even n, Gauss–Legendre reference")
        ax.set(xscale="log", yscale="log", xlabel="N (atoms)", ylabel="sup_x |ū_N(x) − ū_ref(x)|",
               title=f"endpoint grid, g = |y|, ε = 1, d = {int(d)}")
    _legend(panels, box)
    plotting.save(fig, run_dir, "quadrature_authors_protocol")


def plot(run_dir: Path) -> None:
    df = pd.read_csv(run_dir / "results.csv")
    refs = pd.read_csv(run_dir / "reference.csv")
    factor = float(OmegaConf.load(run_dir / "config.yaml").judge.floor_factor)
    lipschitz(df, refs, factor, run_dir)
    smooth(df, refs, factor, run_dir)
    authors(df, run_dir)
