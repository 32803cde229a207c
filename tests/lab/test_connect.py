"""labkit.connect() picks the lab; the cluster lab says plainly it does not exist yet."""

from __future__ import annotations

import pytest

import labkit
from labkit.errors import LabError, NotRootError
from labkit.local import LocalLab


def test_cluster_lab_is_a_clear_error_for_now(monkeypatch):
    monkeypatch.setenv("LABKIT_LAB", "cluster")
    with pytest.raises(LabError, match="cluster lab is not built yet"):
        labkit.connect()


def test_unknown_lab_kind_names_the_choices():
    with pytest.raises(LabError, match="'local' or 'cluster'"):
        labkit.connect("kind")


def test_local_is_the_default_without_bringing_it_up(monkeypatch):
    monkeypatch.delenv("LABKIT_LAB", raising=False)
    assert isinstance(labkit.connect(up=False), LocalLab)


@pytest.mark.root
def test_connect_brings_the_local_lab_up(lab):
    assert labkit.connect(progress=False).is_up()


def test_without_root_the_lab_says_how_to_run_it(monkeypatch):
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(NotRootError, match="sudo"):
        LocalLab().up()
