"""The `hjexp` command line: list, claims, run, judge, plot, report, bench."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hjexp.errors import UserError

app = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False, no_args_is_help=True,
                  help="Reproduce, test and extend the Hamilton–Jacobi theory of deep learning.")
# Wide enough for the verdict table when output goes to a file or a pipe (rich assumes 80).
console = Console(width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)


def _fail(message: str) -> None:
    err.print(f"[red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


@app.command("list")
def list_() -> None:
    """Experiments, their claim, profiles and rough cost."""
    from hjexp import registry

    table = Table()
    for col in ("name", "claim", "profiles", "cost (smoke / quick / paper)"):
        table.add_column(col, overflow="fold")
    try:
        registry.check()  # a package or config without its partner is an error here, never a silent omission
        for exp in registry.experiments().values():
            table.add_row(exp.name, exp.claim, "smoke quick paper", exp.cost)
    except UserError as exc:
        _fail(str(exc))
    console.print(table)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run(
    name: Annotated[str, typer.Argument(help="Experiment name (see `hjexp list`).")],
    overrides: Annotated[list[str] | None, typer.Argument(help="Hydra overrides KEY=VALUE, e.g. profile=paper params.eps=0.1")] = None,
    cfg: Annotated[bool, typer.Option("--cfg", help="Print the composed config and exit.")] = False,
    multirun: Annotated[bool, typer.Option("--multirun", "-m", help="Sweep comma-separated values through Hydra's launcher.")] = False,
    skip_done: Annotated[bool, typer.Option("--skip-done", help="Do nothing if the latest complete run has this config and commit.")] = False,
) -> None:
    """Run one experiment; ends with a table of claims, theory vs measured, verdicts."""
    from omegaconf import OmegaConf

    from hjexp import config, registry
    from hjexp.runner import execute

    overrides = list(overrides or [])
    try:
        registry.get(name)
        if multirun:
            _run_sweep(name, overrides)
            return
        composed = config.load(name, overrides)
        if cfg:
            console.print(OmegaConf.to_yaml(composed), highlight=False)
            return
        if skip_done:
            from hjexp.runner import up_to_date

            done = up_to_date(name, composed)
            if done is not None:
                console.print(f"{name}: up to date, skipped (complete run {done} has this config and commit)")
                return
        execute(name, composed, overrides, console)
    except UserError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        err.print("[yellow]interrupted:[/] the run folder is marked 'interrupted'; finished runs are untouched")
        raise typer.Exit(130) from None


def _run_sweep(name: str, overrides: list[str]) -> None:
    from hjexp.sweep import job_status, multirun
    from hjexp.sweep_summary import aggregate

    jobs = multirun(name, overrides)
    aggregate(jobs[0].parent)
    table = Table(title=f"sweep {jobs[0].parent}")
    table.add_column("job")
    table.add_column("status")
    for job in jobs:
        table.add_row(job.name, job_status(job))
    console.print(table)
    console.print(f"one row per job × claim in {jobs[0].parent / 'sweep.csv'}; figures and tables: "
                  f"`hjexp report {jobs[0].parent}`")
    failed = [j.name for j in jobs if job_status(j) != "complete"]
    if failed:
        _fail(f"sweep jobs {', '.join(failed)} did not complete; see their run.log")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def judge(
    run_dir: Annotated[Path, typer.Argument(help="A complete run folder, e.g. outputs/identity/latest.")],
    overrides: Annotated[list[str] | None, typer.Argument(help="judge.KEY=VALUE, e.g. judge.delta=0.2")] = None,
) -> None:
    """Re-judge a saved run from its CSVs (e.g. with another tolerance); rewrites summary.csv."""
    from hjexp import registry
    from hjexp.claims.judging import judge_dir
    from hjexp.results import read_json
    from hjexp.runner import print_summary

    try:
        run_dir = run_dir.resolve()
        if not (run_dir / "meta.json").exists():
            raise UserError(f"{run_dir} is not a run folder (no meta.json); give a folder under outputs/<experiment>/")
        meta = read_json(run_dir / "meta.json")
        if meta.get("status") != "complete":
            raise UserError(f"{run_dir} is {meta.get('status')}, not complete; finish it with `hjexp run "
                            f"{meta.get('experiment')} resume={run_dir}` first")
        summary = judge_dir(registry.get(meta["experiment"]).module, run_dir, list(overrides or []))
    except UserError as exc:
        _fail(str(exc))
    print_summary(summary, run_dir, console)


@app.command()
def claims(
    name: Annotated[str | None, typer.Argument(help="One experiment; default: all.")] = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print docs/claims.md instead of a table.")] = False,
) -> None:
    """The claim catalogue: every claim id, its kind and criterion (runs nothing)."""
    from hjexp import registry
    from hjexp.claims.docs import catalogue_markdown

    try:
        if not name:
            registry.check()  # docs/claims.md must not silently leave out an experiment missing its config
        exps = [registry.get(name)] if name else [e for e in registry.experiments().values() if e.module]
    except UserError as exc:
        _fail(str(exc))
    if markdown:
        console.print(catalogue_markdown(exps), highlight=False, markup=False, soft_wrap=True)
        return
    table = Table()
    for col in ("claim id", "kind", "theory", "criterion"):
        table.add_column(col, overflow="fold")
    for exp in exps:
        for spec in exp.module.CLAIMS:
            table.add_row(*(escape(v) for v in (spec.claim_id, spec.kind, spec.theory, spec.rule)))
    console.print(table)


@app.command()
def plot(run_dirs: Annotated[list[Path] | None, typer.Argument(help="Run folders; default: every outputs/*/latest.")] = None) -> None:
    """Re-draw figures from saved CSVs (no recompute)."""
    from hjexp.paths import outputs_root
    from hjexp.runner import plot_run

    dirs = list(run_dirs or sorted(outputs_root().glob("*/latest")))
    if not dirs:
        _fail(f"no runs found under {outputs_root()}/; run an experiment first, e.g. `hjexp run identity`")
    try:
        for d in dirs:
            figures = plot_run(d.resolve())
            console.print(f"{d}: {len(figures)} figures in {d / 'figures'}")
    except UserError as exc:
        _fail(str(exc))


def scorecard_table(card) -> Table:
    """The paper's scorecard as the terminal shows it after `hjexp report`."""
    from hjexp.runner import VERDICT_COLOURS
    from hjexp.scorecard import RULE

    table = Table(title="Scorecard: the paper's headline statements", caption=f"Rule: {RULE}", show_lines=True)
    for col, width in (("statement", 48), ("verdict", 12), ("deciding row", 52), ("evidence", 34)):
        table.add_column(col, overflow="fold", max_width=width)
    for ln in card:
        colour = VERDICT_COLOURS.get(ln.verdict, "dim")
        table.add_row(escape(ln.headline.statement), f"[{colour}]{ln.verdict}[/]", escape(ln.number),
                      escape(ln.evidence + (f"; {ln.controls}" if ln.controls else "")))
    return table


@app.command()
def report(
    paths: Annotated[list[Path] | None, typer.Argument(help="Run or sweep folders; default: every outputs/*/latest.")] = None,
    out: Annotated[Path | None, typer.Option(help="Folder for REPORT.md and REPORT.html (default outputs/report).")] = None,
) -> None:
    """Claims (kind, theory, measured, criterion, verdict), figures and environment of runs and sweeps."""
    from hjexp.paths import outputs_root
    from hjexp.report import write_report

    try:
        md, html, card = write_report(list(paths or []), out or outputs_root() / "report")
    except UserError as exc:
        _fail(str(exc))
    console.print(scorecard_table(card))
    console.print(f"report written to {md} and {html}")


@app.command()
def bench(
    overrides: Annotated[list[str] | None, typer.Argument(help="device=auto|cpu|cuda (same as --device)")] = None,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda")] = "auto",
) -> None:
    """Measure engine throughput (ns per element-step); prints, asserts nothing."""
    from hjexp.bench import run_bench
    from hjexp.runner import resolve_device

    try:
        for o in overrides or []:
            key, _, value = o.partition("=")
            if key != "device" or value not in ("auto", "cpu", "cuda"):
                raise UserError(f"hjexp bench takes only device=auto|cpu|cuda, got {o!r}")
            device = value
        run_bench(resolve_device(device), console)
    except UserError as exc:
        _fail(str(exc))


def main() -> None:
    try:
        app()
    except UserError as exc:  # pragma: no cover - commands catch their own
        err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)  # e.g. paths' refusal at import
        sys.exit(2)
