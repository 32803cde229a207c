"""kube-proxy's iptables mode on the local lab, the comparison of notebook 10: the same
service reached through DNAT rules in the nodes instead of the socket LB."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

import labkit

pytestmark = pytest.mark.root


@pytest.fixture
def iptables_lab(lab):
    lab.kube_proxy("iptables")
    try:
        yield lab
    finally:
        lab.kube_proxy("none")


def _vip(lab) -> str:
    svc = lab.services()
    return svc.loc[svc.name == "svc", "cluster_ip"].item()


def test_iptables_mode_writes_kube_proxys_chains_in_every_node(iptables_lab):
    vip = _vip(iptables_lab)
    for node in ("k8s-s", "k8s-w1", "k8s-w2"):
        rules = labkit.parse("iptables-save", iptables_lab.node(node).run("iptables-save").stdout)
        chains = set(rules.chain.dropna())
        assert "KUBE-SERVICES" in chains and "KUBE-MARK-MASQ" in chains
        to_svc = rules[(rules.chain == "KUBE-SERVICES") & rules.rule.str.contains(vip)]
        assert len(to_svc) == 1 and to_svc.target.item().startswith("KUBE-SVC-")
        seps = rules[rules.chain == to_svc.target.item()]
        assert seps.rule.str.contains("statistic --mode random").sum() == 1
        assert (rules.target == "DNAT").sum() >= 2


def test_iptables_mode_detaches_the_socket_lb_and_still_balances(iptables_lab):
    tree = labkit.parse("bpftool cgroup tree", iptables_lab.node("k8s-s").run(
        "bpftool cgroup tree /run/labkit/cgroupv2").stdout)
    assert "connect4" not in set(tree.hook)
    vip = _vip(iptables_lab)
    out = iptables_lab.exec("netpod", f"for i in $(seq 30); do curl -s --max-time 2 "
                            f"http://{vip}/; done", shell=True, timeout=60, check=True).stdout
    names = Counter(line.split()[1] for line in out.splitlines() if line.startswith("Hostname"))
    assert set(names) == {"webpod1", "webpod2"} and sum(names.values()) == 30


def test_with_dnat_the_clusterip_is_on_the_wire_in_netpod(iptables_lab):
    vip = _vip(iptables_lab)
    captured: dict = {}

    def capture() -> None:
        captured["out"] = iptables_lab.exec(
            "netpod", "timeout 3 tcpdump -enni any -q -c 10 tcp port 80", timeout=10).stdout

    thread = threading.Thread(target=capture)
    thread.start()
    iptables_lab.exec("netpod", "sleep 1")
    iptables_lab.exec("netpod", f"curl -s --max-time 2 http://{vip}/", timeout=10)
    thread.join()
    packets = labkit.parse("tcpdump -enni any -q", captured["out"])
    assert vip in set(packets.dst_ip), "kube-proxy translates per packet, in the node"


def test_switching_back_removes_every_kube_rule_and_reattaches_socket_lb(lab):
    lab.kube_proxy("iptables")
    assert lab.kube_proxy("none") == "none"
    rules = labkit.parse("iptables-save", lab.node("k8s-w1").run("iptables-save").stdout)
    assert not rules.chain.fillna("").str.startswith("KUBE").any()
    tree = labkit.parse("bpftool cgroup tree", lab.node("k8s-s").run(
        "bpftool cgroup tree /run/labkit/cgroupv2").stdout)
    assert "connect4" in set(tree.hook)
    assert "Hostname" in lab.exec("netpod", f"curl -s --max-time 2 http://{_vip(lab)}/").stdout


def test_an_unknown_mode_names_the_choices(lab):
    with pytest.raises(labkit.LabError, match="none, iptables"):
        lab.kube_proxy("ipvs")
