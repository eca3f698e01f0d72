"""scaling-dim, plot: figures drawn from results.csv, intrinsic_dim.csv, config.yaml and the fits judge saved
(windows.csv, alphas.csv); it fits nothing itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import NullFormatter
from omegaconf import OmegaConf

from hjexp import plotting
from hjexp.contract import read_judged

from .contract import AlphaEmbedding, EpsMode, Setup


def curves(sub: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(widths [K], test RMSE [seeds, K]) of the selected members of one curve."""
    tab = sub[sub.selected].pivot_table(index="seed", columns="width", values="test_rmse")
    return tab.columns.to_numpy(), tab.to_numpy()


def _rmse_panels(run_dir: Path, s: pd.DataFrame, setup: str, by: list[str], d_name: str,
                 windows: pd.DataFrame | None = None) -> None:
    """Test RMSE against width, one panel per dimension: geometric mean over seeds, bars ×/÷ the
    geometric sd (a log axis cannot show mean − sd when the seeds scatter by more than their mean).
    Widths beyond a curve's fit window (floor or gap rule, judge's windows.csv) are drawn hollow."""
    ds = sorted(s.d.unique())
    fig, axes = plotting.figure(len(ds))
    for ax, d in zip(axes[0], ds):
        sd = s[s.d == d]
        for key, c in sd.groupby(by):
            widths, Y = curves(c)
            key = key if isinstance(key, tuple) else (key,)
            label = f"ε {key[0]}" if setup == Setup.AUTHORS else f"{key[0]}, D = {key[1]}"
            gm, gsd = np.exp(np.log(Y).mean(0)), np.exp(np.log(Y).std(0, ddof=1))
            bar = ax.errorbar(widths, gm, yerr=[gm - gm / gsd, gm * gsd - gm], fmt="o-", ms=3, capsize=2, label=label)
            k = len(widths) if windows is None else int(windows[(windows.setup == setup) & (windows.d == d) & (
                windows.embedding == key[0]) & (windows.D == key[1])].fitted.iloc[0])
            ax.plot(widths[k:], gm[k:], "o", ms=5, mfc="white", c=bar[0].get_color())
            if setup == Setup.AUTHORS and c.eps_mode.iloc[0] == EpsMode.TIED:
                ax.plot(widths, Y.min(0), "x:", c="grey", label="tied, best seed on test data")
        N = np.sort(sd.width.unique()).astype(float)
        y0 = np.exp(np.log(sd[sd.selected & (sd.width == N[0])].test_rmse).mean())
        ax.plot(N, y0 * (N / N[0]) ** (-1 / d), "k--", lw=0.8, label=f"∝ N^(−1/{int(d)})")
        if setup != Setup.AUTHORS:
            ax.plot(N, y0 * (N / N[0]) ** (-2 / d), "k:", lw=0.8, label=f"∝ N^(−2/{int(d)})")
        ax.set(xscale="log", yscale="log", xlabel="width N (neurons / atoms)",
               ylabel="test RMSE (geometric mean over seeds)",
               title=f"{setup}: {d_name} = {int(d)}")
        ax.set_xticks(N, [str(int(w)) for w in N], minor=False)
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.legend(fontsize=6, framealpha=0.6)
    plotting.save(fig, run_dir, f"scaling_{setup}_rmse_vs_N")


def _alpha_figure(run_dir: Path, m: pd.DataFrame, dims: pd.DataFrame, cfg) -> None:
    fig, axes = plotting.figure(2)
    ax1, ax2 = axes[0]
    r = cfg.judge
    ds = sorted(m.d.unique())
    fits = read_judged(run_dir, "alphas")  # judge's α̂ per setting and pooled, each over its window
    first = fits[fits.d == ds[0]]
    pooled = AlphaEmbedding.POOLED
    keys = [(e, D) for e, D in zip(first.embedding, first.D) if e != pooled] + [pooled]
    shift = np.linspace(-0.02, 0.02, len(keys))  # side by side at each 1/d_int
    for i, key in enumerate(keys):
        emb, D = (pooled, 0) if key == pooled else key
        est = fits[(fits.embedding == emb) & (fits.D == D)].set_index("d").loc[ds]
        x = 1 / np.array(ds, dtype=float)
        a, lo, hi = (est[k].to_numpy(float) for k in ("alpha", "low", "high"))
        label = "pooled" if key == pooled else f"{key[0]}, D = {key[1]}"
        style = dict(fmt="s", ms=6, c="k") if key == pooled else dict(fmt="o", ms=4)
        ax1.errorbar(x + shift[i], a, yerr=[a - lo, hi - a], capsize=2, label=label, **style)
        if key == pooled:
            tw = np.array([dims[dims.d_int == d].twonn.mean() for d in ds])
            deff = np.where(a > 0, 1 / np.clip(a, 1e-9, None), np.nan)
            ax2.errorbar(tw, deff, yerr=[deff - 1 / np.clip(hi, 1e-9, None), 1 / np.clip(lo, 1e-9, None) - deff],
                         fmt="s", c="k", capsize=2, label="d_eff = 1/α̂ (pooled)")
    g = np.linspace(0.9 / max(ds), 1.05 / min(ds), 20)
    ax1.plot(g, g, "k--", lw=0.8, label="α = 1/d_int")
    ax1.plot(g, 2 * g, "k:", lw=0.8, label="α = 2/d_int")
    for D in sorted(m.D.unique()):
        ax1.axhline(1 / D, c="tab:red", lw=0.8, ls="-." if D == min(m.D) else ":", label=f"α = 1/D, D = {D}")
    ax1.set(xlabel="1/d_int", ylabel="α̂  (test RMSE ∝ N^(−α))", title=f"fitted exponent, {float(r.level):.0%} intervals")
    ax1.legend(fontsize=6, ncol=2)
    top = float(dims.twonn.max()) + 1
    ax2.plot([0, top], [0, top], "k--", lw=0.8, label="d_eff = TwoNN")
    ax2.fill_between([0, top], [0, 0.75 * top], [0, 1.33 * top], color="grey", alpha=0.15, label="[0.75, 1.33]·TwoNN")
    ax2.set(xlabel="TwoNN intrinsic dimension of the training data", ylabel="d_eff = 1/α̂",
            xlim=(0, top), ylim=(0, 1.5 * top), title="d_eff against TwoNN")
    ax2.legend(fontsize=7, loc="upper left")
    plotting.save(fig, run_dir, "scaling_alpha_vs_dint")


def plot(run_dir: Path) -> None:
    cfg = OmegaConf.load(run_dir / "config.yaml")
    res = pd.read_csv(run_dir / "results.csv")
    res = res.assign(selected=res.selected.astype(bool))
    a = res[res.setup == Setup.AUTHORS]
    if len(a):
        _rmse_panels(run_dir, a, Setup.AUTHORS, ["eps_mode"], "d")
    m = res[res.setup == Setup.MANIFOLD]
    if len(m):
        _rmse_panels(run_dir, m, Setup.MANIFOLD, ["embedding", "D"], "d_int", read_judged(run_dir, "windows"))
        _alpha_figure(run_dir, m, pd.read_csv(run_dir / "intrinsic_dim.csv"), cfg)
    w = res[res.setup == Setup.WORST]
    if len(w):  # the sawtooth family, hollow beyond the fit window
        _rmse_panels(run_dir, w, Setup.WORST, ["embedding", "D"], "d_int", read_judged(run_dir, "windows"))
