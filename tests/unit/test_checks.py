"""Every chapter check passes on good data and fails, naming expected and seen, when its
condition is broken on purpose."""

from __future__ import annotations

import json
import subprocess

import pandas as pd
import pytest

from labkit import checks, parse
from labkit.checks import CheckFailed
from labkit.parsers._text import frame
from labkit.parsers.hubble import FLOW_COLUMNS


def _fails(match: str):
    return pytest.raises(CheckFailed, match=match)


def test_a_failed_check_is_an_assertion_naming_expected_seen_and_where_to_look():
    with pytest.raises(AssertionError) as caught:
        checks.kernel_at_least("4.19.0")
    error = caught.value
    assert isinstance(error, CheckFailed)
    assert error.expected == "kernel >= 5.8" and error.seen == "4.19.0"
    assert "expected:" in str(error) and "seen:" in str(error) and "look at:" in str(error)


def test_a_passed_check_shows_as_one_plain_line():
    assert repr(checks.kernel_at_least("6.8.0-1015-aws")) == "OK: kernel 6.8.0-1015-aws >= 5.8"


# ---- 00 ---------------------------------------------------------------------------------------

def test_no_kube_proxy():
    pods = pd.DataFrame({"name": ["coredns-55cb58b774-abcde", "etcd-k8s-s"]})
    assert checks.no_kube_proxy(pods)
    with _fails("kube-proxy-x7k2p"):
        checks.no_kube_proxy(pd.concat([pods, pd.DataFrame({"name": ["kube-proxy-x7k2p"]})]))


@pytest.mark.parametrize("release", ["5.8.0", "6.8.0-1015-aws", "10.1"])
def test_kernel_at_least_passes_from_5_8(release: str):
    assert checks.kernel_at_least(release)


@pytest.mark.parametrize("release", ["5.7.19", "4.19.0-21-amd64"])
def test_kernel_at_least_fails_before_5_8(release: str):
    with _fails("older than Cilium needs"):
        checks.kernel_at_least(release)


def test_kernel_at_least_fails_on_an_unreadable_release():
    with _fails("cannot be read"):
        checks.kernel_at_least("unknown")


def test_nodes_ready():
    nodes = pd.DataFrame({"name": ["k8s-s", "k8s-w1"], "status": ["Ready", "Ready"]})
    assert checks.nodes_ready(nodes)
    with _fails("k8s-w1 NotReady"):
        checks.nodes_ready(nodes.assign(status=["Ready", "NotReady"]))
    with _fails("not every node"):
        checks.nodes_ready(nodes[:0])


# ---- 01 ---------------------------------------------------------------------------------------

def test_config_says():
    config = pd.DataFrame({"key": ["kube-proxy-replacement", "routing-mode"],
                           "value": ["true", "native"]})
    assert checks.config_says(config, "routing-mode", "native")
    with _fails("seen:     tunnel"):
        checks.config_says(config.assign(value=["true", "tunnel"]), "routing-mode", "native")
    with _fails("no such key"):
        checks.config_says(config, "enable-bpf-masquerade", "true")


def test_socket_lb_enabled():
    status = pd.DataFrame({"section": ["KubeProxyReplacement Details"] * 2,
                           "key": ["Status", "Socket LB"], "value": ["True", "Enabled"]})
    assert checks.socket_lb_enabled(status)
    with _fails("Socket LB: Enabled"):
        checks.socket_lb_enabled(status.assign(value=["True", "Disabled"]))
    with _fails("no Socket LB line"):
        checks.socket_lb_enabled(status[:1])


# ---- 02 ---------------------------------------------------------------------------------------

PODS = pd.DataFrame({"name": ["netpod", "webpod1"], "ip": ["172.16.0.1", "172.16.1.1"],
                     "node": ["k8s-s", "k8s-w1"]})


def test_every_pod_is_an_endpoint():
    endpoints = pd.DataFrame({"ipv4": ["172.16.1.1", "172.16.1.253"]})
    assert checks.every_pod_is_an_endpoint(endpoints, PODS, "k8s-w1")
    with _fails("no endpoint for 172.16.1.1"):
        checks.every_pod_is_an_endpoint(endpoints[1:], PODS, "k8s-w1")


def test_identities_agree():
    joined = pd.DataFrame({"ipv4": ["172.16.1.1"], "identity": [57302],
                           "ipcache_identity": [57302]})
    assert checks.identities_agree(joined)
    with _fails("172.16.1.1: 57302 vs 2"):
        checks.identities_agree(joined.assign(ipcache_identity=[2]))
    with _fails("no endpoints"):
        checks.identities_agree(joined[:0])


def test_ipcache_knows_pods():
    rows = pd.DataFrame({"pod": ["netpod", "webpod1"], "identity": [51514, 57302]})
    assert checks.ipcache_knows_pods(rows)
    with _fails("none for webpod1"):
        checks.ipcache_knows_pods(rows.assign(identity=[51514, None]))


# ---- 03 ---------------------------------------------------------------------------------------

ARP = pd.DataFrame({"interface": ["all", "cilium_host", "cilium_net", "lxc_health", "lxcab"],
                    "proxy_arp": [0, 0, 0, 0, 0]})


def test_proxy_arp_off():
    assert "lxcab" in checks.proxy_arp_off(ARP)
    with _fails("proxy_arp 1 on lxcab"):
        checks.proxy_arp_off(ARP.assign(proxy_arp=[0, 0, 0, 0, 1]))
    with _fails("no lxc interface"):
        checks.proxy_arp_off(ARP[:3])


def _addrs(links: list[dict]) -> pd.DataFrame:
    return parse("ip -j addr", json.dumps(links))


def _link(name: str, peer: str | None = None, addrs: tuple = ()) -> dict:
    link = {"ifindex": 1, "ifname": name, "flags": ["UP"], "mtu": 1500, "operstate": "UP",
            "address": "aa:bb:cc:dd:ee:ff", "addr_info": [
                {"family": "inet", "local": a, "prefixlen": n, "scope": "link"}
                for a, n in addrs]}
    if peer:
        link["link"] = peer
    return link


NODE = _addrs([_link("cilium_net", "cilium_host"),
               _link("cilium_host", "cilium_net", (("172.16.1.254", 32),)),
               _link("lxcab")])


def test_veth_pair():
    assert checks.veth_pair(NODE)
    broken = _addrs([_link("cilium_net"), _link("cilium_host", "cilium_net")])
    with _fails("cilium_net@None"):
        checks.veth_pair(broken)


def test_cilium_host_holds_gateway():
    assert checks.cilium_host_holds_gateway(NODE, "172.16.1.254")
    with _fails("172.16.1.1/32 on cilium_host"):
        checks.cilium_host_holds_gateway(NODE, "172.16.1.1")
    wide = _addrs([_link("cilium_host", "cilium_net", (("172.16.1.254", 24),))])
    with _fails("172.16.1.254/24"):
        checks.cilium_host_holds_gateway(wide)


def test_lxc_without_address():
    assert checks.lxc_without_address(NODE)
    with _fails("lxcab 172.16.1.9"):
        checks.lxc_without_address(_addrs([_link("lxcab", None, (("172.16.1.9", 32),))]))
    with _fails("no lxc interface"):
        checks.lxc_without_address(_addrs([_link("cilium_host")]))


# ---- 04 ---------------------------------------------------------------------------------------

def test_flows_between():
    flows = frame([{"source_pod": "netpod", "destination_pod": "webpod1",
                    "verdict": "FORWARDED"}], FLOW_COLUMNS)
    assert checks.flows_between(flows, "netpod", "webpod1")
    with _fails("netpod->webpod1"):
        checks.flows_between(flows, "netpod", "webpod2")
    with _fails("no flow"):
        checks.flows_between(flows.assign(verdict="DROPPED"), "netpod", "webpod1")


# ---- 05 ---------------------------------------------------------------------------------------

ROW = pd.DataFrame([{"pod": "netpod", "gateway": "172.16.0.254",
                     "gateway_mac": "fa:f2:82:2b:85:c8", "node": "k8s-s", "lxc": "lxca2",
                     "lxc_mac": "fa:f2:82:2b:85:c8", "lxc_addresses": 0, "lxc_proxy_arp": 0}])


def test_gateway_mac_is_lxc_mac():
    assert "answered by eBPF" in checks.gateway_mac_is_lxc_mac(ROW)
    with _fails("the gateway MAC is not the lxc's MAC"):
        checks.gateway_mac_is_lxc_mac(ROW.assign(gateway_mac="02:00:00:00:00:01"))
    with _fails("no neighbour entry"):
        checks.gateway_mac_is_lxc_mac(ROW.assign(gateway_mac=None))
    with _fails("proxy_arp 1"):
        checks.gateway_mac_is_lxc_mac(ROW.assign(lxc_proxy_arp=1))


def _result(code: int, stderr: str = "") -> subprocess.CompletedProcess:
    return subprocess.CompletedProcess(["curl", "-s", "172.16.1.1:8080"], code, "", stderr)


def test_succeeded_and_refused():
    assert checks.succeeded(_result(0), "curl webpod1")
    with _fails("exit status 1: boom"):
        checks.succeeded(_result(1, "boom"), "ping webpod1")
    assert checks.refused(_result(7), "curl :8080")
    with _fails("exit status 28"):
        checks.refused(_result(28), "curl :8080")
    with _fails("exit status 0"):
        checks.refused(_result(0), "curl :8080")


def test_routes_via():
    routes = parse("ip -j route", json.dumps([
        {"dst": "172.16.0.0/24", "gateway": "192.168.10.10", "dev": "ens5"},
        {"dst": "172.16.2.0/24", "gateway": "192.168.10.102", "dev": "ens5"},
        {"dst": "192.168.10.0/24", "dev": "ens5"}]))
    found = checks.routes_via(routes, ["192.168.10.10", "192.168.10.102"])
    assert found == "172.16.0.0/24 via 192.168.10.10, 172.16.2.0/24 via 192.168.10.102"
    with _fails("192.168.10.10 .172.16.0.0/24."):
        checks.routes_via(routes[:1], ["192.168.10.10", "192.168.10.102"])
    with _fails("no direct route"):
        checks.routes_via(routes, [])


# ---- 06 ---------------------------------------------------------------------------------------

NET = pd.DataFrame({"devname": ["lxcab", "lxcab"], "kind": ["tcx/ingress", "tcx/egress"],
                    "prog_name": ["cil_from_container", "cil_to_container"]})


def test_programs_on_lxc():
    assert checks.programs_on_lxc(NET, "lxcab")
    with _fails("ingress cil_to_container"):
        checks.programs_on_lxc(NET.assign(prog_name=["cil_to_container"] * 2), "lxcab")
    with _fails("the endpoint programs are not on lxcother"):
        checks.programs_on_lxc(NET, "lxcother")


def test_program_uses_map():
    programs = pd.DataFrame({"name": ["cil_sock4_connect"], "map_ids": [[4, 5]]})
    maps = pd.DataFrame({"id": [4, 5, 6], "name": ["cilium_lb4_serv", "cilium_lb4_back",
                                                     "cilium_lxc"]})
    assert checks.program_uses_map(programs, maps, "cil_sock4_connect",
                                   "cilium_lb4_services_v2")
    with _fails("cilium_lxc in cil_sock4_connect's map_ids"):
        checks.program_uses_map(programs, maps, "cil_sock4_connect", "cilium_lxc")
    with _fails("no program cil_nothing"):
        checks.program_uses_map(programs, maps, "cil_nothing", "cilium_lxc")


# ---- 07 ---------------------------------------------------------------------------------------

KUBE_PROXY_RULES = """\
*nat
:KUBE-SERVICES - [0:0]
-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -j KUBE-SVC-NPX46M4PTMTKRN6Y
COMMIT
"""
CILIUM_RULES = """\
*raw
:CILIUM_PRE_raw - [0:0]
-A CILIUM_PRE_raw -d 192.168.0.0/16 -m comment --comment "cilium: NOTRACK" -j CT --notrack
COMMIT
"""


def test_no_kube_svc_rules():
    assert checks.no_kube_svc_rules(parse("iptables-save", CILIUM_RULES))
    assert checks.no_kube_svc_rules(parse("iptables-save", ""))
    with _fails("KUBE-SERVICES -j KUBE-SVC-NPX46M4PTMTKRN6Y"):
        checks.no_kube_svc_rules(parse("iptables-save", KUBE_PROXY_RULES))


TCPDUMP = pd.DataFrame({"src_ip": ["172.16.0.1", "172.16.2.1"],
                        "dst_ip": ["172.16.2.1", "172.16.0.1"]})


def test_never_shows():
    assert "only 172.16.0.1, 172.16.2.1" in checks.never_shows(TCPDUMP, "10.96.139.215")
    with _fails("shows the ClusterIP 10.96.139.215"):
        checks.never_shows(TCPDUMP.assign(dst_ip=["10.96.139.215", "172.16.0.1"]),
                           "10.96.139.215")
    with _fails("captured nothing"):
        checks.never_shows(TCPDUMP[:0], "10.96.139.215")


def test_host_header_keeps():
    ngrep = pd.DataFrame({"http_request_line": ["GET / HTTP/1.1", None],
                          "http_host": ["10.96.139.215", "10.96.139.215."],
                          "dst_ip": ["172.16.2.1", "172.16.0.1"]})
    assert checks.host_header_keeps(ngrep, "10.96.139.215").endswith("went to 172.16.2.1")
    with _fails("Host: 10.96.139.215"):
        checks.host_header_keeps(ngrep.assign(http_host=["172.16.2.1", "10.96.139.215."]),
                                 "10.96.139.215")
    with _fails("no HTTP request"):
        checks.host_header_keeps(ngrep[1:], "10.96.139.215")


def test_spread_over():
    counts = pd.Series({"webpod1": 48, "webpod2": 52})
    assert checks.spread_over(counts, ["webpod1", "webpod2"])
    with _fails("webpod1: 100"):
        checks.spread_over(pd.Series({"webpod1": 100}), ["webpod1", "webpod2"])
    with _fails("answers from each"):
        checks.spread_over(pd.Series({"(no answer)": 100}), ["webpod1"])


# ---- 08 ---------------------------------------------------------------------------------------

ASKED = pd.DataFrame([{"asked_ip": "10.96.139.215", "asked_port": 80,
                       "wire_ip": "172.16.2.1", "wire_port": 80, "wire_pod": "webpod2"}])


def test_connect_asked_for_service():
    assert "went to 172.16.2.1:80 (webpod2)" in checks.connect_asked_for_service(
        ASKED, "10.96.139.215")
    with _fails("no connect"):
        checks.connect_asked_for_service(ASKED, "10.96.0.1")
    with _fails("not a backend"):
        checks.connect_asked_for_service(ASKED.assign(wire_ip="10.96.139.215"),
                                         "10.96.139.215")
    with _fails("no flow for that connection"):
        checks.connect_asked_for_service(ASKED.assign(wire_ip=None), "10.96.139.215")


# ---- 09 ---------------------------------------------------------------------------------------

def test_nothing_left_and_no_pods():
    assert checks.nothing_left([])
    with _fails("netns lk-k8s-s"):
        checks.nothing_left(["netns lk-k8s-s"])
    assert checks.no_pods(PODS[:0])
    with _fails("netpod"):
        checks.no_pods(PODS)
