"""The stage contract: declared tables are checked before judging, and a catalogued claim cannot vanish."""

from __future__ import annotations

import re
import types
from pathlib import Path

import pandas as pd
import pytest

from hjexp import claims as C
from hjexp import registry
from hjexp.claims.judging import RunData, judge_dir, summarise
from hjexp.contract import FLOAT, INT, STR, Contract, ContractError, Keys, RunParts, Table, check_frame, check_run

RESULTS = Table("results", {"part": STR, "value": FLOAT}, optional={"d": INT})


def _check(frame: pd.DataFrame, table: Table = RESULTS) -> str:
    with pytest.raises(ContractError) as err:
        check_frame("toy", table, frame)
    return str(err.value)


def test_a_frame_that_matches_passes_and_empty_optional_columns_are_any_dtype():
    check_frame("toy", RESULTS, pd.DataFrame({"part": ["a", "b"], "value": [1, 2.5], "d": [2.0, None]}))
    check_frame("toy", RESULTS, pd.DataFrame({"part": ["a"], "value": [None], "d": [None]}))


def test_each_break_is_one_line_naming_experiment_table_and_column():
    assert _check(pd.DataFrame({"part": ["a"]})) == "experiment toy, table results.csv: column value is declared but missing"
    assert _check(pd.DataFrame({"part": ["a"], "value": ["high"]})).startswith(
        "experiment toy, table results.csv: column value declared float but holds")
    assert "column d declared int" in _check(pd.DataFrame({"part": ["a"], "value": [1.0], "d": [2.5]}))
    assert "column part declared str" in _check(pd.DataFrame({"part": [1.0], "value": [1.0]}))
    assert _check(pd.DataFrame({"part": ["a"], "value": [1.0], "extra": [1]})) == (
        "experiment toy, table results.csv: column extra is written but not declared")
    for message in (_check(pd.DataFrame({"part": ["a"]})), _check(pd.DataFrame({"part": [1], "value": [1]}))):
        assert "\n" not in message


def test_key_columns_hold_only_their_constants():
    class Part(Keys):
        GIBBS = "gibbs"
        LSE = "lse_ffn"

    table = Table("results", {"part": STR, "value": FLOAT}, keys={"part": Part})
    check_frame("toy", table, pd.DataFrame({"part": ["gibbs", "lse_ffn"], "value": [0.0, 1.0]}))
    assert "column part holds ['gibs'], not among Part's keys" in _check(
        pd.DataFrame({"part": ["gibs"], "value": [0.0]}), table)


def test_keys_inherit_the_rows_shared_code_writes():
    """dtype_row (hjexp/claims/roundoff.py) writes part=dtype: an experiment's Part(RunParts) must admit it."""
    class Part(RunParts):
        BOUND = "bound"

    table = Table("results", {"part": STR, "value": FLOAT}, keys={"part": Part})
    check_frame("toy", table, pd.DataFrame({"part": ["bound", "dtype"], "value": [0.0, 1.0]}))
    assert Part.values() == {"bound", "dtype"} and RunParts.values() == {"dtype"}
    assert "not among Part's keys ['bound', 'dtype']" in _check(pd.DataFrame({"part": ["radius"], "value": [0.0]}), table)


def test_run_folder_check_names_a_missing_table_and_an_undeclared_one(tmp_path):
    contract = Contract(measure=(RESULTS, Table("extra", {"x": FLOAT}, required=False)))
    with pytest.raises(ContractError, match=r"^experiment toy, table results.csv: declared but not written"):
        check_run("toy", contract, tmp_path)
    pd.DataFrame({"part": ["a"], "value": [1.0]}).to_csv(tmp_path / "results.csv", index=False)
    assert set(check_run("toy", contract, tmp_path)) == {"results"}  # the optional table may be absent
    pd.DataFrame({"y": [1.0]}).to_csv(tmp_path / "stray.csv", index=False)
    with pytest.raises(ContractError, match=r"^experiment toy, table stray.csv: written but not declared"):
        check_run("toy", contract, tmp_path)


def _toy(judge) -> types.SimpleNamespace:
    specs = (C.Spec("toy.exact", "exact", "0", "an identity"), C.Spec("toy.slope.d{d}", "info", "", "a slope per d"))
    return types.SimpleNamespace(__name__="hjexp_experiments.toy", CLAIMS=specs, judge=judge)


def _run(tmp_path: Path) -> RunData:
    from omegaconf import OmegaConf

    rules = {"level": 0.95, "delta": 0.1, "stable_tol": 0.1, "band": [0.8, 1.25]}
    return RunData(tmp_path, OmegaConf.create({"params": {}, "judge": rules}))


def test_a_catalogued_claim_neither_judged_nor_skipped_fails_the_run_naming_it(tmp_path):
    only_slope = _toy(lambda run: [C.info("toy.slope.d2", "d = 2", 0.5, why="a diagnostic")])
    with pytest.raises(ContractError) as err:
        summarise(only_slope, _run(tmp_path))
    assert str(err.value) == ("experiment toy: claim toy.exact is catalogued but neither judged nor skipped with a "
                              "reason (C.skipped) in this run")
    only_exact = _toy(lambda run: [C.exact("toy.exact", "x", 0.0, tol=1e-12)])
    with pytest.raises(ContractError, match=r"claim toy\.slope\.d\{d\} is catalogued"):  # a pattern needs ≥ 1 instance
        summarise(only_exact, _run(tmp_path))


def test_a_skip_is_an_info_row_with_its_reason_and_covers_a_pattern(tmp_path):
    module = _toy(lambda run: [C.skipped("toy.exact", "the part is off in this profile"),
                               C.skipped("toy.slope.d{d}", "no d was run")])
    summary = summarise(module, _run(tmp_path)).set_index("claim_id")
    assert list(summary.index) == ["toy.exact", "toy.slope.d{d}"]
    assert (summary.verdict == "info").all() and (summary.kind == "info").all()
    assert summary.criterion["toy.exact"] == ("skipped, not measured in this run: the part is off in this profile "
                                              "(catalogued as exact)")
    assert summary.description["toy.exact"] == "an identity"  # from the catalogue
    specs = (C.Spec("x.{part}.a", "bound", "", ""), C.Spec("x.{part}.b", "info", "", ""), C.Spec("x.c", "info", "", ""))
    assert [s.claim_id for s in C.skipped_each(specs, "gone", "x.{part}.", part="p1")] == ["x.p1.a", "x.p1.b"]


def test_every_experiment_declares_its_tables_and_its_judge_reads_only_declared_ones():
    """The runtime half of this — each declaration matches what the smoke run writes, column by column — runs in
    every experiment's smoke test, since `hjexp run` checks the folder before judging."""
    root = Path(registry.EXPERIMENTS_DIR)
    for name, exp in registry.experiments().items():
        if exp.module is None or not hasattr(exp.module, "CONTRACT"):
            continue  # a broken experiment is reported by `hjexp list`; see test_cli
        contract = exp.module.CONTRACT
        assert isinstance(contract, Contract) and any(t.name == "results" for t in contract.measure), name
        folder = root / name.replace("-", "_")
        read = set()
        for path in folder.glob("*.py"):
            if path.name.startswith(("judge", "manifold_judge", "worst", "real")):
                read |= set(re.findall(r"run\.table\(\"(\w+)\"\)", path.read_text()))
        assert read <= set(contract.reads), f"{name} judge reads {read - set(contract.reads)} undeclared"


def test_dropping_rows_from_a_saved_results_csv_fails_judging_naming_the_claim(run_smoke, cli):
    out, summary = run_smoke("attention", "threads=1")
    rows = pd.read_csv(out / "results.csv")
    assert "attention.gibbs.max_abs_err.d4" in set(summary.claim_id)
    # The raw-input Gibbs checks are the only rows behind attention.gibbs.max_abs_err.d{d}: without them the
    # judge emits none of that pattern's ids, and judging must stop with its name rather than drop the claim.
    raw = (rows.part == "gibbs") & (rows.norm == "raw")
    rows[~raw].to_csv(out / "results.csv", index=False)
    result = cli("judge", str(out))
    assert result.exit_code != 0
    assert "experiment attention: claim attention.gibbs.max_abs_err.d{d} is catalogued but neither judged" in result.output
    rows.assign(value=rows.value.astype(str).where(~raw, "lost")).to_csv(out / "results.csv", index=False)
    result = cli("judge", str(out))
    assert result.exit_code != 0
    assert "experiment attention, table results.csv: column value declared float" in result.output
    rows.to_csv(out / "results.csv", index=False)
    assert cli("judge", str(out)).exit_code == 0
    assert pd.read_csv(out / "summary.csv").verdict.tolist() == summary.verdict.tolist()


def test_judge_dir_checks_before_judging(tmp_path):
    contract = Contract(measure=(RESULTS,))

    def judge(run):
        raise AssertionError("the judge must not run on a folder that breaks its contract")

    module = types.SimpleNamespace(__name__="hjexp_experiments.toy", CLAIMS=(), judge=judge, CONTRACT=contract)
    from omegaconf import OmegaConf

    OmegaConf.save(OmegaConf.create({"params": {}, "judge": {}}), tmp_path / "config.yaml")
    pd.DataFrame({"part": ["a"]}).to_csv(tmp_path / "results.csv", index=False)
    with pytest.raises(ContractError, match="column value is declared but missing"):
        judge_dir(module, tmp_path, [])


def test_row_keys_are_declared_once_and_never_spelled_out():
    """Typed row keys: every declared table with a part or quantity column names its Keys class, and no
    experiment module selects or writes those columns with a string literal (a renamed key would otherwise
    leave a judge selecting nothing)."""
    literal = re.compile(r"""\b(part|quantity)\s*(==|!=|=)\s*f?["']""")
    root = Path(registry.EXPERIMENTS_DIR)
    for name, exp in registry.experiments().items():
        assert exp.module is not None, f"{name} does not import: {exp.error}"
        for table in exp.module.CONTRACT.measure + exp.module.CONTRACT.judge:
            for col in ("part", "quantity"):
                if col in table.dtypes:
                    assert col in table.keys, f"{name}: table {table.name} declares {col} without a Keys class"
        for path in (root / name.replace("-", "_")).glob("*.py"):
            if path.name == "contract.py":
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                assert not literal.search(line), f"{path.relative_to(root)}:{number} spells a row key: {line.strip()}"
