"""Hubble-like flows from the events of the lab's endpoint programs.

The programs report each IPv4 packet to or from a pod (and each ARP answer); this module
names both ends (pod, namespace, labels, identity), tells requests from replies, and
writes hubble's columns (labkit.parsers.hubble.FLOW_COLUMNS), so a flow table reads the
same on the local lab and on a cluster.
"""

from __future__ import annotations

import pandas as pd

from labkit.local.datapath import HEALTH, HOST, REMOTE_NODE, RESERVED, WORLD, pod_identity
from labkit.local.topology import NODES
from labkit.parsers._text import frame
from labkit.parsers.hubble import FLOW_COLUMNS

ICMP_TYPES = {0: "EchoReply", 3: "DestinationUnreachable", 8: "EchoRequest", 11: "TimeExceeded"}


class Namer:
    """Who is behind an address, as seen from a node."""

    def __init__(self, s: dict) -> None:
        self.pods = {p["ip"]: p for p in s["pods"].values()}
        self.nodes = {ip: m.name for m in NODES for ip in (m.address, m.router_ip)}
        self.health = {m.health_ip: m.name for m in NODES}

    def endpoint(self, ip: str, seen_from: str) -> dict:
        pod = self.pods.get(ip)
        if pod:
            labels = [f"k8s:{k}={v}" for k, v in sorted(pod["labels"].items())]
            return {"namespace": pod["namespace"], "pod": pod["name"], "ip": ip,
                    "identity": pod_identity(pod["namespace"], pod["labels"]),
                    "labels": labels + [f"k8s:io.kubernetes.pod.namespace={pod['namespace']}"]}
        if ip in self.health:
            return {"ip": ip, "identity": HEALTH, "labels": [RESERVED[HEALTH]]}
        if ip in self.nodes:
            identity = HOST if self.nodes[ip] == seen_from else REMOTE_NODE
            return {"ip": ip, "identity": identity, "labels": [RESERVED[identity]]}
        return {"ip": ip, "identity": WORLD, "labels": [RESERVED[WORLD]]}

    def node_of(self, ip: str) -> str | None:
        pod = self.pods.get(ip)
        return pod["node"] if pod else None


def _summary(event: pd.Series, is_reply: bool | None) -> str:
    if event["protocol"] == "TCP":
        return f"TCP Flags: {event['tcp_flags'] or 'none'}"
    if event["protocol"] == "ICMPv4":
        return f"ICMPv4 {ICMP_TYPES.get(event['icmp_type'], event['icmp_type'])}"
    return event["protocol"]


def to_flows(events: pd.DataFrame, s: dict, seen: dict) -> pd.DataFrame:
    """Hubble-shaped rows for raw events. ``seen`` remembers the first direction of each
    connection across calls (the first packet of a 5-tuple is the request)."""
    namer = Namer(s)
    node_names = {1 + i: m.name for i, m in enumerate(NODES)}
    rows = []
    for _, ev in events.iterrows():
        node = node_names.get(ev["node_id"]) or namer.node_of(
            ev["source_ip"] if ev["direction"] == "from-container" else ev["destination_ip"])
        if ev["kind"] == "arp-reply":
            rows.append({
                "time": ev["time"], "node": node, "protocol": "ARP", "verdict": "FORWARDED",
                "type": "L3_L4", "event": "arp-reply", "trace_observation_point": "FROM_ENDPOINT",
                "traffic_direction": "EGRESS", "is_reply": True,
                **{f"source_{k}": v for k, v in namer.endpoint(ev["source_ip"], node).items()},
                **{f"destination_{k}": v
                   for k, v in namer.endpoint(ev["destination_ip"], node).items()},
                "summary": f"ARP reply from eBPF: {ev['destination_ip']} is-at the lxc's MAC",
            })
            continue
        src = (ev["source_ip"], ev["source_port"])
        dst = (ev["destination_ip"], ev["destination_port"])
        key = (ev["protocol"], *sorted([src, dst], key=str))
        if ev["protocol"] == "ICMPv4":
            is_reply = ev["icmp_type"] == 0
        else:
            first = seen.setdefault(key, src)
            is_reply = first != src
        outgoing = ev["direction"] == "from-container"
        rows.append({
            "time": ev["time"], "node": node, "protocol": ev["protocol"],
            "tcp_flags": ev["tcp_flags"], "verdict": "FORWARDED", "type": "L3_L4",
            "event": "from-endpoint" if outgoing else "to-endpoint",
            "trace_observation_point": "FROM_ENDPOINT" if outgoing else "TO_ENDPOINT",
            "traffic_direction": "EGRESS" if outgoing else "INGRESS",
            "is_reply": bool(is_reply),
            **{f"source_{k}": v for k, v in namer.endpoint(ev["source_ip"], node).items()},
            "source_port": ev["source_port"],
            **{f"destination_{k}": v
               for k, v in namer.endpoint(ev["destination_ip"], node).items()},
            "destination_port": ev["destination_port"],
            "summary": _summary(ev, is_reply),
        })
    rows = [{k: (None if v is pd.NA else v) for k, v in row.items()} for row in rows]
    return frame(rows, FLOW_COLUMNS)
