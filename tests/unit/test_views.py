"""The pure joins the chapters make: proxy_arp files, asked-vs-got addresses, map fill,
hubble's filters, the note a lab gives when it cannot do something."""

from __future__ import annotations

from collections import Counter

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
