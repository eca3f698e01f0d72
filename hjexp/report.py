"""`hjexp report`: the paper's scorecard, then claims, figures and environment of runs and sweeps, as
Markdown and as one self-contained HTML file (figures embedded, re-encoded small; GIFs linked), under
outputs/report/."""

from __future__ import annotations

import base64
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from PIL import Image

from hjexp import registry
from hjexp.claims.kinds import is_forced
from hjexp.errors import UserError
from hjexp.paths import outputs_root
from hjexp.results import atomic_write, read_json
from hjexp.scorecard import RULE, Line, experiment_order, scorecard
from hjexp.sweep_summary import aggregate, is_sweep, plot_sweep, swept_keys

# Embedded figures are re-encoded to at most this width with a 64-colour palette: line plots lose
# nothing visible and the HTML of a paper run drops from ~10 MB to a few MB.
FIGURE_WIDTH = 1000
FIGURE_COLOURS = 64


@dataclass
class Section:
    title: str
    path: Path
    about: str
    meta: dict
    summary: pd.DataFrame
    figures: list[Path]
    sweep_keys: list[str] = field(default_factory=list)
    animations: list[Path] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        """The section's link target: the experiment's name (a sweep's gets a suffix)."""
        return self.meta.get("experiment", self.title) + ("-sweep" if self.sweep_keys else "")

    @property
    def counts(self) -> str:
        if "verdict" not in self.summary:
            return ""
        c = self.summary.verdict.value_counts()
        forced = sum(is_forced(x) for x in self.summary[self.summary.verdict == "pass"].criterion)
        return ", ".join(f"{c.get(v, 0)} {v}" + (f" ({forced} arithmetic)" if v == "pass" and forced else "")
                         for v in ("pass", "fail", "inconclusive", "info"))

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
                   sorted((run / "figures").glob("*.png")), animations=sorted((run / "figures").glob("*.gif")))


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
        rank = {name: i for i, name in enumerate(experiment_order())}
        paths = sorted(outputs_root().glob("*/latest"), key=lambda p: (rank.get(p.parent.name, len(rank)), p))
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


def _scorecard(sections: list[Section]) -> list[Line]:
    return scorecard([s.summary for s in sections if not s.sweep_keys])


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def _scorecard_markdown(lines: list[Line], sections: list[Section]) -> list[str]:
    where = {s.meta.get("experiment"): s.anchor for s in sections if not s.sweep_keys}
    out = ["## Scorecard", "",
           "Each headline statement of the paper, its verdict rolled up from the judged rows that test it, and "
           f"the number that decides it. Rule: {RULE}", "",
           "| statement | verdict | deciding row | evidence | controls | literature | section |", "|---|---|---|---|---|---|---|"]
    for ln in lines:
        links = ", ".join(f"[{e}](#{where[e]})" for e in ln.headline.experiments if e in where) or "—"
        out.append("| " + " | ".join(_cell(c) for c in (
            ln.headline.statement, f"**{ln.verdict}**", ln.number, ln.evidence, ln.controls or "—",
            "; ".join(x for x in (ln.headline.literature, ln.anchors) if x) or "—", links)) + " |")
    return out + [""]


def _markdown(sections: list[Section], out_dir: Path) -> str:
    lines = ["# hjexp report", "",
             "Each claim of arXiv 2605.28983 that hjexp checks: kind, theory, measured value (with interval), "
             "the criterion and the verdict. `fail` means the data contradict the paper's statement, `pass` that "
             "they support it, `inconclusive` that they cannot decide, `info` is reported, not judged; a pass "
             "marked arithmetic is forced by mathematics and is no evidence by itself.", ""]
    lines += _scorecard_markdown(_scorecard(sections), sections)
    for s in sections:
        m = s.meta
        lines += [f'<a id="{s.anchor}"></a>', "", f"## {s.title}", "", s.about, "",
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
        lines += [f"Animation: [{f.name}]({os.path.relpath(f, out_dir.resolve())})" for f in s.animations]
        lines.append("")
    return "\n".join(lines)


def _html(sections: list[Section], out_dir: Path) -> str:
    env = Environment(loader=PackageLoader("hjexp", "templates"), autoescape=select_autoescape(["html"]))
    env.filters["interval"] = _interval
    env.filters["id"] = id
    env.filters["text"] = _text
    env.filters["num"] = lambda v: "" if pd.isna(v) else f"{v:.4g}"
    embedded = {f: base64.b64encode(_compact_png(f)).decode() for s in sections for f in s.figures}
    records = {id(s): (s.summary.dropna(subset=["claim_id"]).to_dict("records") if "claim_id" in s.summary else [])
               for s in sections}
    where = {s.meta.get("experiment"): s.anchor for s in sections if not s.sweep_keys}
    return env.get_template("report.html.j2").render(sections=sections, records=records, embedded=embedded,
                                                     scorecard=_scorecard(sections), rule=RULE, where=where,
                                                     out_dir=out_dir.resolve(), relpath=os.path.relpath)


def _compact_png(path: Path) -> bytes:
    """A figure re-encoded for embedding: at most FIGURE_WIDTH wide, FIGURE_COLOURS-colour palette, optimised."""
    with Image.open(path) as im:
        im = im.convert("RGB")
        if im.width > FIGURE_WIDTH:
            im = im.resize((FIGURE_WIDTH, round(im.height * FIGURE_WIDTH / im.width)), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        im.quantize(FIGURE_COLOURS, method=Image.Quantize.MEDIANCUT).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def write_report(paths: list[Path], out_dir: Path) -> tuple[Path, Path, list[Line]]:
    """Write REPORT.md and REPORT.html; return their paths and the scorecard (for the terminal)."""
    sections = collect(paths)
    out_dir.mkdir(parents=True, exist_ok=True)
    md, html = out_dir / "REPORT.md", out_dir / "REPORT.html"
    atomic_write(md, _markdown(sections, out_dir))
    atomic_write(html, _html(sections, out_dir))
    return md, html, _scorecard(sections)
