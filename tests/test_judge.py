"""`hjexp judge` re-judges a saved run from its CSVs only; `hjexp claims` prints the catalogue."""

import pandas as pd

from hjexp import registry
from hjexp.claims.docs import catalogue_markdown
from hjexp.paths import PROJECT_ROOT


def test_judge_reproduces_summary_and_follows_overrides(run_smoke, cli):
    out, summary = run_smoke("identity")
    before = (out / "summary.csv").read_bytes()
    (out / "checkpoints").mkdir(exist_ok=True)  # judging must not need anything but the CSVs and config
    assert cli("judge", str(out)).exit_code == 0
    assert (out / "summary.csv").read_bytes() == before
    # The judge reads the saved numbers: one Hopf–Cole error raised to 1e-6 (a million times the tolerance)
    # turns that claim to fail, and only that claim; the original CSV judges as before.
    saved = (out / "results.csv").read_bytes()
    rows = pd.read_csv(out / "results.csv")
    rows.loc[rows.index[rows.part == "hopf_cole"][0], "value"] = 1e-6
    rows.to_csv(out / "results.csv", index=False)
    assert cli("judge", str(out)).exit_code == 0
    verdicts = pd.read_csv(out / "summary.csv").set_index("claim_id").verdict
    moved = verdicts[verdicts != summary.set_index("claim_id").verdict]
    assert moved.to_dict() == {"identity.hopf_cole.max_abs_err": "fail"}
    (out / "results.csv").write_bytes(saved)
    assert cli("judge", str(out)).exit_code == 0
    assert (out / "summary.csv").read_bytes() == before
    # A tolerance below the measured roundoff turns the identity verdict to fail, without recomputing.
    result = cli("judge", str(out), "judge.roundoff=1e-18")
    assert result.exit_code == 0, result.output
    after = pd.read_csv(out / "summary.csv").set_index("claim_id")
    assert after.loc["identity.hopf_cole.max_abs_err", "verdict"] == "fail"
    assert "1e-18" in after.loc["identity.hopf_cole.max_abs_err", "criterion"]
    assert "roundoff: 1.0e-18" in (out / "config.yaml").read_text()
    # The shared band of attained_rate rows: one narrower than the local-slope range cannot decide.
    assert cli("judge", str(out), "judge.band=[0.999,1.001]").exit_code == 0
    assert pd.read_csv(out / "summary.csv").set_index("claim_id").loc[
        "identity.two_layer_relu.slope_in_eps", "verdict"] == "inconclusive"


def test_judge_bad_input(run_smoke, cli, tmp_path):
    out, _ = run_smoke("identity")
    for args, message in ((["judge", str(tmp_path / "nope")], "is not a run folder"),
                          (["judge", str(out), "params.t=2"], "judge.KEY=VALUE overrides only"),
                          (["judge", str(out), "judge.nothere=1"], "unknown judging key 'judge.nothere'"),
                          (["judge", str(out), "judge.level=2"], "judge.level=2 must lie in (0, 1)"),
                          (["judge", str(out), "judge.band=[2,3]"], "must be [lo, hi] with 0 < lo ≤ 1 ≤ hi")):
        result = cli(*args)
        assert result.exit_code == 2 and message in " ".join(result.output.split()), result.output


def test_claims_catalogue_lists_every_experiment(cli):
    result = cli("claims")
    assert result.exit_code == 0
    for exp in registry.experiments().values():
        if exp.module is not None:
            assert exp.module.CLAIMS, exp.name
    assert "identity.hopf_cole.max_abs_err" in result.output


def test_docs_claims_md_is_current():
    """docs/claims.md is generated from the catalogues: regenerate with `hjexp claims --markdown`."""
    exps = [e for e in registry.experiments().values() if e.module is not None]
    expected = catalogue_markdown(exps)
    assert (PROJECT_ROOT / "docs" / "claims.md").read_text().rstrip("\n") == expected.rstrip("\n"), \
        "docs/claims.md is stale: run `make docs`"
