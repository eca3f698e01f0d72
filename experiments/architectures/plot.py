"""architectures, plot: figures drawn from results.csv and costate_curves.csv only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hjexp import plotting

LABELS = {"resmlp": "residual MLP", "rnn": "Elman RNN", "lstm": "LSTM", "ssm_euler": "SSM, Euler",
          "ssm_zoh": "SSM, ZOH", "transformer": "pre-LN transformer"}


def _slope(c: pd.DataFrame) -> float:
    m = c.groupby("h").value.mean()
    return float(np.polyfit(np.log(m.index), np.log(m.to_numpy()), 1)[0])


def plot(run_dir: Path) -> None:
    df = pd.read_csv(run_dir / "results.csv")
    fig, axes = plotting.figure(2, width=5.6, height=4.2)
    ax1, ax2 = axes[0]
    conv = df[df.part == "convergence"]
    colors = dict(zip(LABELS, [f"C{i}" for i in range(len(LABELS))]))
    lines = [(a, "smooth", "o-", LABELS[a]) for a in LABELS] + [
        ("ssm_zoh", "midpoint", "s--", "SSM, ZOH, midpoint input"),
        ("ssm_zoh", "constant_input", "x:", "SSM, ZOH, constant input"),
        ("rnn", "drop_term", "v:", "control: RNN, Δ∂ℋ/∂s dropped")]
    for arch, variant, style, label in lines:
        c = conv[(conv.arch == arch) & (conv.variant == variant)]
        if c.empty:
            continue
        g = c.groupby("h").value
        color = "grey" if variant == "drop_term" else colors[arch]
        ax1.plot(g.mean().index, g.mean().clip(lower=1e-17), style, ms=3.5, color=color,
                 label=f"{label} (slope {_slope(c):.2f})")
        ax1.fill_between(g.min().index, g.min().clip(lower=1e-17), g.max().clip(lower=1e-17), color=color, alpha=0.12, lw=0)
    ax1.set(xscale="log", yscale="log", xlabel="step Δ = T/K", ylabel="sup_k |p_k − p(t_k)| / sup|p| (mean, range over nets)",
            title="Discrete co-state → adjoint ODE")
    ax1.legend(fontsize=6.5, loc="lower right")
    ident = df[df.part == "identity"]
    archs = [a for a in LABELS if a in set(ident.arch)]
    x = np.arange(len(archs))
    for dx, sel, label in ((-0.18, ident.what == "p_k", "co-states p_k"), (0.18, ident.what != "p_k", "∂L/∂θ = Σ Δ∂ℋ/∂θ")):
        worst = ident[sel].groupby("arch").value.max().reindex(archs)
        ax2.bar(x + dx, worst.clip(lower=1e-18), width=0.34, label=label)
    eps = df[df.part == "dtype"].value.iloc[0]
    ax2.axhline(1e-12 * eps / 2.220446049250313e-16, c="k", ls="--", lw=0.8, label="pass threshold")
    ax2.set_yscale("log")
    ax2.set_xticks(x, [LABELS[a] for a in archs], rotation=30, ha="right", fontsize=7)
    ax2.set(ylabel="worst relative difference vs autograd", title="BPTT = hand co-state recursion (0 = bit-identical)")
    ax2.legend(fontsize=7)
    plotting.save(fig, run_dir, "architectures_costate")

    v = df[df.part == "viscosity"].pivot_table(index=["eps", "h0"], columns="quantity", values="value").reset_index()
    pt = df[df.part == "pontryagin"].pivot_table(index="net", columns="quantity", values="value")
    if v.empty or pt.empty:
        return
    fig, axes = plotting.figure(2)
    ax1, ax2 = axes[0]
    for i, (h0, c) in enumerate(v.groupby("h0")):
        ax1.plot(c.eps, c.pde, "-", color=f"C{i}", label=f"viscous HJ (grid), h₀ = {h0:g}")
        ax1.errorbar(c.eps, c.mc, yerr=3 * c.mc_se, fmt="o", ms=3, color=f"C{i}", capsize=2)
        ax1.axhline(c.inviscid.iloc[0], color=f"C{i}", ls=":", lw=0.8)
    ax1.set(xscale="log", xlabel="ε (state noise variance 2εΔ)", ylabel="expected terminal loss",
            title="Noisy RNN: Monte Carlo (±3 se) vs viscous HJ; dotted ε = 0")
    ax1.legend(fontsize=7)
    nets = np.arange(len(pt))
    ax2.bar(nets - 0.2, pt.rel_sum_dH_dtheta, width=0.4, label="‖Σ_k Δ ∂ℋ_k/∂θ‖ (the gradient)")
    ax2.bar(nets + 0.2, pt.rel_largest_term, width=0.4, label="largest single ‖Δ ∂ℋ_k/∂θ‖")
    ax2.set(yscale="log", xlabel="trained RNN (net)", ylabel="relative to ‖∂L/∂θ‖ at the start",
            title="Pontryagin at the optimum: only the sum vanishes")
    ax2.legend(fontsize=7)
    plotting.save(fig, run_dir, "architectures_viscosity_pontryagin")
