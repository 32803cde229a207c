"""Loads bpf_lxc.c: the per-endpoint programs on each pod's lxc veth.

They answer the pod's ARP for its gateway, count packets in cilium_metrics and report
every IPv4 packet to or from a pod as a flow event; the lab reads those events as
Hubble-like flows. The endpoint map (cilium_lxc) and ipcache (cilium_ipcache) are kept
by the lab as pods come and go.
"""

from __future__ import annotations

import contextlib
import ctypes as ct
import ipaddress
import socket
import time
from pathlib import Path

import pandas as pd

from labkit.ebpf import links, loader
from labkit.ebpf.loader import DatapathError
from labkit.nsthread import in_netns

SOURCE = "bpf_lxc.c"
PROGRAMS = {"cil_from_container": links.TCX_INGRESS, "cil_to_container": links.TCX_EGRESS}
MAPS = ("cilium_lxc", "cilium_ipcache", "cilium_metrics")
PROTOCOLS = {1: "ICMPv4", 6: "TCP", 17: "UDP"}
TCP_FLAGS = [(0x02, "SYN"), (0x10, "ACK"), (0x08, "PSH"), (0x01, "FIN"), (0x04, "RST"),
             (0x20, "URG")]
FLOW_COLUMNS = ["time", "kind", "direction", "ifindex", "endpoint_id", "node_id", "source_ip",
                "source_port", "source_identity", "destination_ip", "destination_port",
                "destination_identity", "protocol", "tcp_flags", "icmp_type", "length"]


class _Flow(ct.Structure):
    """struct flow_event of bpf_lxc.c."""

    _fields_ = [
        ("time_ns", ct.c_uint64), ("ifindex", ct.c_uint32), ("length", ct.c_uint32),
        ("saddr", ct.c_uint32), ("daddr", ct.c_uint32), ("sport", ct.c_uint16),
        ("dport", ct.c_uint16), ("src_identity", ct.c_uint32), ("dst_identity", ct.c_uint32),
        ("endpoint_id", ct.c_uint16), ("node_id", ct.c_uint16), ("kind", ct.c_uint8),
        ("dir", ct.c_uint8), ("proto", ct.c_uint8), ("tcp_flags", ct.c_uint8),
        ("icmp_type", ct.c_uint8), ("pad", ct.c_uint8 * 3),
    ]


def _be32(ip: str) -> int:
    return int.from_bytes(ipaddress.IPv4Address(ip).packed, "little")


def _ip(value: int) -> str:
    return str(ipaddress.IPv4Address(int(value).to_bytes(4, "little")))


def _mac(text: str) -> bytes:
    return bytes(int(part, 16) for part in text.split(":"))


def _boot_offset() -> float:
    """Seconds to add to bpf_ktime_get_ns() (monotonic) to get the wall clock."""
    return time.time() - time.monotonic()


def flag_names(bits: int) -> str:
    """TCP flag bits as hubble prints them: ``SYN, ACK``."""
    return ", ".join(name for bit, name in TCP_FLAGS if bits & bit)


class EndpointPrograms:
    """cil_from_container / cil_to_container and their maps, pinned under ``pin_dir``."""

    def __init__(self, pin_dir: Path | str) -> None:
        from bcc import BPF  # noqa: PLC0415 - system module, imported where it is needed

        self.pin_dir = Path(pin_dir)
        self._bpf = loader.compile_pinned(SOURCE, self.pin_dir)
        self._programs = {name: (BPF.SCHED_CLS, -1) for name in PROGRAMS}
        self._flows: list[dict] = []
        self._offset = _boot_offset()
        self._bpf[b"cilium_events"].open_ring_buffer(self._on_event)

    def attach(self, netns: Path | str, ifname: str, link_dir: Path | str,
               mode: str | None = None) -> str:
        """Attaches both programs to an lxc veth in a node's namespace and returns the mode:
        ``tcx`` (links pinned in ``link_dir``; kernel 6.6+ with a bpftool that shows them)
        or ``clsact`` (tc filters named like Cilium's before 1.16, ``cil_from_container-lxc..``)."""
        netns, link_dir = Path(netns), Path(link_dir)
        mode = mode or ("tcx" if links.tcx_supported() else "clsact")
        # Each endpoint gets programs of its own, as on a Cilium node (distinct prog ids).
        with loader.loaded(self._bpf, self._programs) as fds:
            if mode == "tcx":
                link_dir.mkdir(parents=True, exist_ok=True)
                for name, hook in PROGRAMS.items():
                    links.attach_tcx(fds[name], netns, ifname, hook,
                                     link_dir / f"{ifname}_{name}")
                return mode
            # pyroute2 drives an asyncio loop of its own, which cannot run inside one that
            # already runs (a Jupyter kernel's): a thread in the node's namespace has none.
            in_netns(netns, lambda: self._attach_clsact(netns, ifname, fds))
        return mode

    def _attach_clsact(self, netns: Path, ifname: str, fds: dict[str, int]) -> None:
        from pyroute2 import IPRoute  # noqa: PLC0415 - slow import, only for this mode

        with IPRoute() as ns:
            found = ns.link_lookup(ifname=ifname)
            if not found:
                raise DatapathError(f"no interface {ifname} in {netns}")
            index = found[0]
            with contextlib.suppress(Exception):  # already there from an earlier attach
                ns.tc("add", "clsact", index)
            for name, hook in PROGRAMS.items():
                parent = "ffff:fff2" if hook == links.TCX_INGRESS else "ffff:fff3"
                ns.tc("replace-filter", "bpf", index, ":1", fd=fds[name],
                      name=f"{name}-{ifname}", parent=parent, classid=1, direct_action=True)

    # --- maps the lab keeps in step -------------------------------------------------------
    def set_endpoint(self, ip: str, *, ifindex: int, endpoint_id: int, node_id: int, mac: str,
                     node_mac: str, identity: int) -> None:
        """Adds or updates a pod in cilium_lxc."""
        table = self._bpf[b"cilium_lxc"]
        value = table.Leaf()
        value.ifindex, value.endpoint_id, value.node_id = ifindex, endpoint_id, node_id
        value.mac[:] = list(_mac(mac))
        value.node_mac[:] = list(_mac(node_mac))
        value.sec_identity = identity
        key = table.Key()
        key.ip4 = _be32(ip)
        table[key] = value

    def delete_endpoint(self, ip: str) -> None:
        table = self._bpf[b"cilium_lxc"]
        key = table.Key()
        key.ip4 = _be32(ip)
        table.pop(key, None)

    def set_ipcache(self, prefix: str, *, identity: int, tunnel_endpoint: str = "0.0.0.0",
                    node_id: int = 0) -> None:
        """Adds or updates an IP or CIDR in cilium_ipcache."""
        net = ipaddress.IPv4Network(prefix)
        table = self._bpf[b"cilium_ipcache"]
        key = table.Key()
        key.prefixlen, key.ip4 = net.prefixlen, _be32(str(net.network_address))
        value = table.Leaf()
        value.sec_identity, value.tunnel_endpoint = identity, _be32(tunnel_endpoint)
        value.node_id = node_id
        table[key] = value

    def delete_ipcache(self, prefix: str) -> None:
        net = ipaddress.IPv4Network(prefix)
        table = self._bpf[b"cilium_ipcache"]
        key = table.Key()
        key.prefixlen, key.ip4 = net.prefixlen, _be32(str(net.network_address))
        table.pop(key, None)

    # --- reading the maps back ----------------------------------------------------------
    def endpoints(self) -> list[dict]:
        """cilium_lxc as rows: ip, endpoint_id, node_id, ifindex, mac, node_mac, identity."""
        def mac(raw) -> str:
            return ":".join(f"{b:02X}" for b in raw)

        return sorted(({
            "ip": _ip(k.ip4), "endpoint_id": v.endpoint_id, "node_id": v.node_id,
            "ifindex": v.ifindex, "mac": mac(v.mac), "node_mac": mac(v.node_mac),
            "identity": v.sec_identity,
        } for k, v in self._bpf[b"cilium_lxc"].items()),
            key=lambda r: ipaddress.IPv4Address(r["ip"]))

    def ipcache(self) -> list[dict]:
        """cilium_ipcache as rows: prefix, identity, tunnel_endpoint, node_id."""
        rows = [{
            "prefix": f"{_ip(k.ip4)}/{k.prefixlen}", "identity": v.sec_identity,
            "tunnel_endpoint": _ip(v.tunnel_endpoint), "node_id": v.node_id,
        } for k, v in self._bpf[b"cilium_ipcache"].items()]
        return sorted(rows, key=lambda r: ipaddress.IPv4Network(r["prefix"]))

    def entry_counts(self) -> dict[str, int]:
        """How many entries each of the pinned maps holds."""
        return {name: len(list(self._bpf[name.encode()].keys())) for name in MAPS}

    # --- what the programs report ---------------------------------------------------------
    def _on_event(self, ctx, data, size) -> None:
        ev = ct.cast(data, ct.POINTER(_Flow)).contents
        self._flows.append({
            "time": pd.Timestamp(ev.time_ns / 1e9 + self._offset, unit="s", tz="UTC"),
            "kind": "arp-reply" if ev.kind == 1 else "flow",
            "direction": "from-container" if ev.dir == 0 else "to-container",
            "ifindex": ev.ifindex, "endpoint_id": ev.endpoint_id, "node_id": ev.node_id,
            "source_ip": _ip(ev.saddr), "source_port": socket.ntohs(ev.sport) or None,
            "source_identity": ev.src_identity,
            "destination_ip": _ip(ev.daddr), "destination_port": socket.ntohs(ev.dport) or None,
            "destination_identity": ev.dst_identity,
            "protocol": "ARP" if ev.kind == 1 else PROTOCOLS.get(ev.proto, str(ev.proto)),
            "tcp_flags": flag_names(ev.tcp_flags) if ev.proto == 6 else None,
            "icmp_type": ev.icmp_type if ev.proto == 1 else None,
            "length": ev.length,
        })

    def flows(self) -> pd.DataFrame:
        """The events reported since the last call, oldest first: one row per packet."""
        self._bpf.ring_buffer_consume()
        rows, self._flows = self._flows, []
        df = pd.DataFrame(rows, columns=FLOW_COLUMNS)
        for c in ("ifindex", "endpoint_id", "node_id", "source_port", "source_identity",
                  "destination_port", "destination_identity", "icmp_type", "length"):
            df[c] = df[c].astype("Int64")
        return df

    def metrics(self) -> pd.DataFrame:
        """cilium_metrics summed over CPUs: reason, direction, ifindex, packets, bytes."""
        rows = []
        for key, values in self._bpf[b"cilium_metrics"].items():
            rows.append({
                "reason": "arp-reply" if key.reason == 1 else "forwarded",
                "direction": "from-container" if key.dir == 0 else "to-container",
                "ifindex": key.ifindex,
                "packets": sum(v.packets for v in values),
                "bytes": sum(v.bytes for v in values),
            })
        return pd.DataFrame(rows, columns=["reason", "direction", "ifindex", "packets", "bytes"])

    def close(self) -> None:
        """Lets go of this process's handles; pinned maps and links stay."""
        self._bpf.cleanup()
