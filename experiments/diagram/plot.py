"""diagram, plot: the commutative diagram with each edge's measured error, the ε → 0 gaps, Lipschitz ratios."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from hjexp import plotting

from .contract import Corner, Edge, How, Name, Part, Q

CORNERS = {  # drawn node: (x, y, title, formula); figure nodes (three have no rows of their own), not row keys
    "network": (0.0, 2.0, "network", "LSE_ε(Wx + b)"),
    "tropical": (1.0, 2.0, "tropical", "max_j (w_j·x + b_j)"),
    "pde": (0.0, 1.0, "viscous PDE (Hopf–Cole)", "|x|²/4t − u_ε(x)"),
    "hopflax": (1.0, 1.0, "Hopf–Lax (ε = 0)", "|x|²/4t − u_0(x)"),
    "convex": (0.0, 0.0, "convex program (mirror ascent)", "max_Δ ⟨p, z⟩ + εH(p)"),
    "legendre": (1.0, 0.0, "Legendre–Fenchel (fast LT)", "φ*(x/2t)"),
}


def _err(df, edge) -> float:
    v = df[(df.part == Part.EDGE) & (df.edge == edge)].value
    return float(v.max()) if len(v) else math.nan


def _diagram(ax, df: pd.DataFrame) -> None:
    ax.set_axis_off()
    ax.set(xlim=(-0.55, 1.55), ylim=(-0.45, 2.45))
    for x, y, title, formula in CORNERS.values():
        ax.text(x, y, f"{title}\n{formula}", ha="center", va="center", fontsize=9,
                bbox=dict(boxstyle="round,pad=0.5", fc="#eef3fb" if x == 0 else "#fbf1e6", ec="0.4"))
    cv = df[df.part == Part.CONVEX]
    vert = df[(df.part == Part.VERTICAL) & (df.quantity == Q.MAX_RATIO)]

    def ratio(corner):
        v = vert[vert.corner == corner].value
        return f"max gap/(ε log N) = {v.max():.3f}" if len(v) else "not computed"

    value_err = max(cv[cv.quantity == Q.VALUE_ERR_MAX].value.max(), -cv[cv.quantity == Q.VALUE_ERR_MIN].value.min())
    edges = [  # (from, to, label, horizontal?)
        ("network", "tropical", f"ε → 0\n{ratio(Corner.NETWORK)}", True),
        ("pde", "hopflax", f"ε → 0\n{ratio(Corner.PDE)}", True),
        ("convex", "legendre", f"ε → 0 (d ≤ 2)\n{ratio(Corner.CONVEX)}", True),
        ("network", "pde", f"exact: {_err(df, Edge.NETWORK_PDE):.1e}", False),
        ("tropical", "hopflax", f"exact: {_err(df, Edge.TROPICAL_HOPFLAX):.1e}", False),
        ("pde", "convex", f"value: {value_err:.1e}\n"
                          f"(solver tol {cv[cv.quantity == Q.TOL].value.max():.0e})", False),
        ("hopflax", "legendre", f"exact: {_err(df, Edge.HOPFLAX_LEGENDRE):.1e}\n"
                                f"(tropical: {_err(df, Edge.TROPICAL_LEGENDRE):.1e})", False),
    ]
    for a, b, label, horizontal in edges:
        (x0, y0), (x1, y1) = CORNERS[a][:2], CORNERS[b][:2]
        if horizontal:
            start, end, mid = (x0 + 0.36, y0), (x1 - 0.36, y1), ((x0 + x1) / 2, y0 + 0.2)
        else:
            start, end, mid = (x0, y0 - 0.2), (x1, y1 + 0.2), (x0 + (0.05 if x0 == 0 else -0.05), (y0 + y1) / 2)
        ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="->" if horizontal else "<->", lw=1.2))
        ax.text(*mid, label, ha="center" if horizontal else ("left" if x0 == 0 else "right"), va="center",
                fontsize=7.5, color="#1f4e9a" if horizontal else "#7a3d00")
    ax.set_title("One ε, four views: measured max error on each edge (all sizes)", fontsize=10)


def plot(run_dir: Path) -> None:
    df = pd.read_csv(run_dir / "results.csv")
    fig, axes = plotting.figure(1, width=7.0, height=6.2)
    _diagram(axes[0][0], df)
    plotting.save(fig, run_dir, "diagram_commutes")

    fig, axes = plotting.figure(2)
    ax1, ax2 = axes[0]
    sup = df[(df.part == Part.GAP_SUP) & (df.corner == Corner.NETWORK)]
    eps = np.sort(sup.eps.dropna().unique())
    colours = dict(zip(sorted(sup.N.unique()), ("tab:blue", "tab:green", "tab:purple", "tab:orange")))
    markers = dict(zip(sorted(sup.d.unique()), "o^sD"))
    for (d, N), c in sup.groupby(["d", "N"]):
        med = c.groupby("eps").value.median()
        ax1.plot(med.index, med.values, marker=markers[d], ms=3, lw=0.7, alpha=0.7, c=colours[N])
    for N, colour in colours.items():
        ax1.plot(eps, eps * math.log(N), "--", c=colour, lw=0.9, label=f"ε log {int(N)} (bound, N={int(N)})")
    ax1.plot([], [], "k-", marker="o", ms=3, lw=0.7, label="sup on tie sets, median over seeds; one line per (d, N)")
    ax1.plot(eps, eps * math.log(2), "k:", lw=0.8, label="ε log 2 (two-fold tie)")
    ctrl = df[df.part == Part.CONTROL]
    for N, c in ctrl.groupby("N"):
        med = c.groupby("eps").value.median()
        ax1.plot(med.index, med.values, "s-.", ms=3, c="tab:red", alpha=0.4 + 0.5 * (N == ctrl.N.max()),
                 label=f"control: mean gap, d=1, N={int(N)}")
    ax1.set(xscale="log", yscale="log", xlabel="ε", ylabel="f_ε − f_0",
            title="ε → 0 gap: sup on tie sets (slope 1), mean (slope 2)")
    low = min(sup.value[sup.value > 0].min(), ctrl.value[ctrl.value > 0].min() if len(ctrl) else 1.0)
    ax1.set_ylim(bottom=low * 1e-4)  # room under the curves for the legend
    ax1.legend(fontsize=6, loc="lower right")
    act = df[(df.part == Part.ACTIVATION) & (df.quantity == Q.RELU_SUP_GAP)]
    for name, style in ((Name.SILU, "o-"), (Name.GELU, "s-"), (Name.SOFTPLUS, "^-")):
        c = act[act.name == name].sort_values("eps")
        ax2.plot(c.eps, c.value, style, ms=3, label=f"sup |{name}_ε − ReLU|")
    ax2.plot(eps, eps * math.log(2), "k:", lw=0.8, label="ε ln 2")
    ax2.set(xscale="log", yscale="log", xlabel="ε", ylabel="sup gap", title="Activations → ReLU as ε → 0")
    ax2.legend(fontsize=7)
    plotting.save(fig, run_dir, "gap_vs_eps")

    fig, axes = plotting.figure(2)
    lip = df[df.part == Part.LIPSCHITZ]
    for ax, (title, sel) in zip(axes[0], (("one layer: |∇f_ε| / max_j|w_j|", lip[lip.layers == 1]),
                                          ("composition: |∇F| / Π layer bounds", lip[lip.layers > 1]))):
        for (d, how), c in sel.groupby(["d", "how"]):
            m = c.groupby("eps").value.max()
            ax.plot(m.index, m.values, "o-" if how == How.ASCENT else "x:", ms=3, label=f"d={int(d)}, {how}")
        ax.axhline(1.0, c="k", lw=0.9, ls="--", label="bound")
        ax.set(xscale="log", xlabel="ε", ylabel="largest ratio found", title=title, ylim=(0, 1.1))
        ax.legend(fontsize=6, ncol=2)
    plotting.save(fig, run_dir, "lipschitz_vs_bound")
