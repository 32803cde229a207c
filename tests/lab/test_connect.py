"""labkit.connect() picks the lab, and says plainly what is missing for the one asked for."""

from __future__ import annotations

import pytest

import labkit
from labkit.errors import LabError, NotRootError
from labkit.local import LocalLab


def test_cluster_lab_without_a_kubeconfig_says_where_it_looked(monkeypatch, tmp_path):
    monkeypatch.setenv("LABKIT_LAB", "cluster")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(LabError, match="kubeconfig"):
        labkit.connect()


def test_unknown_lab_kind_names_the_choices():
    with pytest.raises(LabError, match="'local', 'cluster' or 'replay:PATH'"):
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
