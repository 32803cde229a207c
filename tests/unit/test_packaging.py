"""pyproject.toml and environment.yml name the same packages, so conda users get what pip
users get."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
# conda-forge spells some packages differently; bcc comes from Debian for pip users.
CONDA_TO_PIP = {"python-kubernetes": "kubernetes", "matplotlib-base": "matplotlib"}
CONDA_ONLY = {"python", "pip", "bcc"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ]", requirement, maxsplit=1)[0].strip().lower()


def _pip_names() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["test"]
    return {_name(r) for r in requirements}


def _conda_names() -> set[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    names = set()
    for dep in env["dependencies"]:
        if isinstance(dep, str):
            name = _name(dep)
            if name not in CONDA_ONLY:
                names.add(CONDA_TO_PIP.get(name, name))
    return names


def test_environment_yml_names_the_same_packages_as_pyproject():
    assert _conda_names() == _pip_names()


def test_environment_yml_installs_labkit_itself_and_bcc():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip
    assert "bcc" in env["dependencies"]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = re.search(r"^\s*sudo make test\b", readme, flags=re.M)
    assert command, "README must show the test command `sudo make test` at the start of a line"
    assert "make test" in ci.splitlines()[-1]
