"""The agent's view on the local lab: each command answers from the kernel objects, with
the same columns as the parser of the real command (so a notebook cell reads the same on
both labs)."""

from __future__ import annotations

import json

import pytest

import labkit
from labkit.local.agent import NotOnThisLab
from tests.outputs import seed

pytestmark = pytest.mark.root


def _svc(lab):
    svc = lab.services()
    return svc.loc[svc.name == "svc", "cluster_ip"].item()


def test_service_list_has_the_seed_columns_and_both_webpods_as_backends(lab):
    df = lab.agent("k8s-s").service_list()
    real = labkit.parse("c0 service list", seed("cilium-service-list").text)
    assert list(df.columns) == list(real.columns)
    rows = df[df.frontend_ip == _svc(lab)]
    assert set(rows.backend_ip) == {lab.pod_ip("webpod1"), lab.pod_ip("webpod2")}
    assert set(rows.frontend_port) == {80}
    assert "=>" in df.attrs["raw"]  # what `cilium service list` prints


def test_bpf_lb_list_shows_the_master_row_and_one_row_per_backend(lab):
    df = lab.agent("k8s-w1").bpf_lb_list()
    real = labkit.parse("c0 bpf lb list", seed("cilium-bpf-lb-list").text)
    assert list(df.columns) == list(real.columns)
    rows = df[df.frontend_ip == _svc(lab)]
    assert rows.is_master.sum() == 1
    assert set(rows[~rows.is_master].backend_ip) == {lab.pod_ip("webpod1"),
                                                    lab.pod_ip("webpod2")}
    revnat = lab.agent("k8s-w1").bpf_lb_list(revnat=True)
    assert _svc(lab) in set(revnat.frontend_ip)


def test_endpoint_list_shows_each_nodes_own_pods_and_health(lab):
    on_s = lab.agent("k8s-s").endpoint_list()
    assert lab.pod_ip("netpod") in set(on_s.ipv4)
    assert lab.pod_ip("webpod1") not in set(on_s.ipv4)
    assert any("reserved:health" in labels for labels in on_s.labels)
    assert any("k8s:app=netpod" in labels for labels in on_s.labels)


def test_the_endpoint_map_holds_the_lxc_mac_the_pod_sees_as_its_gateway(lab):
    lxc = lab.agent("k8s-s").map_get("cilium_lxc")
    row = lxc[lxc.ip == lab.pod_ip("netpod")]
    links = json.loads(lab.node("k8s-s").run("ip -j link show").stdout)
    macs = {link["address"].upper() for link in links if link["ifname"].startswith("lxc")}
    assert row.node_mac.item() in macs


def test_ipcache_maps_each_pod_to_its_nodes_address(lab):
    cache = lab.agent("k8s-s").bpf_ipcache_list()
    row = cache[cache.ip == lab.pod_ip("webpod2")]
    assert row.tunnel_endpoint.item() == "192.168.10.102"
    assert row.identity.item() >= 10000
    world = cache[cache.prefix == "0.0.0.0/0"]
    assert world.identity.item() == 2


def test_status_says_socket_lb_is_on_and_that_this_is_not_cilium(lab):
    tree = labkit.parsers.nested(lab.agent("k8s-s").status())
    details = tree["KubeProxyReplacement Details"]
    assert details["Socket LB"] == "Enabled"
    assert details["Backend Selection"] == "Random"
    assert "not Cilium" in tree["Cilium"]


def test_map_list_counts_the_entries_of_the_maps_it_names(lab):
    maps = lab.agent("k8s-s").map_list()
    counts = dict(zip(maps.name, maps.entries, strict=True))
    assert counts["cilium_lb4_reverse_nat"] >= 1 and counts["cilium_lxc"] >= 5


def test_bpftool_on_a_node_shows_its_lxc_programs(lab):
    net = lab.agent("k8s-w2").bpftool_net_show()
    names = {str(n).split("-")[0] for n in net.prog_name}
    assert {"cil_from_container", "cil_to_container"} <= names
    progs = lab.agent("k8s-w2").bpftool_prog_show()
    assert "cil_sock4_connect" in set(progs.name)


def test_nat_list_says_plainly_it_has_nothing_to_show_here(lab):
    with pytest.raises(NotOnThisLab, match="no NAT"):
        lab.agent("k8s-s").bpf_nat_list()


def test_agent_on_testpc_is_refused_with_the_node_names(lab):
    with pytest.raises(labkit.LabError, match="k8s-s, k8s-w1, k8s-w2"):
        lab.agent("testpc")


def test_helm_values_on_the_local_lab_say_where_to_look_instead(lab):
    with pytest.raises(NotOnThisLab, match="seed_values"):
        lab.helm_values()
