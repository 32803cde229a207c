"""Local-lab tests: root-marked tests are skipped (with the reason) without root or netns, and
the session's lab is ALWAYS torn down, with a residue check, however the tests end."""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path

import pytest

from labkit import data
from labkit.local import LocalLab

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "yaml"
SEED_PODS = data.path(data.SEED_PODS)
SEED_SERVICE = data.path(data.SEED_SERVICE)


@functools.cache
def _cannot_run_lab() -> str | None:
    if os.geteuid() != 0:
        return "needs root (the local lab makes namespaces, veths and cgroups): sudo make test"
    probe = subprocess.run(["unshare", "--net", "--uts", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"network namespaces are unavailable here: {probe.stderr.strip()}"
    return None


@pytest.fixture(autouse=True)
def _skip_root_tests_without_root(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("root") and (reason := _cannot_run_lab()):
        pytest.skip(reason)


@pytest.fixture(scope="session")
def _session_lab():
    """One lab for the whole session, brought down at the end even if tests fail."""
    lab = LocalLab()
    try:
        yield lab
    finally:
        if _cannot_run_lab() is None:
            lab.down()
            assert lab.residue() == [], "labkit down left something behind"


@pytest.fixture
def lab(_session_lab: LocalLab) -> LocalLab:
    """The seed's lab: up, with its pods and service (cheap when already there)."""
    _session_lab.up(progress=False)
    _session_lab.apply(SEED_PODS)
    _session_lab.apply(SEED_SERVICE)
    return _session_lab
