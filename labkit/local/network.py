"""The lab's links, addresses and routes as iproute2 batch lines, one list per namespace.

Pure functions: they say what a node or a pod looks like (as in chapter 03 of the study) and
the lab feeds them to ``ip -n <netns> -batch``. Every veth is created inside a lab namespace
with its peer placed straight into another, so no link ever exists in the host's namespace.
"""

from __future__ import annotations

import hashlib

from labkit.local.topology import (
    MACHINES,
    MTU,
    NODES,
    UPLINK,
    VPC_BRIDGE,
    VPC_SUBNET,
    Machine,
)

# Sysctls for every lab namespace: proxy_arp 0 everywhere (the chapter checks it), no
# reverse-path filtering (Cilium turns it off), and no IPv6 chatter in captures.
BASE_SYSCTLS = {
    "net.ipv4.conf.all.proxy_arp": "0",
    "net.ipv4.conf.default.proxy_arp": "0",
    "net.ipv4.conf.all.rp_filter": "0",
    "net.ipv4.conf.default.rp_filter": "0",
    "net.ipv6.conf.all.disable_ipv6": "1",
    "net.ipv6.conf.default.disable_ipv6": "1",
}
NODE_SYSCTLS = {**BASE_SYSCTLS, "net.ipv4.ip_forward": "1"}


def mac_for(name: str) -> str:
    """A stable, locally administered unicast MAC derived from a name."""
    raw = bytearray(hashlib.sha256(name.encode()).digest()[:6])
    raw[0] = (raw[0] & 0xFE) | 0x02
    return ":".join(f"{b:02x}" for b in raw)


def vpc_lines() -> list[str]:
    """The VPC: a bridge with one port per machine, the peer of each being that machine's ens5."""
    lines = [
        "link set lo up",
        f"link add {VPC_BRIDGE} type bridge",
        f"link set {VPC_BRIDGE} up",
    ]
    for m in MACHINES:
        lines += [
            f"link add {m.name} mtu {MTU} type veth peer name {UPLINK} netns {m.netns}",
            f"link set {m.name} master {VPC_BRIDGE} up",
        ]
    return lines


def machine_lines(m: Machine) -> list[str]:
    """A machine's own namespace: uplink and, on nodes, cilium_host/cilium_net, routes, health."""
    lines = [
        "link set lo up",
        f"address add {m.address}/{VPC_SUBNET.prefixlen} dev {UPLINK}",
        f"link set {UPLINK} up",
    ]
    if not m.is_node:
        return lines
    router = m.router_ip
    lines += [
        # peer first, so cilium_net gets the lower ifindex as on a Cilium node
        f"link add cilium_host mtu {MTU} type veth peer name cilium_net",
        "link set cilium_net up",
        "link set cilium_host up",
        f"address add {router}/32 dev cilium_host scope link",
    ]
    for other in NODES:
        if other.name != m.name:
            lines.append(f"route add {other.pod_cidr} via {other.address} dev {UPLINK}")
    lines += endpoint_node_lines("lxc_health", m.health_netns, m.health_ip)
    return lines


def endpoint_node_lines(host_link: str, netns: str, ip: str) -> list[str]:
    """Node side of an endpoint: the veth (peer eth0 in the endpoint) and its endpoint route."""
    return [
        f"link add {host_link} address {mac_for(host_link + netns)} mtu {MTU} "
        f"type veth peer name eth0 netns {netns}",
        f"link set {host_link} up",
        f"route add {ip}/32 dev {host_link}",
    ]


def endpoint_lines(host_link: str, netns: str, ip: str, gateway: str) -> list[str]:
    """Inside an endpoint: eth0 with a /32, a scope-link route to the gateway, default via it.

    No neighbour entry for the gateway: the eBPF program on the lxc answers the pod's ARP
    request with the lxc's MAC (chapter 05), although proxy_arp is 0 and the lxc has no
    address.
    """
    return [
        "link set lo up",
        f"address add {ip}/32 dev eth0",
        "link set eth0 up",
        f"route add {gateway} dev eth0 scope link",
        f"route add default via {gateway} dev eth0",
    ]


def health_lines(m: Machine) -> list[str]:
    return endpoint_lines("lxc_health", m.health_netns, m.health_ip, m.router_ip)
