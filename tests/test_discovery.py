"""Discovery: every experiment package has its config and vice versa, and code, configs and
experiments come from one tree (never a second checkout's on PYTHONPATH or HJEXP_ROOT)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hjexp import paths, registry
from hjexp.errors import UserError


def _tree(root: Path, packages=(), configs=()) -> Path:
    (root / "experiments").mkdir(parents=True)
    (root / "experiments" / "__init__.py").write_text("")
    (root / "configs" / "experiment").mkdir(parents=True)
    (root / "configs" / "config.yaml").write_text("defaults: []\n")
    for stem in packages:
        (root / "experiments" / stem).mkdir()
        (root / "experiments" / stem / "__init__.py").write_text("")
    for name in configs:
        (root / "configs" / "experiment" / f"{name}.yaml").write_text("params: {}\n")
    return root


def test_the_repository_pairs_every_package_with_its_config():
    assert registry.pairing_errors() == {}


def test_underscored_config_is_refused_with_the_rename(tmp_path):
    root = _tree(tmp_path, packages=["my_new", "ok_one"], configs=["my_new", "ok-one"])
    errors = registry.pairing_errors(root / "experiments", root / "configs")
    assert list(errors) == ["my-new"] and errors["my-new"] == (f"{root}/experiments/my_new/ is the experiment 'my-new', but its config is "
                     f"{root}/configs/experiment/my_new.yaml: rename it to {root}/configs/experiment/my-new.yaml "
                     "(packages use _, experiment and config names use -)")


def test_package_without_config_and_config_without_package(tmp_path):
    root = _tree(tmp_path, packages=["lonely_pkg"], configs=["lonely-cfg"])
    errors = registry.pairing_errors(root / "experiments", root / "configs")
    assert list(errors.values()) == [
        f"{root}/experiments/lonely_pkg/ has no config {root}/configs/experiment/lonely-pkg.yaml: add it "
        "(or remove the package)",
        f"{root}/configs/experiment/lonely-cfg.yaml has no experiment package {root}/experiments/lonely_cfg/: "
        f"add {root}/experiments/lonely_cfg/__init__.py (or remove the config)",
    ]


def test_folder_without_init_beside_its_config(tmp_path):
    root = _tree(tmp_path, configs=["half"])
    (root / "experiments" / "half").mkdir()
    [error] = registry.pairing_errors(root / "experiments", root / "configs").values()
    assert error.startswith(f"{root}/experiments/half/ has no __init__.py, so {root}/configs/experiment/half.yaml")


def test_list_fails_in_one_line_naming_both_files(cli, tmp_path, monkeypatch):
    root = _tree(tmp_path, packages=["my_new"], configs=["my_new"])
    monkeypatch.setattr(registry, "EXPERIMENTS_DIR", root / "experiments")
    monkeypatch.setattr(registry, "CONFIG_DIR", root / "configs")
    registry.experiments.cache_clear()
    try:
        results = [cli("list"), cli("run", "my-new"), cli("run", "my_new")]  # run names the same fix
    finally:
        registry.experiments.cache_clear()
    for result in results:
        assert result.exit_code != 0
        text = " ".join(result.output.split())
        assert len([line for line in result.output.splitlines() if line.strip()]) == 1, result.output
        assert "experiments/my_new/" in text and "configs/experiment/my_new.yaml: rename it to" in text, text


def test_hjexp_root_with_another_hjexp_is_refused(tmp_path, monkeypatch):
    other = _tree(tmp_path / "other")
    (other / "hjexp").mkdir()
    monkeypatch.setenv("HJEXP_ROOT", str(other))
    with pytest.raises(UserError, match=f"HJEXP_ROOT={other} holds its own hjexp .* but hjexp is imported from "
                                        f"{paths.PACKAGE_DIR}"):
        paths.locate()


def test_hjexp_root_of_this_hjexp_or_of_configs_alone_is_used(tmp_path, monkeypatch):
    same = _tree(tmp_path / "same")
    (same / "hjexp").symlink_to(paths.PACKAGE_DIR)  # the imported hjexp under another path
    bare = _tree(tmp_path / "bare")  # configs and experiments only: no second engine to mix in
    for root in (same, bare):
        monkeypatch.setenv("HJEXP_ROOT", str(root))
        assert paths.locate() == (root / "configs", root / "experiments")
    monkeypatch.setenv("HJEXP_ROOT", str(tmp_path))
    with pytest.raises(UserError, match="is not an hjexp tree"):
        paths.locate()


def _copy_hjexp(root: Path) -> None:
    """A second copy of this hjexp's code in root/hjexp: another checkout, or a wheel's site-packages."""
    shutil.copytree(paths.PACKAGE_DIR, root / "hjexp", ignore=shutil.ignore_patterns("__pycache__"))


def _where(pythonpath: Path, **env) -> str:
    """CONFIG_DIR and EXPERIMENTS_DIR as a fresh interpreter sees them with PYTHONPATH first."""
    env = {**os.environ, "PYTHONPATH": str(pythonpath), **env}
    done = subprocess.run([sys.executable, "-c", "from hjexp import paths; print(paths.CONFIG_DIR, paths.EXPERIMENTS_DIR)"],
                          env=env, capture_output=True, text=True, timeout=60, cwd=pythonpath.parent)  # not this checkout
    return (done.stdout + done.stderr).strip()


def test_second_checkout_on_pythonpath_brings_its_own_configs(tmp_path, monkeypatch):
    """This venv's editable install maps hjexp_configs to the main checkout; the second checkout's
    hjexp must still read the second checkout's configs and experiments."""
    monkeypatch.delenv("HJEXP_ROOT", raising=False)
    second = _tree(tmp_path / "second")
    _copy_hjexp(second)
    assert _where(second) == f"{second}/configs {second}/experiments"


def test_wheel_layout_reads_the_sibling_packages(tmp_path, monkeypatch):
    monkeypatch.delenv("HJEXP_ROOT", raising=False)
    site = tmp_path / "site-packages"
    _copy_hjexp(site)
    (site / "hjexp_configs").mkdir()
    (site / "hjexp_configs" / "config.yaml").write_text("defaults: []\n")
    (site / "hjexp_experiments").mkdir()
    (site / "hjexp_experiments" / "__init__.py").write_text("")
    assert _where(site) == f"{site}/hjexp_configs {site}/hjexp_experiments"


def test_list_refuses_a_mixed_tree_in_one_line(tmp_path, monkeypatch):
    other = _tree(tmp_path / "other")
    _copy_hjexp(other)
    env = {**os.environ, "HJEXP_ROOT": str(other)}
    done = subprocess.run([sys.executable, "-c", "from hjexp.cli import main; main()", "list"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and f"HJEXP_ROOT={other} holds its own hjexp" in lines[0], lines
