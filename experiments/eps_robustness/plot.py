"""eps-robustness, plot: figures from results.csv and certificates.csv only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from hjexp import plotting

from .contract import REGRESSION, Loss, Norm, Part, Q

BOUND_STYLE = {Q.BOUND_PAPER: ("k--", "paper |c|‖W‖²₂,∞/ε"), Q.BOUND_HALF_SPECTRAL: ("C3:", "½|c|‖W−1w̄ᵀ‖₂²/ε"),
               Q.BOUND_RANGE: ("C2-.", "|c|diam(W)²/4ε")}


def _curvature(df: pd.DataFrame, run_dir: Path) -> None:
    parts = [p for p in REGRESSION if ((df.part == p) & (df.quantity == Q.HESS_MAX)).any()]
    if not parts:
        return
    fig, axes = plotting.figure(len(parts), width=4.2)
    for ax, part in zip(axes[0], parts):
        sel = df[df.part == part]
        h = sel[sel.quantity == Q.HESS_MAX].groupby("eps").value
        eps = np.asarray(h.mean().index, dtype=float)
        ax.plot(eps, h.mean().to_numpy(), "o-", ms=3, c="C0", label="max_x ‖∇²f‖₂ (measured)")
        if sel.seed.nunique() > 1:
            ax.fill_between(eps, h.min().to_numpy(), h.max().to_numpy(), color="C0", alpha=0.2, label="range over seeds")
        for q, (style, label) in BOUND_STYLE.items():
            ax.plot(eps, sel[sel.quantity == q].groupby("eps").value.mean().to_numpy(), style, lw=1.2,
                    label=label)
        i = -1 if part == Part.RANDOM else 0  # through the asymptotic end (random) or the smallest ε (trained)
        anchor = h.mean().to_numpy()[i] * eps[i]
        ax.plot(eps, anchor / eps, c="0.6", lw=3, alpha=0.35, label=f"ε⁻¹ guide through ε={eps[i]:g}")
        ax.set(xscale="log", yscale="log", xlabel="ε", ylabel="max Hessian spectral norm (output/input²)",
               title=f"{part}: curvature vs ε")
        ax.legend(loc="best", fontsize=6, framealpha=0.85)
    plotting.save(fig, run_dir, "hessian_norm_vs_eps")


def _accuracy_vs_radius(acc: pd.DataFrame, run_dir: Path) -> None:
    datas = list(acc.data.unique())
    fig, axes = plotting.figure(2, len(datas), width=4.4, height=3.3)
    for row, data in zip(axes, datas):
        for ax, norm in zip(row, (Norm.LINF, Norm.L2)):
            d = acc[(acc.data == data) & (acc.norm == norm)]
            for i, (e, c) in enumerate(d.groupby("eps")):
                both = c[c.loss == Loss.BOTH].sort_values("radius")
                ax.plot(both.radius, both.value, "o-", ms=3, c=f"C{i}", label=f"ε={e:g} PGD")
                cert = c[c.loss == Loss.CERTIFIED].sort_values("radius")
                if len(cert):
                    ax.plot(cert.radius, cert.value, "x--", ms=4, c=f"C{i}", lw=0.9, label=f"ε={e:g} certified")
            name = "ℓ∞" if norm == Norm.LINF else "ℓ2"
            ax.set(xlabel=f"{name} radius (pixels in [0, 1])", ylabel="accuracy", ylim=(-0.02, 1.02),
                   title=f"{data}: {name} PGD (CE or margin)")
            ax.legend(fontsize=6, ncol=2, loc="upper right")
    plotting.save(fig, run_dir, "robust_accuracy_vs_radius")


def _clean_vs_robust(df: pd.DataFrame, acc: pd.DataFrame, p, run_dir: Path) -> None:
    datas = list(acc.data.unique())
    fig, axes = plotting.figure(len(datas), width=4.4)
    for ax, data in zip(axes[0], datas):
        att = df[(df.part == Part.ATTACK) & (df.data == data)]
        clean = att[att.quantity == Q.CLEAN_ACC].sort_values("eps")
        ax.plot(clean.eps, clean.value, "o-", c="k", label="clean")
        std = p.attack.standard[data]
        for norm, style in ((Norm.LINF, "s-"), (Norm.L2, "^-")):
            r = float(std[norm])
            for loss, ls in ((Loss.BOTH, style), (Loss.CE, ":")):
                c = acc[(acc.data == data) & (acc.norm == norm) & (acc.loss == loss) & np.isclose(acc.radius, r)]
                c = c.sort_values("eps")
                name = "ℓ∞" if norm == Norm.LINF else "ℓ2"
                ax.plot(c.eps, c.value, ls, ms=4,
                        label=f"{name}={r:g}, " + ("CE or margin" if loss == Loss.BOTH else "CE only"))
        c = acc[(acc.data == data) & (acc.loss == Loss.CERTIFIED) & np.isclose(acc.radius, float(std.l2))]
        c = c.sort_values("eps")
        ax.plot(c.eps, c.value, "x--", label=f"certified ℓ2={float(std.l2):g}")
        ax.set(xscale="log", xlabel="ε", ylabel="test accuracy", ylim=(-0.02, 1.02), title=f"{data}: clean vs robust")
        ax.legend(fontsize=6, loc="center left")
    plotting.save(fig, run_dir, "clean_vs_robust_vs_eps")


def _certified(certs: pd.DataFrame, run_dir: Path) -> None:
    datas = list(certs.data.unique())
    fig, axes = plotting.figure(len(datas), width=4.4)
    for ax, data in zip(axes[0], datas):
        for i, (e, c) in enumerate(certs[certs.data == data].groupby("eps")):
            r = np.sort(c.certified_l2.to_numpy())
            ax.plot(r, 1 - np.arange(len(r)) / len(r), c=f"C{i}", label=f"ε={e:g} certified")
            a = np.sort(c.nearest_adv_l2.replace(np.inf, np.nan).dropna().to_numpy())
            if len(a):
                ax.plot(a, 1 - np.arange(len(a)) / len(c), c=f"C{i}", ls=":", lw=0.9, label=f"ε={e:g} attack")
        ax.set(xlabel="ℓ2 radius (pixels in [0, 1])", ylabel="fraction of test images ≥ radius", xlim=(0, None),
               title=f"{data}: certified ℓ2 radius (solid) vs nearest adversarial found (dotted, steps at the sweep radii)")
        ax.title.set_fontsize(8)
        ax.legend(fontsize=6, ncol=2)
    plotting.save(fig, run_dir, "certified_radius_distribution")


def plot(run_dir: Path) -> None:
    df = pd.read_csv(run_dir / "results.csv")
    _curvature(df, run_dir)
    if "norm" in df and (df.quantity == Q.ROBUST_ACC).any():
        p = OmegaConf.load(run_dir / "config.yaml").params
        acc = df[df.quantity == Q.ROBUST_ACC]
        _accuracy_vs_radius(acc, run_dir)
        _clean_vs_robust(df, acc, p, run_dir)
    if (run_dir / "certificates.csv").exists():
        _certified(pd.read_csv(run_dir / "certificates.csv"), run_dir)
