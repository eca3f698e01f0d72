"""scaling-dim — does test RMSE of a trained width-N layer fall like N^(−1/d_eff), d_eff the
intrinsic dimension of the data? (docs/theory.md §4.2, docs/derivations/scaling_manifold_target.md)

Parts: the authors' setup (‖x‖ on a box, LSE layer, ε = N^(−1/d), beside ε fixed); the real
question — data on a d_int-manifold in R^D, an in-class non-convex target (Hopf–Lax of cones with
tips on the manifold), the trained Hopf–Cole form: does α̂ follow d_int rather than D, is it the
paper's 1/d_int or the literature's 2/d_int (Sharma & Kaplan 2022), and is d_eff = 1/α̂ the TwoNN
dimension? (manifold_judge.py: one judged row per finding, per-setting readings info; window.py:
fit windows that stop at floors); the worst Lipschitz family, where 1/d_int is the rate (worst.py);
a real-data case, MNIST digits in PCA coordinates, and published exponents (real.py). See
docs/derivations/scaling_manifold_target.md.
"""

from hjexp.data.manifolds import EMBEDDINGS
from hjexp.errors import UserError

from .contract import CONTRACT, Embedding, EpsMode
from .judge import CLAIMS, judge
from .measure import measure
from .plot import plot

CLAIM = "test RMSE of a trained width-N layer ∝ N^(−1/d_eff), d_eff the intrinsic dimension of the data"
COST = "smoke 3 s / quick ~65 s / paper ~8.2 min"  # authors + manifold: quick 51 s, paper 7.1-7.3 min (quiet, threads=2); worst + real parts added: quick ~15 s, paper ~1 min (10 s + 50 s, measured on a loaded machine)
DEFAULT_DTYPE = "float32"
EPS_MODES = (EpsMode.TIED, EpsMode.FIXED, EpsMode.VALIDATION)


def validate(p) -> None:
    """One line per impossible value (what is wrong, how to fix it)."""
    bad = [m for m in p.authors.eps_modes if m not in EPS_MODES]
    if bad:
        raise UserError(f"params.authors.eps_modes: unknown {bad}; choose from {list(EPS_MODES)}")
    if p.manifold.eps_mode not in EPS_MODES:
        raise UserError(f"params.manifold.eps_mode={p.manifold.eps_mode!r}: choose one of {list(EPS_MODES)}")
    bad = [e for e in p.manifold.embeddings if e not in EMBEDDINGS]
    if bad:
        raise UserError(f"params.manifold.embeddings: unknown {bad}; choose from {list(EMBEDDINGS)}")
    if Embedding.CURVED in p.manifold.embeddings and 2 * max(p.manifold.d_int) > min(p.manifold.D):
        raise UserError(f"params.manifold.D={list(p.manifold.D)} is too small: the curved embedding needs D ≥ 2·d_int")
    for part in (p.authors, p.manifold, p.worst, p.real):
        if part.seeds < 2:
            raise UserError(f"seeds={part.seeds}: the slope interval is a t-interval over seeds; give seeds ≥ 2")
    for d in p.authors.dims:
        if str(d) not in p.authors.widths:
            raise UserError(f"params.authors.widths has no list for d={d}; add params.authors.widths.'{d}'=[...]")
        if len(p.authors.widths[str(d)]) < 2:
            raise UserError(f"params.authors.widths.'{d}' needs ≥ 2 widths to fit a slope")
    for name in ("manifold", "worst", "real"):
        part = p[name]
        if len(part.widths) < 2:
            raise UserError(f"params.{name}.widths needs ≥ 2 widths to fit a slope")
        if max(part.widths) > part.n_train:
            raise UserError(f"params.{name}.widths go up to {max(part.widths)} atoms but n_train="
                            f"{part.n_train}: atoms start on training points; raise n_train")
    if p.worst.embedding not in EMBEDDINGS:
        raise UserError(f"params.worst.embedding={p.worst.embedding!r}: choose one of {list(EMBEDDINGS)}")


__all__ = ["CLAIM", "CLAIMS", "CONTRACT", "COST", "DEFAULT_DTYPE", "judge", "measure", "plot", "validate"]
