"""The per-endpoint programs for real: a pod namespace, its lxc veth in a node namespace,
no proxy_arp and no address on the lxc. The pod can reach its gateway only because
cil_from_container answers its ARP request."""

from __future__ import annotations

import re
import subprocess

from tests.ebpf.conftest import netns_path, sh

POD_IP, GATEWAY = "172.16.0.10", "172.16.0.254"


def _pod_and_node(netns):
    node, pod = netns(), netns()
    lxc = "lxc" + node[-6:]
    sh("ip", "-n", node, "link", "add", lxc, "type", "veth", "peer", "name", "eth0",
       "netns", pod)
    sh("ip", "-n", node, "link", "add", "cilium_host", "type", "veth", "peer", "name",
       "cilium_net")
    sh("ip", "-n", node, "addr", "add", f"{GATEWAY}/32", "dev", "cilium_host")
    for name in ("cilium_host", "cilium_net", lxc):
        sh("ip", "-n", node, "link", "set", name, "up")
    sh("ip", "-n", node, "route", "add", f"{POD_IP}/32", "dev", lxc)
    # The kernel itself would answer ARP for cilium_host's address on any interface
    # (arp_ignore=0): switch that off, so only an eBPF answer can resolve the gateway.
    sh("ip", "netns", "exec", node, "sysctl", "-qw", f"net.ipv4.conf.{lxc}.arp_ignore=8")
    sh("ip", "-n", pod, "addr", "add", f"{POD_IP}/32", "dev", "eth0")
    sh("ip", "-n", pod, "link", "set", "eth0", "up")
    sh("ip", "-n", pod, "route", "add", GATEWAY, "dev", "eth0", "scope", "link")
    sh("ip", "-n", pod, "route", "add", "default", "via", GATEWAY)
    lxc_mac = re.search(r"link/ether (\S+)", sh("ip", "-n", node, "link", "show", lxc))[1]
    pod_mac = re.search(r"link/ether (\S+)", sh("ip", "-n", pod, "link", "show", "eth0"))[1]
    ifindex = int(sh("ip", "-n", node, "-o", "link", "show", lxc).split(":")[0])
    return node, pod, lxc, lxc_mac, pod_mac, ifindex


def test_gateway_arp_is_answered_with_the_lxc_mac_and_flows_are_reported(netns, bpffs):
    """In the attach mode this machine uses (tcx with a new bpftool, clsact otherwise)."""
    from labkit.ebpf.lxc import EndpointPrograms

    node, pod, lxc, lxc_mac, pod_mac, ifindex = _pod_and_node(netns)
    proxy_arp = sh("ip", "netns", "exec", node, "cat", f"/proc/sys/net/ipv4/conf/{lxc}/proxy_arp")
    assert proxy_arp.strip() == "0"

    programs = EndpointPrograms(bpffs)
    try:
        programs.set_endpoint(POD_IP, ifindex=ifindex, endpoint_id=1234, node_id=1,
                              mac=pod_mac, node_mac=lxc_mac, identity=5001)
        programs.set_ipcache(f"{POD_IP}/32", identity=5001, tunnel_endpoint="192.168.10.10")
        programs.set_ipcache(f"{GATEWAY}/32", identity=1)
        mode = programs.attach(netns_path(node), lxc, bpffs / "links")
        # What a learner sees on the node: the machine's own bpftool shows the programs.
        shown = sh("ip", "netns", "exec", node, "bpftool", "net", "show")
        kind = "tcx" if mode == "tcx" else "clsact"
        assert re.search(rf"{lxc}\(\d+\) {kind}/ingress cil_from_container", shown), shown
        assert re.search(rf"{lxc}\(\d+\) {kind}/egress cil_to_container", shown), shown

        sh("ip", "netns", "exec", pod, "ping", "-c", "2", "-W", "2", GATEWAY)

        neigh = sh("ip", "-n", pod, "neigh", "show", GATEWAY)
        assert lxc_mac in neigh, f"the gateway should resolve to the lxc's MAC: {neigh}"

        flows = programs.flows()
        arp = flows[flows.kind == "arp-reply"]
        assert len(arp) >= 1 and set(arp.destination_ip) == {GATEWAY}
        echo = flows[(flows.protocol == "ICMPv4") & (flows.icmp_type == 8)]
        reply = flows[(flows.protocol == "ICMPv4") & (flows.icmp_type == 0)]
        assert len(echo) == 2 and set(echo.direction) == {"from-container"}
        assert len(reply) == 2 and set(reply.direction) == {"to-container"}
        assert set(echo.source_identity) == {5001} and set(echo.destination_identity) == {1}
        assert set(echo.endpoint_id) == {1234}

        metrics = programs.metrics()
        answered = metrics[metrics.reason == "arp-reply"].packets.sum()
        assert answered >= 1
        assert metrics[metrics.reason == "forwarded"].packets.sum() >= 4
    finally:
        programs.close()


def test_without_the_programs_the_gateway_does_not_resolve(netns):
    """The control experiment: same namespaces, no eBPF, proxy_arp 0 -> no answer, so the
    answer in the test above came from cil_from_container."""
    node, pod, *_ = _pod_and_node(netns)
    result = subprocess.run(
        ["ip", "netns", "exec", pod, "ping", "-c", "1", "-W", "1", GATEWAY], capture_output=True)
    assert result.returncode != 0


def test_tcx_links_answer_arp_too(netns, bpffs):
    """The tcx mode on any kernel that has it, whatever bpftool can show."""
    import platform

    import pytest

    from labkit.ebpf import links
    from labkit.ebpf.lxc import EndpointPrograms

    if links._version(platform.release()) < (6, 6):
        pytest.skip("tcx needs Linux 6.6")
    node, pod, lxc, lxc_mac, pod_mac, ifindex = _pod_and_node(netns)
    programs = EndpointPrograms(bpffs)
    try:
        programs.set_endpoint(POD_IP, ifindex=ifindex, endpoint_id=7, node_id=1, mac=pod_mac,
                              node_mac=lxc_mac, identity=5001)
        assert programs.attach(netns_path(node), lxc, bpffs / "links", mode="tcx") == "tcx"
        sh("ip", "netns", "exec", pod, "ping", "-c", "1", "-W", "2", GATEWAY)
        assert lxc_mac in sh("ip", "-n", pod, "neigh", "show", GATEWAY)
        assert (bpffs / "links" / f"{lxc}_cil_from_container").exists()
    finally:
        programs.close()
