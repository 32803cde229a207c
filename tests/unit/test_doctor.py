"""labkit doctor: each check fails when its condition fails, and the exit status follows."""

from __future__ import annotations

import os

import pytest

from labkit import cli, doctor


def test_kernel_older_than_5_8_is_reported_with_the_fix():
    check = doctor._kernel("5.4.0-150-generic")
    assert not check.ok
    assert "5.8" in check.fix


def test_kernel_of_the_seed_passes():
    assert doctor._kernel("6.8.0-1015-aws").ok


def test_wsl2_kernel_gets_a_sentence_of_its_own():
    check = doctor._kernel("5.15.153.1-microsoft-standard-WSL2")
    assert check.ok and "WSL2" in check.detail


def test_missing_tool_names_the_debian_package():
    check = doctor._tool("labkit-no-such-tool", "labkit-pkg")
    assert not check.ok
    assert "apt-get install labkit-pkg" in check.fix


def test_missing_kernel_headers_say_to_run_setup():
    check = doctor._headers("0.0.0-labkit-test")
    assert not check.ok and "make setup" in check.fix


def test_cluster_checks_do_not_stop_the_local_lab():
    found = [doctor.Check("root", True, True, ""), doctor.Check("kubeconfig", False, False, "")]
    assert doctor.local_lab_ready(found)
    found.append(doctor.Check("bpftool", True, False, "not found"))
    assert not doctor.local_lab_ready(found)


def test_kubeconfig_is_found_through_the_environment(tmp_path, monkeypatch):
    config = tmp_path / "config"
    config.write_text("apiVersion: v1\nkind: Config\n")
    monkeypatch.setenv("KUBECONFIG", str(config))
    assert doctor._kubeconfig().ok
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    check = doctor._kubeconfig()
    assert not check.ok and "kubeconfig" in check.fix


def test_doctor_exits_non_zero_and_prints_the_fix_when_a_tool_is_missing(monkeypatch):
    monkeypatch.setitem(doctor.TOOLS, "labkit-no-such-tool", "labkit-pkg")
    printed: list[str] = []
    assert doctor.run(printed.append) == 1
    text = "\n".join(printed)
    assert "labkit-no-such-tool" in text and "MISSING" in text and "cannot run yet" in text


@pytest.mark.skipif(os.geteuid() != 0, reason="loading a BPF program needs root")
def test_doctor_passes_on_a_machine_set_up_by_make_setup(capsys):
    assert cli.main(["doctor"]) == 0, capsys.readouterr().out
    assert "the local lab can run" in capsys.readouterr().out
