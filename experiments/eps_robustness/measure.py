"""eps-robustness, measure: each part is one cached unit (resume= reloads finished parts).

A part whose data set is missing is skipped with a notice and a `skipped` row (judge.py turns it
into an info row); validate() refuses a run in which no requested part could run at all.
"""

from __future__ import annotations

import time

import pandas as pd

from hjexp.context import RunContext
from hjexp.data import images
from hjexp.errors import UserError

from .attack_part import attack_data
from .contract import Data, Part, Q
from .regression import image_part, random_part, trained1d_part

PARTS = (Part.RANDOM, Part.TRAINED1D, Part.MNIST, Part.FASHION, Part.CIFAR10, Part.ATTACK)
IMAGE_DATA = {Part.MNIST: "mnist", Part.FASHION: "fashion-mnist", Part.CIFAR10: "cifar10"}  # part -> images name


def _root(p):
    return p.data.root or None


def problems(p) -> dict[str, str]:
    """Unit (part, or attack-<data>) -> one line saying how to get its missing data set."""
    out = {}
    for part in p.parts:
        if part in IMAGE_DATA:
            msg = images.missing(IMAGE_DATA[part], _root(p))
            if msg:
                out[part] = msg
        elif part == Part.ATTACK:
            for data in p.attack.data:
                msg = images.missing(data, _root(p))
                if msg:
                    out[f"attack-{data}"] = msg
    return out


def validate(p) -> None:
    unknown = [x for x in p.parts if x not in PARTS]
    if unknown or not p.parts:
        raise UserError(f"params.parts={list(p.parts)}: choose from {', '.join(PARTS)}, e.g. params.parts=[random,mnist]")
    bad = [d for d in p.attack.data if d not in (Data.MNIST, Data.FASHION)]
    if bad:
        raise UserError(f"params.attack.data={list(p.attack.data)}: choose from mnist, fashion")
    dims = {**{f"images.pca_dim.{k}": v for k, v in p.images.pca_dim.items()}, "attack.pca_dim": p.attack.pca_dim,
            "attack.pgd.chunk": p.attack.pgd.chunk, "attack.peer.n_iter": p.attack.peer.n_iter,
            "attack.peer.restarts": p.attack.peer.restarts}
    for key, v in dims.items():
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise UserError(f"params.{key}={v} must be a positive integer, e.g. params.{key}=50")
    n_peer = p.attack.peer.n_images
    if not isinstance(n_peer, int) or isinstance(n_peer, bool) or n_peer < 0:
        raise UserError(f"params.attack.peer.n_images={n_peer} must be an integer ≥ 0 (0: no peer attack), "
                        "e.g. params.attack.peer.n_images=200")
    for d in p.attack.data:
        if d not in p.attack.radii or d not in p.attack.standard:
            raise UserError(f"params.attack.radii and .standard need an entry for {d}, e.g. params.attack.radii.{d}.linf=[0.1]")
        for norm in ("linf", "l2"):
            radii, std = list(p.attack.radii[d][norm]), p.attack.standard[d][norm]
            if not radii or min(radii) <= 0 or not any(abs(r - std) < 1e-12 for r in radii):
                raise UserError(f"params.attack.radii.{d}.{norm}={radii} must be positive radii that include the "
                                f"standard radius {std} (params.attack.standard.{d}.{norm})")
    missing = problems(p)
    runnable = [x for x in p.parts if x not in missing and
                (x != Part.ATTACK or any(f"attack-{d}" not in missing for d in p.attack.data))]
    if not runnable:
        raise UserError(next(iter(missing.values())))


def _skip(ctx: RunContext, unit: str, why: str) -> None:
    ctx.console.print(f"[yellow]eps-robustness: skipping {unit}: {why}[/]")
    ctx.log(f"skipped {unit}: {why}")
    ctx.add_rows([dict(part=unit, quantity=Q.SKIPPED, value=1.0, note=why)])


def _timed(ctx: RunContext, unit: str, fn) -> dict:
    start = time.perf_counter()
    result = ctx.cached(unit, fn)
    ctx.log(f"{unit}: {time.perf_counter() - start:.1f} s")
    return result


def measure(ctx: RunContext) -> None:
    p, root = ctx.params, _root(ctx.params)
    missing = problems(p)
    tables: dict[str, list[pd.DataFrame]] = {}

    def keep(result: dict) -> None:
        ctx.add_rows(result["rows"])
        for name, frame in result.get("tables", {}).items():
            tables.setdefault(name, []).append(frame)

    for part in p.parts:
        if part in missing:
            _skip(ctx, part, missing[part])
        elif part == Part.RANDOM:
            keep(_timed(ctx, "random", lambda: random_part(ctx, p.random)))
        elif part == Part.TRAINED1D:
            keep(_timed(ctx, "trained1d", lambda: trained1d_part(ctx, p.trained1d)))
        elif part in IMAGE_DATA:
            keep(_timed(ctx, part, lambda part=part: image_part(ctx, part, IMAGE_DATA[part], p.images,
                                                                 p.images.pca_dim[part], root)))
        else:
            for data in p.attack.data:
                unit = f"attack-{data}"
                if unit in missing:
                    _skip(ctx, unit, missing[unit])
                    continue
                keep(_timed(ctx, unit, lambda data=data: attack_data(ctx, data, p.attack, root)))
    for name, frames in tables.items():
        ctx.save_table(name, pd.concat(frames, ignore_index=True))
