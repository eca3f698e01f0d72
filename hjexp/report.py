"""`hjexp report`: every latest complete run's claims and figures in one Markdown file."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from hjexp.errors import UserError
from hjexp.paths import outputs_root
from hjexp.results import atomic_write, read_json


def write_report(out: Path) -> Path:
    runs = sorted(outputs_root().glob("*/latest"))
    if not runs:
        raise UserError(f"no complete runs under {outputs_root()}/; run an experiment first, e.g. `hjexp run identity`")
    lines = ["# hjexp report", "",
             "Each claim of arXiv 2605.28983 that hjexp checks: theory, measured value (with interval), verdict.", ""]
    for link in runs:
        run = link.resolve()
        meta = read_json(run / "meta.json")
        summary = pd.read_csv(run / "summary.csv")
        lines += [f"## {meta['experiment']}", "",
                  f"Run `{run}` — profile {meta['profile']}, device {meta['device']}, "
                  f"commit {meta['git_commit'][:12]}, {meta.get('wall_time_s', '?')} s.", "",
                  "| claim | theory | measured | interval | verdict | description |", "|---|---|---|---|---|---|"]
        for r in summary.itertuples():
            interval = "" if pd.isna(r.ci_low) else f"[{r.ci_low:.4g}, {r.ci_high:.4g}]"
            lines.append(f"| `{r.claim_id}` | {r.theory} | {r.measured:.4g} | {interval} | **{r.verdict}** | {r.description} |")
        lines.append("")
        for fig in sorted((run / "figures").glob("*.png")):
            lines.append(f"![{fig.stem}]({os.path.relpath(fig, out.parent.resolve())})")
        lines.append("")
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, "\n".join(lines))
    return out
