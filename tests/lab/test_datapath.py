"""Chapter 05 and 07 on the local lab: what the eBPF datapath must make true, asserted.

Each test names the claim of the chapter it checks. They share the session's lab with the
seed's pods and service (see conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import uuid
from collections import Counter

import pandas as pd
import pytest

import labkit
from labkit.parsers import socket_calls

pytestmark = pytest.mark.root

REQUESTS = 50


def _cluster_ip(lab) -> str:
    svc = lab.services()
    return svc.loc[svc.name == "svc", "cluster_ip"].item()


def test_curl_to_the_clusterip_reaches_both_webpods(lab):
    vip = _cluster_ip(lab)
    loop = f"for i in $(seq {REQUESTS}); do curl -s --max-time 2 http://{vip}/; done"
    out = lab.exec("netpod", loop, shell=True, timeout=60, check=True).stdout
    hostnames = Counter(line.split()[1] for line in out.splitlines()
                        if line.startswith("Hostname:"))
    assert sum(hostnames.values()) == REQUESTS
    assert set(hostnames) == {"webpod1", "webpod2"}, hostnames


def test_tcpdump_in_netpod_never_shows_the_clusterip(lab):
    vip = _cluster_ip(lab)
    backends = {lab.pod_ip("webpod1"), lab.pod_ip("webpod2")}
    captured: dict = {}

    def capture() -> None:
        captured["out"] = lab.exec("netpod", "timeout 4 tcpdump -enni any -q -c 40 tcp port 80",
                                   timeout=10).stdout

    thread = threading.Thread(target=capture)
    thread.start()
    lab.exec("netpod", "sleep 1", timeout=5)
    lab.exec("netpod", f"for i in 1 2 3 4 5; do curl -s --max-time 2 http://{vip}/ >/dev/null;"
             " done", shell=True, timeout=30)
    thread.join()
    packets = labkit.parse("tcpdump -enni any -q", captured["out"])
    assert len(packets) > 0
    seen = set(packets.src_ip) | set(packets.dst_ip)
    assert vip not in seen, "the ClusterIP must never appear on the wire: it is translated " \
                            "at connect(), before any packet exists"
    assert seen & backends


def test_strace_shows_connect_to_the_clusterip_and_getpeername_answers_it(lab):
    vip = _cluster_ip(lab)
    result = lab.exec("netpod", f"strace -f -e trace=connect,getpeername,getsockname "
                      f"curl -s --max-time 2 http://{vip}/", timeout=20, check=True)
    calls = labkit.parse("strace -f -e trace=connect curl", result.stderr)
    sockets = socket_calls(calls)
    connects = sockets[(sockets.syscall == "connect") & (sockets.family == "AF_INET")]
    assert vip in set(connects.ip), "the program asked for the service address"
    peers = sockets[sockets.syscall == "getpeername"]
    assert len(peers) and set(peers.ip) == {vip}, "getpeername() answers the service address"


def test_the_host_header_still_carries_the_clusterip(lab):
    vip = _cluster_ip(lab)
    out = lab.exec("netpod", f"curl -s --max-time 2 http://{vip}/", check=True).stdout
    assert f"Host: {vip}" in out.splitlines()


UDP_SERVER = ("import socket\n"
              "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
              "s.bind(('0.0.0.0', 5353))\n"
              "while True:\n"
              "    data, peer = s.recvfrom(100)\n"
              "    s.sendto(socket.gethostname().encode(), peer)\n")
UDP_CLIENT = ("import socket, sys\n"
              "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
              "u.settimeout(2)\n"
              "u.sendto(b'hi', (sys.argv[1], 53))\n"
              "data, peer = u.recvfrom(100)\n"
              "print(data.decode(), peer[0], peer[1])\n")
UDP_SERVICE = """
apiVersion: v1
kind: Service
metadata:
  name: udpsvc
spec:
  selector:
    app: webpod
  ports:
    - name: dns
      protocol: UDP
      port: 53
      targetPort: 5353
"""


def test_a_udp_service_answers_from_the_service_address(lab):
    for pod in ("webpod1", "webpod2"):
        lab.exec(pod, ["sh", "-c", f"nohup /usr/bin/python3 -c \"{UDP_SERVER}\" "
                       ">/dev/null 2>&1 &"], timeout=5)
    lab.apply(UDP_SERVICE)
    try:
        svc = lab.services()
        vip = svc.loc[svc.name == "udpsvc", "cluster_ip"].item()
        out = lab.exec("netpod", ["/usr/bin/python3", "-c", UDP_CLIENT, vip], timeout=10)
        assert out.returncode == 0, out.stderr
        hostname, peer, port = out.stdout.split()
        assert hostname in {"webpod1", "webpod2"}
        assert (peer, port) == (vip, "53"), "recvmsg4 rewrote the reply's source back"
    finally:
        lab.delete("svc/udpsvc")


def test_no_node_has_a_dnat_or_kube_svc_rule(lab):
    for node in ("k8s-s", "k8s-w1", "k8s-w2"):
        rules = labkit.parse("iptables-save", lab.node(node).run("iptables-save").stdout)
        assert not (rules.target == "DNAT").any()
        assert not rules.chain.fillna("").str.startswith("KUBE-SVC").any()


def test_a_process_outside_the_lab_cgroup_is_not_translated(lab):
    vip = _cluster_ip(lab)
    name = f"lktest-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        lab.translations()  # drain
        done = subprocess.run(
            ["ip", "netns", "exec", name, "curl", "-s", "--max-time", "2", f"http://{vip}/"],
            capture_output=True, text=True)
        assert done.returncode != 0  # no route: nothing rewrote the destination
        trace = lab.translations()
        assert not (trace.comm == "curl").any(), "the socket LB must not touch this process"
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def test_the_gateway_mac_is_the_lxc_mac_answered_by_ebpf(lab):
    gateway = lab.node("k8s-s").run("ip -4 -o addr show dev cilium_host").stdout.split()[3]
    gateway = gateway.split("/")[0]
    lab.exec("netpod", f"ping -c 1 -W 2 {lab.pod_ip('webpod1')}", check=True)
    neigh = labkit.parse("ip neigh", lab.exec("netpod", "ip neigh show").stdout)
    entry = neigh[neigh.ip == gateway]
    assert len(entry) == 1
    assert "PERMANENT" not in str(entry.state.item()), "learned by ARP, not written by hand"
    lab_lxc = lab.node("k8s-s").run("ip -j link show").stdout
    macs = {link["address"] for link in json.loads(lab_lxc)
            if link["ifname"].startswith("lxc") and link["ifname"] != "lxc_health"}
    assert entry.mac.item() in macs
    for node in ("k8s-s", "k8s-w1", "k8s-w2"):
        values = lab.node(node).run(
            "sh -c 'cat /proc/sys/net/ipv4/conf/lxc*/proxy_arp'", shell=False).stdout.split()
        assert values and set(values) == {"0"}


def test_flows_show_netpod_pinging_webpod1_and_the_reply(lab):
    lab.observe()  # drain what came before
    lab.exec("netpod", f"ping -c 2 -W 2 {lab.pod_ip('webpod1')}", check=True)
    flows = lab.observe(pod="netpod")
    icmp = flows[flows.protocol == "ICMPv4"]
    requests = icmp[(icmp.source_pod == "netpod") & (icmp.destination_pod == "webpod1")]
    replies = icmp[(icmp.source_pod == "webpod1") & (icmp.destination_pod == "netpod")]
    assert len(requests) >= 2 and not requests.is_reply.any()
    assert len(replies) >= 2 and replies.is_reply.all()
    assert set(requests.node) <= {"k8s-s", "k8s-w1"}


def test_socket_lb_tracing_reports_each_translation(lab):
    vip = _cluster_ip(lab)
    lab.translations()
    lab.exec("netpod", f"curl -s --max-time 2 http://{vip}/", check=True)
    trace = lab.translations()
    connects = trace[(trace.hook == "connect") & (trace.original_ip == vip)]
    assert len(connects) == 1
    assert connects.backend_ip.item() in {lab.pod_ip("webpod1"), lab.pod_ip("webpod2")}
    assert connects.pod.item() == "netpod" and connects.comm.item() == "curl"


def test_the_programs_sit_where_a_learner_looks_for_them(lab):
    tree = lab.node("k8s-s").run("bpftool cgroup tree /run/labkit/cgroupv2").stdout
    hooks = set(labkit.parse("bpftool cgroup tree", tree).hook)
    assert {"connect4", "sendmsg4", "recvmsg4", "getpeername4"} <= hooks
    net = labkit.parse("bpftool net show", lab.node("k8s-w1").run("bpftool net show").stdout)
    assert {"cil_from_container", "cil_to_container"} <= {
        str(n).split("-")[0] for n in net.prog_name}


def test_a_process_that_drove_the_lab_holds_none_of_its_programs(lab):
    """Attach points keep the programs; a notebook kernel that applied pods must not, or
    `labkit down` could not unload them while the kernel lives."""
    lab.apply(UDP_SERVICE)
    lab.delete("svc/udpsvc")
    held = [os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")
            if os.path.exists(f"/proc/self/fd/{fd}")]
    assert not [link for link in held if "bpf-prog" in link]


def test_observe_keeps_only_what_since_and_limit_ask_for(lab):
    lab.exec("netpod", f"ping -c 3 -i 0.2 -W 2 {lab.pod_ip('webpod2')}", check=True)
    time.sleep(1.5)
    lab.exec("netpod", f"ping -c 1 -W 2 {lab.pod_ip('webpod2')}", check=True)
    everything = lab.observe(pod="netpod")
    recent = lab.observe(pod="netpod", since="1s")
    assert 0 < len(recent) < len(everything)
    assert (recent.time >= everything.time.max() - pd.Timedelta("1.2s")).all()
    last = lab.observe(pod="netpod", limit=3)
    assert len(last) == 3 and list(last.time) == list(everything.time.tail(3))
