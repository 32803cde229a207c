"""The kind cluster and Cilium values of the study, and `labkit cluster up|down` without the
tools it needs. No schema of either file could be obtained here (kind publishes none; the
Cilium chart's values.schema.json is not in the stored copies for 1.16), so both are checked
structurally against what the seed sets."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from labkit import cli
from labkit.cluster import build

INFRA = Path(__file__).resolve().parents[2] / "infra"
# every --set of the seed's `helm install` (seed lines 145-153), with its value
SEED_SETS = {
    "k8sServiceHost": "192.168.10.10", "k8sServicePort": 6443, "debug.enabled": True,
    "rollOutCiliumPods": True, "routingMode": "native", "autoDirectNodeRoutes": True,
    "bpf.masquerade": True, "bpf.hostRouting": True, "endpointRoutes.enabled": True,
    "ipam.mode": "kubernetes", "k8s.requireIPv4PodCIDR": True, "kubeProxyReplacement": True,
    "ipv4NativeRoutingCIDR": "192.168.0.0/16", "installNoConntrackIptablesRules": True,
    "hubble.ui.enabled": True, "hubble.relay.enabled": True, "prometheus.enabled": True,
    "operator.prometheus.enabled": True, "hubble.metrics.enableOpenMetrics": True,
    "operator.replicas": 1,
}


def dig(values: dict, dotted: str):
    for part in dotted.split("."):
        values = values[part]
    return values


def test_kind_cluster_is_one_control_plane_two_workers_without_cni_or_kube_proxy():
    config = yaml.safe_load((INFRA / "kind" / "cluster.yaml").read_text())
    assert (config["kind"], config["apiVersion"]) == ("Cluster", "kind.x-k8s.io/v1alpha4")
    assert [n["role"] for n in config["nodes"]] == ["control-plane", "worker", "worker"]
    net = config["networking"]
    assert (net["disableDefaultCNI"], net["kubeProxyMode"], net["podSubnet"]) == (
        True, "none", "172.16.0.0/16")
    assert [n["labels"]["labkit.io/study-name"] for n in config["nodes"]] == [
        "k8s-s", "k8s-w1", "k8s-w2"]
    assert set(config) <= {"kind", "apiVersion", "name", "networking", "nodes"}


def test_cilium_values_hold_every_seed_setting_with_the_seeds_value():
    values = yaml.safe_load((INFRA / "cilium" / "values.yaml").read_text())
    assert {k: dig(values, k) for k in SEED_SETS} == SEED_SETS
    metrics = dig(values, "hubble.metrics.enabled")
    assert metrics[:6] == ["dns:query;ignoreAAAA", "drop", "tcp", "flow", "port-distribution",
                           "icmp"]
    assert metrics[6].startswith("httpV2:exemplars=true;labelsContext=source_ip,")


def test_every_value_is_commented():
    """Each paragraph of settings (values separated by blank lines) says what it does."""
    text = (INFRA / "cilium" / "values.yaml").read_text()
    paragraphs = [p for p in text.split("\n\n") if re.search(r"^\s*[\w.]+:", p, re.M)]
    silent = [p for p in paragraphs if not re.search(r"^\s*#", p, re.M)]
    assert silent == []
    assert len(paragraphs) >= 10


def test_cluster_up_installs_cilium_1_16_3_with_the_seed_values_then_the_kind_overrides():
    repo, install = build.install_argv()
    assert repo[:3] == ["helm", "repo", "add"]
    assert install[install.index("--version") + 1] == "1.16.3"
    files = [install[i + 1] for i, a in enumerate(install) if a == "--values"]
    assert files == [str(INFRA / "cilium" / "values.yaml"),
                     str(INFRA / "kind" / "cilium-kind.yaml")]
    assert "--kube-context" in install and build.CONTEXT == "kind-labkit"


def test_missing_tools_are_each_named_with_how_to_install_them(monkeypatch, capsys):
    monkeypatch.setattr(build.shutil, "which", lambda tool: None)
    assert cli.main(["cluster", "up"]) == 2
    message = capsys.readouterr().err
    for tool, hint in [("docker", "docs.docker.com"), ("kind", "kind.sigs.k8s.io"),
                       ("helm", "helm.sh")]:
        assert re.search(rf"^  {tool}: .*{re.escape(hint)}", message, re.M)


def test_cluster_down_does_not_need_helm(monkeypatch):
    monkeypatch.setattr(build.shutil, "which",
                        lambda tool: None if tool == "helm" else f"/usr/bin/{tool}")
    ran = []
    monkeypatch.setattr(build, "_run", ran.append)
    build.down()
    assert ran == [["kind", "delete", "cluster", "--name", "labkit"]]
