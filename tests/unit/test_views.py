"""The pure joins the chapters make: proxy_arp files, asked-vs-got addresses, map fill,
hubble's filters, the note a lab gives when it cannot do something."""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from labkit import parse, parsers, views
from labkit.errors import LabError
from labkit.parsers._text import frame
from labkit.parsers.hubble import FLOW_COLUMNS

STRACE = """\
21:25:05.224118 connect(5, {sa_family=AF_INET, sin_port=htons(80), \
sin_addr=inet_addr("10.96.139.215")}, 16) = -1 EINPROGRESS (Operation now in progress)
21:25:05.224612 getsockname(5, {sa_family=AF_INET, sin_port=htons(55878), \
sin_addr=inet_addr("172.16.0.1")}, [128 => 16]) = 0
21:25:05.224662 getpeername(5, {sa_family=AF_INET, sin_port=htons(80), \
sin_addr=inet_addr("10.96.139.215")}, [128 => 16]) = 0
"""


def _flows(rows: list[dict]) -> pd.DataFrame:
    return frame(rows, FLOW_COLUMNS)


def test_proxy_arp_table_reads_one_row_per_interface():
    table = views.proxy_arp_table("/proc/sys/net/ipv4/conf/all/proxy_arp:0\n"
                                  "/proc/sys/net/ipv4/conf/lxc_health/proxy_arp:1\n")
    assert table.to_dict("records") == [{"interface": "all", "proxy_arp": 0},
                                        {"interface": "lxc_health", "proxy_arp": 1}]
    assert "lxc_health" in table.attrs["raw"]


def test_proxy_arp_table_refuses_a_line_it_does_not_know():
    with pytest.raises(LabError, match="permission denied"):
        views.proxy_arp_table("grep: permission denied\n")


def test_asked_vs_got_puts_the_service_beside_the_backend_the_packets_went_to():
    calls = parsers.socket_calls(parse("strace -f -tt curl", STRACE))
    flows = _flows([
        {"source_ip": "172.16.0.1", "source_port": 55878, "destination_ip": "172.16.2.1",
         "destination_port": 80, "destination_pod": "webpod2", "is_reply": False},
        {"source_ip": "172.16.0.1", "source_port": 40000, "destination_ip": "172.16.1.1",
         "destination_port": 80, "destination_pod": "webpod1", "is_reply": False},
    ])
    row = views.asked_vs_got(calls, flows).iloc[0]
    assert (row["asked_ip"], row["asked_port"]) == ("10.96.139.215", 80)
    assert row["getpeername_ip"] == "10.96.139.215"
    assert (row["local_ip"], row["local_port"]) == ("172.16.0.1", 55878)
    assert (row["wire_ip"], row["wire_port"], row["wire_pod"]) == ("172.16.2.1", 80, "webpod2")


def test_asked_vs_got_leaves_the_wire_empty_when_no_flow_matches():
    calls = parsers.socket_calls(parse("strace -f -tt curl", STRACE))
    row = views.asked_vs_got(calls, _flows([])).iloc[0]
    assert row["wire_ip"] is None and row["asked_ip"] == "10.96.139.215"


def test_map_fill_joins_cut_names_and_uses_pinned_paths_where_they_clash():
    map_list = pd.DataFrame({"name": ["cilium_lxc", "cilium_lb4_reverse_nat",
                                      "cilium_lb4_services_v2", "cilium_missing"],
                             "entries": [6, 2, 4, 1]})
    bpftool = pd.DataFrame({
        "name": ["cilium_lxc", "cilium_lb4_reve", "cilium_lb4_reve", "cilium_lb4_serv"],
        "max_entries": [65535, 1000, 2000, 4000],
        "pinned": [[], ["/sys/fs/bpf/tc/globals/cilium_lb4_reverse_nat"],
                   ["/sys/fs/bpf/tc/globals/cilium_lb4_reverse_sk"], []],
    })
    table = views.map_fill(map_list, bpftool).set_index("name")
    assert table.loc["cilium_lxc", "max_entries"] == 65535
    assert table.loc["cilium_lb4_reverse_nat", "max_entries"] == 1000
    assert table.loc["cilium_lb4_services_v2", "max_entries"] == 4000
    assert table.loc["cilium_lb4_services_v2", "fill"] == pytest.approx(0.001)
    assert "cilium_missing" not in table.index


def test_hubble_filter_keeps_what_each_flag_asks_for():
    flows = _flows([
        {"source_pod": "netpod", "destination_pod": "webpod1", "protocol": "TCP",
         "verdict": "FORWARDED", "source_namespace": "default"},
        {"source_pod": "netpod", "destination_pod": "webpod2", "protocol": "ICMPv4",
         "verdict": "DROPPED", "source_namespace": "default"},
        {"source_pod": "client", "destination_pod": "webpod1", "protocol": "TCP",
         "l7_type": "REQUEST", "http_method": "GET", "http_url": "http://svc/index.html?x=1",
         "verdict": "FORWARDED", "source_namespace": "other"},
    ])
    assert len(views.hubble_filter(flows, pod="webpod1")) == 2
    assert len(views.hubble_filter(flows, namespace="other")) == 1
    assert len(views.hubble_filter(flows, verdict="dropped")) == 1
    assert len(views.hubble_filter(flows, protocol="icmpv4")) == 1
    assert len(views.hubble_filter(flows, protocol="http")) == 1
    assert len(views.hubble_filter(flows, http_method="get", http_path="/index.html")) == 1
    assert views.hubble_filter(flows, http_path="/other").empty


def test_counts_series_is_sorted_by_backend():
    series = views.counts_series(Counter({"webpod2": 3, "webpod1": 5}))
    assert list(series.index) == ["webpod1", "webpod2"]
    assert series.name == "requests" and series.index.name == "backend"


def test_or_note_gives_the_labs_sentence_instead_of_an_error():
    def cannot() -> pd.DataFrame:
        raise LabError("the local lab keeps no NAT map")

    assert views.or_note(cannot).iloc[0, 0] == "the local lab keeps no NAT map"
    assert views.or_note(lambda: pd.DataFrame({"a": [1]}))["a"].tolist() == [1]


def test_programs_per_interface_adds_each_programs_details():
    net = pd.DataFrame({"devname": ["lxc1"], "kind": ["tcx/ingress"], "prog_id": [7]})
    progs = pd.DataFrame({"id": [7], "type": ["sched_cls"], "tag": ["ab"],
                          "bytes_xlated": [10], "bytes_jited": [8], "map_ids": [[1, 2]]})
    row = views.programs_per_interface(net, progs).iloc[0]
    assert row["type"] == "sched_cls" and row["map_ids"] == [1, 2]


def test_in_network_tells_whether_an_address_is_in_a_cidr():
    assert views.in_network(views.OUTSIDE_HOST, "192.168.0.0/16")
    assert not views.in_network("8.8.8.8", "192.168.0.0/16")


class FakeLab:
    """Answers the calls the views make with canned outputs, as either lab would."""

    def __init__(self) -> None:
        self.applied: list[str] = []
        self.pod_outputs = {
            ("netpod", "ip -j route"): json.dumps([
                {"dst": "default", "gateway": "172.16.0.254", "dev": "eth0"},
                {"dst": "172.16.0.254", "dev": "eth0", "scope": "link"}]),
            ("netpod", "ip -j neigh"): json.dumps([
                {"dst": "172.16.0.254", "dev": "eth0", "lladdr": "fa:f2:82:2b:85:c8",
                 "state": ["REACHABLE"]}]),
        }
        self.node_outputs = {
            "ip -j route": json.dumps([{"dst": "172.16.0.1", "dev": "lxca2", "scope": "link"},
                                       {"dst": "172.16.1.0/24", "gateway": "192.168.10.101",
                                        "dev": "ens5"}]),
            "ip -j addr": json.dumps([{"ifindex": 9, "ifname": "lxca2", "flags": ["UP"],
                                       "mtu": 1500, "operstate": "UP",
                                       "address": "FA:F2:82:2B:85:C8", "addr_info": []}]),
        }

    def apply(self, path) -> list[str]:
        self.applied.append(Path(path).name)
        return [f"applied {Path(path).name}"]

    def pods(self) -> pd.DataFrame:
        return pd.DataFrame({"name": ["netpod"], "ip": ["172.16.0.1"], "node": ["k8s-s"]})

    def services(self) -> pd.DataFrame:
        return pd.DataFrame({"name": ["svc"], "cluster_ip": ["10.96.139.215"]})

    def pod_ip(self, pod: str) -> str:
        return "172.16.0.1"

    def exec(self, pod: str, command, **_: object) -> subprocess.CompletedProcess:
        if isinstance(command, str):  # a request loop
            n = int(re.search(r"seq (\d+)", command)[1])
            out = "Hostname: webpod1\nHostname: (no answer)\n" * (n // 2)
        else:
            out = self.pod_outputs[(pod, " ".join(command))]
        return subprocess.CompletedProcess(command, 0, out, "")

    def agent(self, node: str):
        outputs = self.node_outputs
        return SimpleNamespace(command=lambda *a: parse(" ".join(a), outputs[" ".join(a)]))

    def node(self, name: str):
        text = ("/proc/sys/net/ipv4/conf/lxca2/proxy_arp:0\n"
                "/proc/sys/net/ipv4/conf/all/proxy_arp:0\n")
        return SimpleNamespace(run=lambda *a, **k: subprocess.CompletedProcess(a, 0, text, ""))


def test_seed_applies_the_seeds_pods_then_its_service():
    lab = FakeLab()
    assert views.seed(lab) == ["applied pods.yaml", "applied svc.yaml"]
    assert views.seed(lab, service=False) == ["applied pods.yaml"]


def test_node_of_and_cluster_ip_name_what_the_lab_has_when_asked_for_something_else():
    lab = FakeLab()
    assert views.node_of(lab, "netpod") == "k8s-s"
    assert views.cluster_ip(lab) == "10.96.139.215"
    with pytest.raises(LabError, match="the lab's pods: netpod"):
        views.node_of(lab, "webpod9")
    with pytest.raises(LabError, match="the lab's services: svc"):
        views.cluster_ip(lab, "other")


def test_gateway_and_lxc_puts_the_gateway_mac_beside_the_lxc_mac():
    row = views.gateway_and_lxc(FakeLab(), "netpod").iloc[0]
    assert (row["gateway"], row["gateway_mac"]) == ("172.16.0.254", "fa:f2:82:2b:85:c8")
    assert (row["lxc"], row["lxc_mac"]) == ("lxca2", "fa:f2:82:2b:85:c8")
    assert (row["lxc_addresses"], row["lxc_proxy_arp"]) == (0, 0)


def test_answers_yields_the_backend_of_each_request_batch_by_batch():
    batches = list(views.answers(FakeLab(), "netpod", "10.96.139.215", count=5, batch=4))
    assert batches == [["webpod1", "(no answer)"] * 2, []]
