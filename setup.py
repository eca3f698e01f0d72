"""Packaging that pyproject.toml cannot express: the repository keeps experiments/ and configs/ at
the top level, and the wheel carries them as the packages ``hjexp_experiments`` and ``hjexp_configs``
(private names, so nothing collides with another installed ``experiments``). Every experiment
sub-package is found here, so adding an experiment never means editing packaging."""

from setuptools import find_packages, setup

experiments = ["hjexp_experiments"] + [f"hjexp_experiments.{p}" for p in find_packages("experiments")]
setup(
    packages=find_packages(include=["hjexp", "hjexp.*"]) + experiments + ["hjexp_configs"],
    package_dir={"hjexp_experiments": "experiments", "hjexp_configs": "configs"},
    package_data={"hjexp_configs": ["*.yaml", "*/*.yaml", "*/*/*.yaml"], "hjexp": ["templates/*.j2", "engine/*.c", "engine/*.h"]},
)
