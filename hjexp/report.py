"""`hjexp report`: claims, figures and environment of runs and sweeps, as Markdown and as one
self-contained HTML file (figures embedded), under outputs/report/."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from hjexp import registry
from hjexp.errors import UserError
from hjexp.paths import outputs_root
from hjexp.results import atomic_write, read_json
from hjexp.sweep_summary import aggregate, is_sweep, plot_sweep, swept_keys


@dataclass
class Section:
    title: str
    path: Path
    about: str
    meta: dict
    summary: pd.DataFrame
    figures: list[Path]
    sweep_keys: list[str] = field(default_factory=list)

    @property
    def counts(self) -> str:
        c = self.summary.verdict.value_counts() if "verdict" in self.summary else {}
        return ", ".join(f"{c.get(v, 0)} {v}" for v in ("pass", "fail", "inconclusive", "info"))

    def notable(self, verdict: str) -> list[str]:
        if "verdict" not in self.summary:
            return []
        return list(self.summary[self.summary.verdict == verdict].claim_id.dropna().unique())


def _interval(r) -> str:
    return "" if pd.isna(r.get("ci_low")) else f"[{r['ci_low']:.4g}, {r['ci_high']:.4g}]"


def _text(value) -> str:
    """A cell as text; an empty CSV cell (read back as NaN) stays empty."""
    return "" if isinstance(value, float) and pd.isna(value) else str(value)


def _about(name: str) -> str:
    exp = registry.experiments().get(name)
    return exp.claim if exp and exp.module else ""


def _run_section(run: Path) -> Section:
    meta = read_json(run / "meta.json")
    if meta.get("status") != "complete":
        raise UserError(f"{run} is {meta.get('status')}, not complete; only complete runs go into a report")
    summary = pd.read_csv(run / "summary.csv")
    return Section(meta["experiment"], run, _about(meta["experiment"]), meta, summary,
                   sorted((run / "figures").glob("*.png")))


def _sweep_section(sweep: Path) -> Section:
    frame = aggregate(sweep)
    figures = plot_sweep(sweep, frame)
    metas = [read_json(j / "meta.json") for j in sorted(sweep.iterdir()) if (j / "meta.json").exists()]
    name = metas[0]["experiment"] if metas else sweep.parent.parent.name
    meta = dict(metas[0]) if metas else {}
    meta["wall_time_s"] = round(sum(m.get("wall_time_s", 0) for m in metas), 1)
    meta["jobs"] = f"{sum(m.get('status') == 'complete' for m in metas)} of {len(metas)} complete"
    return Section(f"{name} — sweep", sweep, _about(name), meta, frame, figures, swept_keys(frame))


def collect(paths: list[Path]) -> list[Section]:
    if not paths:
        paths = sorted(outputs_root().glob("*/latest"))
        if not paths:
            raise UserError(f"no complete runs under {outputs_root()}/; run an experiment first, e.g. `hjexp run identity`")
    sections = []
    for p in paths:
        p = p.resolve()
        if (p / "meta.json").exists():
            sections.append(_run_section(p))
        elif p.is_dir() and is_sweep(p):
            sections.append(_sweep_section(p))
        else:
            raise UserError(f"{p} is neither a run folder (meta.json) nor a sweep folder (numbered jobs)")
    return sections


def _markdown(sections: list[Section], out_dir: Path) -> str:
    lines = ["# hjexp report", "",
             "Each claim of arXiv 2605.28983 that hjexp checks: kind, theory, measured value (with interval), "
             "the criterion and the verdict. `fail` means the data contradict the paper's statement, `pass` that "
             "they support it, `inconclusive` that they cannot decide, `info` is reported, not judged.", ""]
    for s in sections:
        m = s.meta
        lines += [f"## {s.title}", "", s.about, "",
                  f"`{s.path}` — profile {m.get('profile')}, device {m.get('device')}, dtype {m.get('dtype')}, "
                  f"commit {str(m.get('git_commit'))[:12]}, wall time {m.get('wall_time_s', '?')} s"
                  + (f", jobs {m['jobs']}, swept: {', '.join(s.sweep_keys)}" if s.sweep_keys else "") + ".", "",
                  f"Verdicts: {s.counts}.", ""]
        for verdict, words in (("fail", "Does not hold here"), ("inconclusive", "Undecided")):
            if s.notable(verdict):
                lines.append(f"{words}: " + ", ".join(f"`{c}`" for c in s.notable(verdict)) + ".")
        lines += ["", "| " + " | ".join((["job", *s.sweep_keys] if s.sweep_keys else []) +
                                        ["claim", "kind", "theory", "measured", "interval", "criterion", "verdict"]) + " |"]
        lines.append("|" + "---|" * (7 + (len(s.sweep_keys) + 1 if s.sweep_keys else 0)))
        for r in s.summary.dropna(subset=["claim_id"]).to_dict("records") if "claim_id" in s.summary else []:
            cells = ([str(r["job"]), *(str(r[k]) for k in s.sweep_keys)] if s.sweep_keys else []) + [
                f"`{r['claim_id']}`", r["kind"], _text(r["theory"]), f"{r['measured']:.4g}", _interval(r),
                str(r["criterion"]).replace("|", "\\|"), f"**{r['verdict']}**"]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        lines += [f"![{f.stem}]({os.path.relpath(f, out_dir.resolve())})" for f in s.figures]
        lines.append("")
    return "\n".join(lines)


def _html(sections: list[Section]) -> str:
    env = Environment(loader=PackageLoader("hjexp", "templates"), autoescape=select_autoescape(["html"]))
    env.filters["interval"] = _interval
    env.filters["id"] = id
    env.filters["text"] = _text
    env.filters["num"] = lambda v: "" if pd.isna(v) else f"{v:.4g}"
    embedded = {f: base64.b64encode(f.read_bytes()).decode() for s in sections for f in s.figures}
    records = {id(s): (s.summary.dropna(subset=["claim_id"]).to_dict("records") if "claim_id" in s.summary else [])
               for s in sections}
    return env.get_template("report.html.j2").render(sections=sections, records=records, embedded=embedded)


def write_report(paths: list[Path], out_dir: Path) -> tuple[Path, Path]:
    sections = collect(paths)
    out_dir.mkdir(parents=True, exist_ok=True)
    md, html = out_dir / "REPORT.md", out_dir / "REPORT.html"
    atomic_write(md, _markdown(sections, out_dir))
    atomic_write(html, _html(sections))
    return md, html
