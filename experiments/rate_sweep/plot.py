"""rate-sweep, plot: figures drawn from results.csv, curves_d1.csv and config.yaml only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import NullLocator

from hjexp import plotting
from hjexp.contract import read_judged

from .contract import Family, Kind, Model

STYLE = {Model.HJ: ("o-", "C0"), Model.HJ_FIXED_T: ("o:", "C9"), Model.HJ_SHRINK_T: ("D-", "C3"),
         Model.HJ_SELECTED: ("v-", "C4"), Model.KNN: ("s--", "C1"), Model.NW: ("^:", "C2"),
         Model.CONSTANT: (".-", "0.55")}
SHORT = {Model.HJ: "Hopf–Cole", Model.HJ_FIXED_T: "Hopf–Cole, fixed t", Model.HJ_SHRINK_T: "Hopf–Cole, t shrinking",
         Model.HJ_SELECTED: "Hopf–Cole, held-out (N, ε)", Model.KNN: "kNN", Model.NW: "Nadaraya–Watson",
         Model.CONSTANT: "constant (label mean)"}


def _exponent(family: str, d: float) -> float:
    return -2 / (d + 4) if family == Family.SEMICONCAVE_HARD else -1 / (d + 2)


def _legend_right(axes) -> None:
    """One legend for all panels, right of the top-right panel (tight_layout makes room; it covers no data)."""
    handles = {}
    for ax in np.ravel(axes):
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    axes[0][-1].legend(list(handles.values()), list(handles), loc="upper left", bbox_to_anchor=(1.03, 1.0))


def _n_axis(ax, ns) -> None:
    """Log n axis labelled at three grid sizes (first, middle, last), so the labels stay apart on a
    narrow panel (the paper grid has nine sizes, 64…16384)."""
    ns = sorted(int(n) for n in ns)
    K = len(ns)
    m = min(K, 3)
    ticks = [ns[round(i * (K - 1) / (m - 1))] for i in range(m)] if m > 1 else ns
    ax.set_xscale("log")
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticks(ticks, [str(n) for n in ticks])


def plot_rmse(df: pd.DataFrame, run_dir: Path) -> None:
    families, dims = list(dict.fromkeys(df.family)), sorted(df.d.unique())
    fig, axes = plotting.figure(len(dims), len(families), width=3.4, height=2.9)
    for i, fam in enumerate(families):
        for j, d in enumerate(dims):
            ax, sub = axes[i][j], df[(df.family == fam) & (df.d == d)]
            for model, c in sub.groupby("model", sort=False):
                if fam in (Family.HJ_SOLUTION, Family.LIPSCHITZ) and model == Model.CONSTANT:
                    continue  # a far-off line that would squeeze the others
                stat = c.groupby("n").rmse.agg(["mean", "std"])
                ax.errorbar(stat.index, stat["mean"], yerr=stat["std"], fmt=STYLE[model][0], c=STYLE[model][1],
                            ms=3, capsize=2, lw=1, label=SHORT[model])
            ns = np.array(sorted(sub.n.unique()), float)
            y0 = sub[sub.n == ns[0]].rmse.median()
            a = _exponent(fam, d)
            ax.plot(ns, y0 * (ns / ns[0]) ** a, "k-", lw=0.7, alpha=0.6, label="reference slope: −1/(d+2), semiconcave −2/(d+4)")
            ax.set(yscale="log", xlabel="n (training samples)", ylabel="test RMSE")
            ax.set_title(f"{fam}, d = {d}", fontsize=9)
            _n_axis(ax, ns)
    _legend_right(axes)
    plotting.save(fig, run_dir, "rmse_vs_n")


def plot_scaled(df: pd.DataFrame, run_dir: Path) -> None:
    """RMSE·n^(−a) vs n on the bump families: flat where the reference rate is attained."""
    fams = [f for f in (Family.MINIMAX_HARD, Family.SEMICONCAVE_HARD) if f in set(df.family)]
    if not fams:
        return
    dims = sorted(df.d.unique())
    fig, axes = plotting.figure(len(dims), len(fams), width=3.4, height=2.9)
    for i, fam in enumerate(fams):
        for j, d in enumerate(dims):
            ax, sub = axes[i][j], df[(df.family == fam) & (df.d == d)]
            a = _exponent(fam, d)
            for model, c in sub.groupby("model", sort=False):
                m = c.groupby("n").rmse.mean()
                ax.plot(m.index, m * m.index.to_numpy(float) ** (-a), STYLE[model][0], c=STYLE[model][1], ms=3, lw=1,
                        label=SHORT[model])
            power = "1/(d+2)" if fam == Family.MINIMAX_HARD else "2/(d+4)"
            ax.set(yscale="log", xlabel="n (training samples)", ylabel=f"RMSE · n^({power})")
            ax.set_title(f"{fam}, d = {d}", fontsize=9)
            _n_axis(ax, sub.n.unique())
    _legend_right(axes)
    plotting.save(fig, run_dir, "scaled_rmse_hard_families")


def plot_slopes(run_dir: Path) -> None:
    slopes = read_judged(run_dir, "slopes")  # judge's fits
    families = list(dict.fromkeys(slopes.family))
    dims = sorted(slopes.d.unique())
    dd = np.linspace(min(dims), max(dims), 50)
    fig, axes = plotting.figure(len(families), 1, width=3.6, height=3.4)
    for i, fam in enumerate(families):
        ax, sub = axes[0][i], slopes[slopes.family == fam]
        if fam in (Family.HJ_SOLUTION, Family.LIPSCHITZ):
            sub = sub[sub.model != Model.CONSTANT]  # slope ≈ 0 there: only the bump families' RMS scales with n
        models = list(dict.fromkeys(sub.model))
        for k, model in enumerate(models):
            c = sub[sub.model == model].sort_values("d")
            off = 0.07 * (k - (len(models) - 1) / 2)
            hollow = ~c.stable.to_numpy(bool)  # hollow marker: the slope had not stabilised
            ax.errorbar(c.d + off, c.slope, yerr=[c.slope - c.ci_low, c.ci_high - c.slope], fmt="none",
                        ecolor=STYLE[model][1], capsize=2, lw=1)
            ax.plot(c.d[~hollow] + off, c.slope[~hollow], STYLE[model][0][0], c=STYLE[model][1], ms=4,
                    label=SHORT[model])
            ax.plot(c.d[hollow] + off, c.slope[hollow], STYLE[model][0][0], mec=STYLE[model][1], mfc="none", ms=4)
        ax.plot(dd, -1 / (dd + 2), "k-", lw=0.8, label="−1/(d+2)")
        ax.plot(dd, -2 / (dd + 4), "k:", lw=0.8, label="−2/(d+4)")
        ax.plot([], [], "o", mec="0.3", mfc="none", label="hollow: slope not stabilised")
        ax.set(xlabel="input dimension d", ylabel="slope of log RMSE vs log n", title=fam, xticks=dims)
    _legend_right(axes)
    plotting.save(fig, run_dir, "slope_vs_d")


def plot_curves(run_dir: Path) -> None:
    path = run_dir / "curves_d1.csv"
    if not path.exists():
        return
    cur = pd.read_csv(path)
    fams, n_vals = list(dict.fromkeys(cur.family)), sorted(cur.n.unique())
    fig, axes = plotting.figure(len(n_vals), len(fams), width=3.4, height=2.7)
    for i, fam in enumerate(fams):
        for j, n in enumerate(n_vals):
            ax, c = axes[i][j], cur[(cur.family == fam) & (cur.n == n)]
            s = c[c.kind == Kind.SAMPLE]
            ax.plot(s.x, s.value, ".", c="0.65", ms=2, label="noisy samples")
            for kind, fmt, lab in ((Kind.TARGET, "k-", "target"), (Kind.HJ, "C0-", "Hopf–Cole"),
                                   (Kind.KNN, "C1--", "kNN")):
                k = c[c.kind == kind]
                ax.plot(k.x, k.value, fmt, lw=1, label=lab)
            ax.set(xlabel="x (d = 1, seed 0)", ylabel="u(x)")
            ax.set_title(f"{fam}, n = {n}", fontsize=9)
    _legend_right(axes)
    plotting.save(fig, run_dir, "fitted_d1")


def plot_worst(run_dir: Path) -> None:
    """Per d: the supremum of test RMSE over the worst-case grid vs n (mean over seeds of the per-seed sup)."""
    sup = read_judged(run_dir, "worst_sup")  # judge's per-seed suprema, summarised
    w = pd.read_csv(run_dir / "worst.csv")
    dims = sorted(w.d.unique())
    fig, axes = plotting.figure(len(dims), 1, width=3.4, height=2.9)
    for j, d in enumerate(dims):
        ax = axes[0][j]
        for model, c in sup[sup.d == d].groupby("model", sort=False):
            ax.errorbar(c.n, c.sup_mean, yerr=c.sup_sd, fmt=STYLE[model][0],
                        c=STYLE[model][1], ms=3, capsize=2, lw=1, label=SHORT[model])
        ns = np.array(sorted(w[w.d == d].n.unique()), float)
        y0 = sup[(sup.d == d) & (sup.model == Model.KNN)].sort_values("n").sup_mean.iloc[0]
        ax.plot(ns, y0 * (ns / ns[0]) ** (-1 / (d + 2)), "k-", lw=0.7, alpha=0.6, label="reference slope −1/(d+2)")
        ax.set(yscale="log", xlabel="n (training samples)", ylabel="sup of test RMSE over the grid")
        ax.set_title(f"worst case over the Lipschitz class, d = {d}", fontsize=9)
        _n_axis(ax, ns)
    _legend_right(axes)
    plotting.save(fig, run_dir, "worst_case_sup_rmse")


def plot(run_dir: Path) -> None:
    df = pd.read_csv(run_dir / "results.csv")
    if (run_dir / "worst.csv").exists():
        plot_worst(run_dir)
    plot_rmse(df, run_dir)
    plot_scaled(df, run_dir)
    plot_slopes(run_dir)
    plot_curves(run_dir)


__all__ = ["plot"]
