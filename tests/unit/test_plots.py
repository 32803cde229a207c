"""What each picture draws: the labels of what is there, bars as tall as the counts, one arrow
per backend or link, and colours that read on a light and a dark theme."""

from __future__ import annotations

import json

import matplotlib
import pandas as pd
import pytest
from matplotlib.colors import to_rgba

matplotlib.use("Agg")

from labkit import parse, plots  # noqa: E402
from labkit.parsers._text import frame  # noqa: E402
from labkit.parsers.hubble import FLOW_COLUMNS  # noqa: E402


def _link(ifindex: int, name: str, mac: str, addrs: list[tuple[str, int, str]]) -> dict:
    return {"ifindex": ifindex, "ifname": name, "flags": ["UP"], "mtu": 1500,
            "operstate": "UP", "link_type": "ether", "address": mac,
            "addr_info": [{"family": "inet", "local": a, "prefixlen": n, "scope": s}
                          for a, n, s in addrs]}


ADDRS = parse("ip -j addr", json.dumps([
    _link(1, "lo", "00:00:00:00:00:00", [("127.0.0.1", 8, "host")]),
    _link(2, "ens5", "ce:3a:b9:34:35:f2", [("192.168.10.101", 24, "global")]),
    _link(3, "cilium_net", "2a:c5:1f:96:05:83", []),
    _link(4, "cilium_host", "2e:04:93:05:b1:00", [("172.16.1.254", 32, "link")]),
    _link(5, "lxc_health", "6e:47:3f:9b:d1:ba", []),
    _link(6, "lxc049fcc7bf22", "16:70:43:6d:1c:a6", []),
]))
ROUTES_W1 = parse("ip -j route", json.dumps([
    {"dst": "172.16.0.0/24", "gateway": "192.168.10.10", "dev": "ens5"},
    {"dst": "172.16.1.1", "dev": "lxc049fcc7bf22", "scope": "link"},
    {"dst": "172.16.1.253", "dev": "lxc_health", "scope": "link"},
    {"dst": "172.16.2.0/24", "gateway": "192.168.10.102", "dev": "ens5"},
    {"dst": "192.168.10.0/24", "dev": "ens5", "scope": "link", "prefsrc": "192.168.10.101"},
]))
ROUTES_S = parse("ip -j route", json.dumps([
    {"dst": "172.16.0.1", "dev": "lxca2bb5e9b838", "scope": "link"},
    {"dst": "172.16.1.0/24", "gateway": "192.168.10.101", "dev": "ens5"},
    {"dst": "172.16.2.0/24", "gateway": "192.168.10.102", "dev": "ens5"},
]))
PODS = pd.DataFrame({"name": ["netpod", "webpod1", "webpod2"],
                     "ip": ["172.16.0.1", "172.16.1.1", "172.16.2.1"],
                     "node": ["k8s-s", "k8s-w1", "k8s-w2"]})
NODES = pd.DataFrame({"name": ["k8s-s", "k8s-w1", "k8s-w2"],
                      "internal_ip": ["192.168.10.10", "192.168.10.101", "192.168.10.102"]})
SERVICE_LIST = parse("cilium service list", """\
ID   Frontend           Service Type   Backend
1    10.96.0.1:443      ClusterIP
2    10.96.139.215:80   ClusterIP      1 => 172.16.1.1:80 (active)
                                       2 => 172.16.2.1:80 (active)
""")
PROGRAMS = pd.DataFrame({
    "id": [10, 11, 12, 13],
    "name": ["cil_from_container", "cil_from_container", "cil_to_container",
             "cil_sock4_connect"],
    "type": ["sched_cls", "sched_cls", "sched_cls", "cgroup_sock_addr"],
    "map_ids": [[1, 2], [1, 2], [2, 3], [4]],
})
MAPS = pd.DataFrame({"id": [1, 2, 3, 4, 5],
                     "name": ["cilium_lxc", "cilium_ipcache", "cilium_metrics",
                              "cilium_lb4_serv", "unused"],
                     "type": ["hash", "lpm_trie", "percpu_hash", "hash", "array"],
                     "max_entries": [65535, 512000, 1024, 65536, 1]})
MAP_LIST = pd.DataFrame({"name": ["cilium_ipcache", "cilium_lxc", "cilium_metrics"],
                         "entries": [13, 6, 0]})
SUMMARY = parse("strace -c curl", """\
% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 40.00    0.000400          20        20           mmap
 30.00    0.000300          30        10         3 connect
 30.00    0.000300          60         5           read
------ ----------- ----------- --------- --------- ----------------
100.00    0.001000          28        35         3 total
""")


def _flow(src: str, dst: str, *, reply: bool = False, port: int = 80,
          protocol: str = "TCP") -> dict:
    ips = {"netpod": "172.16.0.1", "webpod1": "172.16.1.1", "webpod2": "172.16.2.1"}
    row = {"time": pd.Timestamp("2024-01-01", tz="UTC"), "protocol": protocol,
           "is_reply": reply, "verdict": "FORWARDED"}
    for side, who, p in (("source", src, 40000 if not reply else port),
                         ("destination", dst, port if not reply else 40000)):
        if who.startswith("reserved:"):
            row |= {f"{side}_ip": "172.16.1.254", f"{side}_labels": [who]}
        else:
            row |= {f"{side}_pod": who, f"{side}_ip": ips[who],
                    f"{side}_labels": [f"k8s:app={who}"]}
        row[f"{side}_port"] = p
    return row


FLOWS = frame([_flow("netpod", "webpod1"), _flow("webpod1", "netpod", reply=True),
               _flow("netpod", "webpod1"), _flow("netpod", "webpod2"),
               _flow("reserved:host", "webpod2", protocol="ARP")], FLOW_COLUMNS)


def _labels(fig) -> str:
    return "\n".join(plots.texts(fig))


def _bars(fig, gid: str = "bars") -> list:
    return [p for p in fig.axes[0].patches if p.get_gid() == gid]


def _arrows(fig) -> list:
    return [p for p in fig.axes[0].patches if p.get_gid() == "arrow"]


def test_node_diagram_draws_each_pod_behind_its_lxc_with_gateway_and_uplink():
    text = _labels(plots.node_diagram(ADDRS, ROUTES_W1, PODS, "k8s-w1"))
    assert "webpod1\n172.16.1.1" in text
    assert "lxc049fcc7bf22" in text and "lxc_health" in text
    assert "cilium_host\n172.16.1.254/32" in text and "cilium_net" in text
    assert "ens5\n192.168.10.101/24" in text
    assert "route 172.16.1.1/32 dev lxc049fcc7bf22" in text
    assert "172.16.2.0/24 via 192.168.10.102 dev ens5" in text
    assert "netpod" not in text, "a pod of another node is not drawn"


def test_node_diagram_shows_a_pod_that_has_no_endpoint_route():
    routes = ROUTES_W1[ROUTES_W1["dev"] != "lxc049fcc7bf22"]
    text = _labels(plots.node_diagram(ADDRS, routes, PODS, "k8s-w1"))
    assert "webpod1\n(no endpoint route)" in text


def test_path_diagram_crosses_both_nodes_by_the_routes_used():
    fig = plots.path_diagram(PODS, NODES, "netpod", "webpod1",
                             {"k8s-s": ROUTES_S, "k8s-w1": ROUTES_W1})
    text = _labels(fig)
    for label in ("netpod\n172.16.0.1", "lxca2bb5e9b838", "k8s-s\nens5 192.168.10.10",
                  "k8s-w1\nens5 192.168.10.101", "lxc049fcc7bf22", "webpod1\n172.16.1.1",
                  "route 172.16.1.0/24 via 192.168.10.101 dev ens5",
                  "route 172.16.1.1/32 dev lxc049fcc7bf22"):
        assert label in text
    assert len(_arrows(fig)) == 5


def test_path_diagram_between_pods_of_one_node_has_no_wire_hop():
    pods = pd.concat([PODS, pd.DataFrame({"name": ["other"], "ip": ["172.16.1.9"],
                                          "node": ["k8s-w1"]})])
    fig = plots.path_diagram(pods, NODES, "other", "webpod1", {"k8s-w1": ROUTES_W1})
    assert len(_arrows(fig)) == 3
    assert "native routing" not in _labels(fig)


def test_path_diagram_names_the_pods_it_knows_when_one_is_missing():
    with pytest.raises(ValueError, match="netpod, webpod1, webpod2"):
        plots.path_diagram(PODS, NODES, "netpod", "nope")


def test_route_to_picks_the_longest_prefix():
    assert plots.route_to(ROUTES_W1, "172.16.1.1")["dev"] == "lxc049fcc7bf22"
    assert plots.route_to(ROUTES_W1, "172.16.2.7")["gateway"] == "192.168.10.102"
    assert plots.route_to(ROUTES_W1, "10.0.0.1") is None


def test_service_diagram_draws_one_arrow_per_backend_named_by_pod():
    services = pd.DataFrame({"name": ["svc"], "cluster_ip": ["10.96.139.215"]})
    fig = plots.service_diagram(SERVICE_LIST, PODS, services)
    text = _labels(fig)
    assert "svc\n10.96.139.215:80" in text
    assert "172.16.1.1:80\nwebpod1 (k8s-w1)" in text
    assert "172.16.2.1:80\nwebpod2 (k8s-w2)" in text
    assert "10.96.0.1" not in text, "a service without backends has nothing to draw"
    assert len(_arrows(fig)) == 2


def test_program_map_graph_draws_programs_once_and_a_line_per_map_used():
    fig = plots.program_map_graph(PROGRAMS, MAPS)
    text = _labels(fig)
    assert "cil_from_container ×2 (sched_cls)" in text
    assert "cil_sock4_connect (cgroup_sock_addr)" in text
    assert "cilium_lb4_serv (hash)" in text
    assert "unused" not in text
    lines = [line for line in fig.axes[0].lines if line.get_gid() == "link"]
    assert len(lines) == 2 + 2 + 1


def test_map_entries_bars_are_as_long_as_the_entries():
    fig = plots.map_entries(MAP_LIST)
    assert [b.get_width() for b in _bars(fig)] == [13, 6, 0]
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == [
        "cilium_ipcache", "cilium_lxc", "cilium_metrics"]


def test_map_fill_draws_entries_against_capacity():
    fill = pd.DataFrame({"name": ["cilium_lxc", "cilium_ipcache"], "entries": [6, 13],
                         "max_entries": [65535, 512000]})
    fig = plots.map_fill(fill)
    assert [b.get_width() for b in _bars(fig)] == [13, 6]
    assert [b.get_width() for b in _bars(fig, "capacity")] == [512000, 65535]
    assert "  6 / 65535 (0.00916%)" in plots.texts(fig)


def test_syscall_summary_bars_are_the_call_counts_and_socket_calls_stand_out():
    fig = plots.syscall_summary(SUMMARY)
    bars = _bars(fig)
    assert [b.get_width() for b in bars] == [20, 10, 5]
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["mmap", "connect", "read"]
    assert bars[1].get_edgecolor() == to_rgba(plots.COLORS["highlight"])
    assert bars[0].get_edgecolor() == to_rgba(plots.COLORS["pod"])


def test_backend_distribution_bars_are_as_tall_as_the_counts():
    fig = plots.backend_distribution(pd.Series({"webpod1": 48, "webpod2": 52}))
    assert [b.get_height() for b in _bars(fig)] == [48, 52]
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["webpod1", "webpod2"]
    assert "which backend answered 100 requests" in plots.texts(fig)


def test_flow_counts_count_a_reply_for_the_side_that_asked():
    table = plots.flow_counts(FLOWS)
    assert table.loc["netpod", "webpod1"] == 3
    assert table.loc["netpod", "webpod2"] == 1
    assert table.loc["reserved:host", "webpod2"] == 1
    assert "webpod1" not in table.index


def test_flow_matrix_cells_hold_the_counts():
    fig = plots.flow_matrix(FLOWS)
    image = fig.axes[0].images[0].get_array()
    assert image[0, 0] == 3 and image[0, 1] == 1
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["netpod",
                                                                    "reserved:host"]


def test_service_map_draws_an_arrow_per_pair_with_protocol_and_count():
    fig = plots.service_map(FLOWS)
    text = _labels(fig)
    assert len(_arrows(fig)) == 3
    assert "TCP/80 ×3" in text and "TCP/80 ×1" in text and "ARP/80 ×1" in text
    for name in ("netpod", "webpod1", "webpod2", "reserved:host"):
        assert name in plots.texts(fig)


def test_empty_flows_say_so_instead_of_failing():
    empty = frame([], FLOW_COLUMNS)
    assert "no flows" in plots.texts(plots.flow_matrix(empty))
    assert "no flows" in plots.texts(plots.service_map(empty))


ALL_FIGURES = {
    "node": lambda: plots.node_diagram(ADDRS, ROUTES_W1, PODS, "k8s-w1"),
    "path": lambda: plots.path_diagram(PODS, NODES, "netpod", "webpod1"),
    "service": lambda: plots.service_diagram(SERVICE_LIST),
    "programs": lambda: plots.program_map_graph(PROGRAMS, MAPS),
    "entries": lambda: plots.map_entries(MAP_LIST),
    "syscalls": lambda: plots.syscall_summary(SUMMARY),
    "backends": lambda: plots.backend_distribution(pd.Series({"a": 1})),
    "matrix": lambda: plots.flow_matrix(FLOWS),
    "service_map": lambda: plots.service_map(FLOWS),
}


@pytest.mark.parametrize("name", sorted(ALL_FIGURES))
def test_figures_read_on_light_and_dark_themes(name: str, tmp_path):
    fig = ALL_FIGURES[name]()
    assert fig.get_facecolor()[3] == 0, "the background must be transparent"
    for text in fig.findobj(matplotlib.text.Text):
        if not text.get_text():
            continue
        r, g, b, _ = to_rgba(text.get_color())
        luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
        assert 0.2 < luminance < 0.8, f"{text.get_text()!r} is nearly black or white"
    fig.savefig(tmp_path / f"{name}.png")
    assert (tmp_path / f"{name}.png").stat().st_size > 1000


def test_a_kernel_learns_to_show_a_figure_left_as_a_cells_value(monkeypatch):
    registered = {}
    formatter = type("Formatter", (), {"for_type": lambda self, kind, f: registered.update(
        {kind: f})})()
    shell = type("Shell", (), {"display_formatter": type("D", (), {
        "formatters": {"image/png": formatter}})()})()
    monkeypatch.setattr("IPython.get_ipython", lambda: shell)
    plots._show_figures_in_notebooks()
    show = registered[matplotlib.figure.Figure]
    image = show(plots.backend_distribution(pd.Series({"webpod1": 3})))
    assert image.startswith(b"\x89PNG")
