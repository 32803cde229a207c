"""Loads sock_lb.c: Cilium-style socket load balancing for the processes of one cgroup.

The programs attach to the lab's own cgroup (never the root cgroup), so only lab
processes see services translated. Service maps are pinned under the lab's bpffs
directory, where `bpftool map list` shows them as a learner sees them on a Cilium node.
"""

from __future__ import annotations

import ctypes as ct
import ipaddress
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from labkit.ebpf import links, loader
from labkit.ebpf.loader import DatapathError

SOURCE = "sock_lb.c"

# (program, cgroup attach type) as the kernel numbers them (enum bpf_attach_type).
HOOKS = {
    "cil_sock4_connect": 10,      # BPF_CGROUP_INET4_CONNECT
    "cil_sock4_sendmsg": 14,      # BPF_CGROUP_UDP4_SENDMSG
    "cil_sock4_recvmsg": 19,      # BPF_CGROUP_UDP4_RECVMSG
    "cil_sock4_getpeername": 29,  # BPF_CGROUP_INET4_GETPEERNAME
}
HOOK_NAMES = ["connect", "sendmsg", "recvmsg", "getpeername"]
MAPS = ("cilium_lb4_services_v2", "cilium_lb4_backends_v3", "cilium_lb4_reverse_nat",
        "cilium_lb4_reverse_sk")
PROTOCOLS = {"TCP": socket.IPPROTO_TCP, "UDP": socket.IPPROTO_UDP, "ANY": 0}


class _Event(ct.Structure):
    """struct sock_lb_event of sock_lb.c."""

    _fields_ = [
        ("time_ns", ct.c_uint64), ("cookie", ct.c_uint64), ("cgroup_id", ct.c_uint64),
        ("orig_address", ct.c_uint32), ("backend_address", ct.c_uint32),
        ("orig_port", ct.c_uint16), ("backend_port", ct.c_uint16),
        ("backend_id", ct.c_uint32), ("pid", ct.c_uint32), ("hook", ct.c_uint8),
        ("proto", ct.c_uint8), ("pad", ct.c_uint8 * 2), ("comm", ct.c_char * 16),
    ]


@dataclass(frozen=True)
class Backend:
    """A backend of a service: its id in cilium_lb4_backends_v3, address and port."""

    id: int
    ip: str
    port: int


def _be32(ip: str) -> int:
    """An IPv4 address as the kernel stores it (network order), read as a host integer."""
    return int.from_bytes(ipaddress.IPv4Address(ip).packed, "little")


def _be16(port: int) -> int:
    return socket.htons(port)


def _ip(value: int) -> str:
    return str(ipaddress.IPv4Address(int(value).to_bytes(4, "little")))


class SocketLB:
    """The socket-LB programs and maps of one lab, attached to one cgroup.

    ``pin_dir`` must be a directory on a bpffs mount; the maps are pinned there and reused
    when the programs are loaded again (as Cilium reuses its pinned maps on restart).
    """

    def __init__(self, pin_dir: Path | str) -> None:
        from bcc import BPF  # noqa: PLC0415 - system module, imported where it is needed

        self.pin_dir = Path(pin_dir)
        self._bpf = loader.compile_pinned(SOURCE, self.pin_dir)
        self._programs = {name: (BPF.CGROUP_SOCK_ADDR, hook) for name, hook in HOOKS.items()}
        self._events: list[dict] = []
        self._bpf[b"labkit_sock_events"].open_ring_buffer(self._on_event)

    # --- attachment ---------------------------------------------------------------------
    def attach(self, cgroup: Path | str, link_dir: Path | str) -> None:
        """Attaches the four programs to a cgroup (a lab cgroup, never a root one) through
        links pinned in ``link_dir``, so they stay attached after this process exits."""
        cgroup, link_dir = Path(cgroup), Path(link_dir)
        if os.stat(cgroup).st_ino == 1:  # the root of a cgroup2 hierarchy, on any mount
            raise DatapathError(f"refusing to attach to the root cgroup {cgroup}: "
                                "give the lab's own cgroup")
        link_dir.mkdir(parents=True, exist_ok=True)
        with loader.loaded(self._bpf, self._programs) as fds:
            for name, hook in HOOKS.items():
                links.attach_cgroup(fds[name], cgroup, hook, link_dir / name)

    def close(self) -> None:
        """Lets go of this process's handles; pinned maps and links stay."""
        self._bpf.cleanup()

    # --- services -----------------------------------------------------------------------
    def set_service(self, ip: str, port: int, backends: list[Backend], *,
                    protocol: str = "TCP", rev_nat_index: int) -> None:
        """Writes a service and its backends (slot 0 = the service, slots 1..n = backends)."""
        services = self._bpf[b"cilium_lb4_services_v2"]
        backend_map = self._bpf[b"cilium_lb4_backends_v3"]
        proto = PROTOCOLS[protocol.upper()]
        for b in backends:
            value = backend_map.Leaf()
            value.address, value.port, value.proto = _be32(b.ip), _be16(b.port), proto
            backend_map[backend_map.Key(b.id)] = value
        old = self._service_count(ip, port, proto)
        for slot, b in enumerate(backends, start=1):
            leaf = services.Leaf()
            leaf.backend_id, leaf.rev_nat_index = b.id, rev_nat_index
            services[self._key(ip, port, proto, slot)] = leaf
        for slot in range(len(backends) + 1, old + 1):
            services.pop(self._key(ip, port, proto, slot), None)
        master = services.Leaf()
        master.count, master.rev_nat_index = len(backends), rev_nat_index
        services[self._key(ip, port, proto, 0)] = master
        revnat = self._bpf[b"cilium_lb4_reverse_nat"]
        entry = revnat.Leaf()
        entry.address, entry.port = _be32(ip), _be16(port)
        revnat[revnat.Key(rev_nat_index)] = entry

    def delete_service(self, ip: str, port: int, *, protocol: str = "TCP") -> None:
        """Removes a service and its slots (backends shared with others stay)."""
        services = self._bpf[b"cilium_lb4_services_v2"]
        proto = PROTOCOLS[protocol.upper()]
        for slot in range(self._service_count(ip, port, proto) + 1):
            services.pop(self._key(ip, port, proto, slot), None)

    def _key(self, ip: str, port: int, proto: int, slot: int):
        key = self._bpf[b"cilium_lb4_services_v2"].Key()
        key.address, key.dport, key.backend_slot, key.proto = _be32(ip), _be16(port), slot, proto
        return key

    def _service_count(self, ip: str, port: int, proto: int) -> int:
        leaf = self._bpf[b"cilium_lb4_services_v2"].get(self._key(ip, port, proto, 0))
        return leaf.count if leaf is not None else 0

    # --- reading the maps back ----------------------------------------------------------
    def services(self) -> list[dict]:
        """cilium_lb4_services_v2 as rows: ip, port, protocol, slot, backend_id, count,
        rev_nat_index."""
        protocols = {v: k for k, v in PROTOCOLS.items()}
        return sorted(({
            "ip": _ip(k.address), "port": socket.ntohs(k.dport), "slot": k.backend_slot,
            "protocol": protocols.get(k.proto, str(k.proto)), "backend_id": v.backend_id,
            "count": v.count, "rev_nat_index": v.rev_nat_index,
        } for k, v in self._bpf[b"cilium_lb4_services_v2"].items()),
            key=lambda r: (r["rev_nat_index"], r["slot"]))

    def backends(self) -> dict[int, dict]:
        """cilium_lb4_backends_v3: backend id -> ip, port, protocol."""
        protocols = {v: k for k, v in PROTOCOLS.items()}
        return {k.value: {"ip": _ip(v.address), "port": socket.ntohs(v.port),
                          "protocol": protocols.get(v.proto, str(v.proto))}
                for k, v in self._bpf[b"cilium_lb4_backends_v3"].items()}

    def reverse_nat(self) -> dict[int, tuple[str, int]]:
        """cilium_lb4_reverse_nat: rev-NAT index -> service ip, port."""
        return {k.value: (_ip(v.address), socket.ntohs(v.port))
                for k, v in self._bpf[b"cilium_lb4_reverse_nat"].items()}

    def entry_counts(self) -> dict[str, int]:
        """How many entries each of the pinned maps holds."""
        return {name: len(list(self._bpf[name.encode()].keys())) for name in MAPS}

    # --- tracing ------------------------------------------------------------------------
    def _on_event(self, ctx, data, size) -> None:
        ev = ct.cast(data, ct.POINTER(_Event)).contents
        self._events.append({
            "time": pd.Timestamp(time.time(), unit="s", tz="UTC"),
            "hook": HOOK_NAMES[ev.hook] if ev.hook < len(HOOK_NAMES) else str(ev.hook),
            "protocol": {6: "TCP", 17: "UDP"}.get(ev.proto, str(ev.proto)),
            "original_ip": _ip(ev.orig_address),
            "original_port": socket.ntohs(ev.orig_port),
            "backend_ip": _ip(ev.backend_address),
            "backend_port": socket.ntohs(ev.backend_port),
            "backend_id": ev.backend_id or None,
            "pid": ev.pid,
            "comm": ev.comm.decode(errors="replace"),
            "cgroup_id": ev.cgroup_id,
            "socket_cookie": ev.cookie,
        })

    def translations(self) -> pd.DataFrame:
        """Every translation reported since the last call: one row per system call."""
        self._bpf.ring_buffer_consume()
        rows, self._events = self._events, []
        columns = ["time", "hook", "protocol", "original_ip", "original_port", "backend_ip",
                   "backend_port", "backend_id", "pid", "comm", "cgroup_id", "socket_cookie"]
        df = pd.DataFrame(rows, columns=columns)
        for c in ("original_port", "backend_port", "backend_id", "pid"):
            df[c] = df[c].astype("Int64")
        return df
