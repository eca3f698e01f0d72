"""architectures, plot: figures drawn from results.csv and costate_curves.csv only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hjexp import plotting

from .contract import Arch, Part, Q, Variant, What

LABELS = {Arch.RESMLP: "residual MLP", Arch.RNN: "Elman RNN", Arch.LSTM: "LSTM", Arch.SSM_EULER: "SSM, Euler",
          Arch.SSM_ZOH: "SSM, ZOH", Arch.TRANSFORMER: "pre-LN transformer"}


def _slope(c: pd.DataFrame) -> float:
    m = c.groupby("h").value.mean()
    return float(np.polyfit(np.log(m.index), np.log(m.to_numpy()), 1)[0])


def _costate_figure(df: pd.DataFrame, run_dir: Path) -> None:
    fig, axes = plotting.figure(2, width=5.8, height=4.6)
    ax1, ax2 = axes[0]
    conv = df[df.part == Part.CONVERGENCE]
    colors = dict(zip(LABELS, [f"C{i}" for i in range(len(LABELS))]))
    lines = [(a, Variant.SMOOTH, "o-", LABELS[a]) for a in LABELS] + [
        (Arch.SSM_ZOH, Variant.MIDPOINT, "s--", "SSM, ZOH, midpoint input"),
        (Arch.SSM_ZOH, Variant.CONSTANT_INPUT, "x:", "SSM, ZOH, constant input"),
        (Arch.RNN, Variant.DROP_TERM, "v:", "control: RNN without Δ∂ℋ/∂s")]
    for arch, variant, style, label in lines:
        c = conv[(conv.arch == arch) & (conv.variant == variant)]
        if c.empty:
            continue
        g = c.groupby("h").value
        color = "grey" if variant == Variant.DROP_TERM else colors[arch]
        slope = _slope(c) + 0.0  # + 0.0: no "−0.00"
        ax1.plot(g.mean().index, g.mean().clip(lower=1e-17), style, ms=3.5, lw=1.2, color=color,
                 label=f"{label}: slope {abs(slope) if abs(slope) < 5e-3 else slope:.2f}")
        ax1.fill_between(g.min().index, g.min().clip(lower=1e-17), g.max().clip(lower=1e-17), color=color, alpha=0.12, lw=0)
    ax1.set(xscale="log", yscale="log", xlabel="step Δ = T/K (T fixed, K layers or time steps)",
            ylabel="sup_k |p_k − p(t_k)| / sup|p|", title="Co-state → adjoint ODE as Δ → 0 (band: range over nets)")
    ax1.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)
    ident = df[df.part == Part.IDENTITY]
    archs = [a for a in LABELS if a in set(ident.arch)]
    x = np.arange(len(archs))
    floor = 1e-18
    for dx, sel, label in ((-0.18, ident.what == What.P_K, "co-states p_k"),
                           (0.18, ident.what != What.P_K, "∂L/∂θ = Σ Δ∂ℋ/∂θ")):
        worst = ident[sel].groupby("arch").value.max().reindex(archs)
        bars = ax2.bar(x + dx, worst.clip(lower=floor), width=0.34, label=label)
        for b, v in zip(bars, worst):
            if v == 0:  # bit-identical: no bar to draw on a log axis, say so
                ax2.text(b.get_x() + b.get_width() / 2, floor * 1.5, "0", ha="center", va="bottom", fontsize=8)
    eps = df[df.part == Part.DTYPE].value.iloc[0]
    ax2.axhline(1e-12 * eps / 2.220446049250313e-16, c="k", ls="--", lw=0.8, label="pass threshold (roundoff)")
    ax2.set_yscale("log")
    ax2.set_ylim(floor, 1e-12 * eps / 2.220446049250313e-16 * 30)
    ax2.set_xticks(x, [LABELS[a] for a in archs], rotation=25, ha="right", fontsize=8)
    ax2.set(ylabel="worst relative difference vs autograd", title="BPTT = hand-written co-state recursion")
    ax2.legend(fontsize=7, loc="center right")
    plotting.save(fig, run_dir, "architectures_costate")


def _viscosity_figure(df: pd.DataFrame, run_dir: Path) -> None:
    v = df[df.part == Part.VISCOSITY].pivot_table(index=["eps", "h0"], columns="quantity", values="value").reset_index()
    pt = df[df.part == Part.PONTRYAGIN].pivot_table(index="net", columns="quantity", values="value")
    if v.empty or pt.empty:
        return
    fig, axes = plotting.figure(2, width=5.2, height=4.0)
    ax1, ax2 = axes[0]
    for i, (h0, c) in enumerate(v.groupby("h0")):
        ax1.plot(c.eps, c[Q.PDE], "-", color=f"C{i}", label=f"h₀ = {h0:g}: viscous HJ (grid)")
        ax1.errorbar(c.eps, c[Q.MC], yerr=3 * c[Q.MC_SE], fmt="o", ms=3.5, color=f"C{i}", capsize=2)
        ax1.axhline(c[Q.INVISCID].iloc[0], color=f"C{i}", ls=":", lw=0.9)
    ax1.plot([], [], "ko", ms=3.5, label="noisy RNN, Monte Carlo ± 3 se")
    ax1.plot([], [], "k:", label="ε = 0 (noise-free trajectory)")
    ax1.set(xscale="log", xlabel="ε  (state noise of variance 2εΔ per step)", ylabel="expected terminal loss E Φ(h_K)",
            title="Noise as viscosity: 1-D Elman RNN")
    ax1.legend(fontsize=7)
    nets = np.arange(len(pt))
    ax2.bar(nets - 0.2, pt[Q.REL_SUM_DH_DTHETA], width=0.4, label="‖Σ_k Δ ∂ℋ_k/∂θ‖ (= ‖∂L/∂θ‖)")
    ax2.bar(nets + 0.2, pt[Q.REL_LARGEST_TERM], width=0.4, label="largest single ‖Δ ∂ℋ_k/∂θ‖")
    ax2.axhline(1e-6, c="k", ls="--", lw=0.8, label="bound (tool's threshold)")
    ax2.set_yscale("log")
    ax2.set_ylim(top=10)
    ax2.set_xticks(nets, [str(n) for n in nets])
    ax2.set(xlabel="trained RNN (independent fit)", ylabel="relative to ‖∂L/∂θ‖ at the start",
            title="Pontryagin at the optimum: only the sum vanishes")
    ax2.legend(fontsize=7, loc="upper center", ncol=2)
    plotting.save(fig, run_dir, "architectures_viscosity_pontryagin")


def plot(run_dir: Path) -> None:
    df = pd.read_csv(run_dir / "results.csv")
    _costate_figure(df, run_dir)
    _viscosity_figure(df, run_dir)
