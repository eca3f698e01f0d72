"""Aggregating a Hydra sweep: one row per job × claim with the swept keys as columns, and figures
of each claim's measured value over each numeric swept key."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from hjexp.results import read_json, write_csv


def is_sweep(path: Path) -> bool:
    return path.is_dir() and not (path / "meta.json").exists() and any(
        p.is_dir() and p.name.isdigit() for p in path.iterdir())


def _value(text: str):
    try:
        number = float(text)
        return int(number) if number.is_integer() and "." not in text else number
    except ValueError:
        return text


def aggregate(sweep_dir: Path) -> pd.DataFrame:
    """sweep.csv: job, status, the swept keys, then the summary.csv columns; written into the sweep folder."""
    rows = []
    jobs = sorted((p for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name))
    for job in jobs:
        meta = read_json(job / "meta.json") if (job / "meta.json").exists() else {"status": "not started"}
        keys = {}
        for o in meta.get("overrides", []):
            key, sep, value = o.partition("=")
            if sep and not key.startswith(("hydra", "out", "experiment")):
                keys[key] = _value(value)
        base = {"job": int(job.name), "status": meta.get("status"), **keys}
        summary = job / "summary.csv"
        if meta.get("status") == "complete" and summary.exists():
            rows += [{**base, **r} for r in pd.read_csv(summary).to_dict("records")]
        else:
            rows.append(base)
    frame = pd.DataFrame(rows)
    write_csv(sweep_dir / "sweep.csv", frame)
    return frame


def swept_keys(frame: pd.DataFrame) -> list[str]:
    fixed = {"job", "status", "claim_id", "kind", "description", "theory", "measured", "ci_low", "ci_high",
             "criterion", "verdict"}
    return [c for c in frame.columns if c not in fixed and frame[c].nunique() > 1]


def plot_sweep(sweep_dir: Path, frame: pd.DataFrame) -> list[Path]:
    """One figure per numeric swept key: each judged claim's measured value over that key."""
    from hjexp import plotting

    paths = []
    done = frame.dropna(subset=["claim_id"]) if "claim_id" in frame else frame.iloc[0:0]
    for key in swept_keys(frame):
        if done.empty or not pd.api.types.is_numeric_dtype(done[key]):
            continue
        claims = sorted(done.claim_id.unique())
        cols = min(3, len(claims))
        rows = math.ceil(len(claims) / cols)
        fig, axes = plotting.figure(cols, rows, width=3.6, height=2.6)
        for ax, cid in zip(axes.flat, claims):
            sel = done[done.claim_id == cid].sort_values(key)
            colours = sel.verdict.map({"pass": "tab:green", "fail": "tab:red", "inconclusive": "tab:orange",
                                       "info": "tab:blue"})
            ax.plot(sel[key], sel.measured, "-", c="0.6", lw=0.8)
            ax.scatter(sel[key], sel.measured, c=colours, s=18, zorder=3)
            ax.set_title(cid, fontsize=7)
            ax.set_xlabel(key)
            ax.set_ylabel("measured")
        for ax in list(axes.flat)[len(claims):]:
            ax.set_visible(False)
        fig.suptitle(f"sweep over {key} (green pass, red fail, orange inconclusive, blue info)", fontsize=9)
        paths += plotting.save(fig, sweep_dir, f"sweep_{key.replace('.', '_')}")
    return [p for p in paths if p.suffix == ".png"]
