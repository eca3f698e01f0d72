"""scaling-dim, judge's tables for plot: the fit windows and the fitted exponents, so plot draws what was judged
(windows.csv, alphas.csv; declared in contract.py) and never refits."""

from __future__ import annotations

import pandas as pd

from .contract import AlphaEmbedding, Setup
from .manifold_judge import fit_window, manifold_fits, settings_of


def windows(res: pd.DataFrame, r) -> pd.DataFrame:
    """Per (setup, d, embedding, D) curve of the manifold and worst parts: ``fitted``, how many of its widths (from
    the smallest) the fit window keeps; plot draws the others hollow."""
    rows = []
    for setup in (Setup.MANIFOLD, Setup.WORST):
        s = res[res.setup == setup]
        for (d, emb, D), c in s.groupby(["d", "embedding", "D"]):
            rows.append(dict(setup=setup, d=int(d), embedding=emb, D=int(D), fitted=int(fit_window(c, r)[0])))
    return pd.DataFrame(rows, columns=["setup", "d", "embedding", "D", "fitted"])


def alphas(m: pd.DataFrame, q, r) -> pd.DataFrame:
    """Per d_int: α̂ and its interval of each (embedding, D) setting (over its window) and of the pooled replicates."""
    rows = []
    for d in sorted(m.d.unique()):
        md = m[m.d == d]
        per, pooled = manifold_fits(md, settings_of(md, q), r)
        for (emb, D), f in [*per.items(), ((AlphaEmbedding.POOLED, 0), pooled)]:
            rows.append(dict(d=int(d), embedding=emb, D=int(D), alpha=f.est.slope, low=f.est.low, high=f.est.high))
    return pd.DataFrame(rows, columns=["d", "embedding", "D", "alpha", "low", "high"])
