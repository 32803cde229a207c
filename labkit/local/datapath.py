"""The local lab's eBPF datapath (labkit/ebpf), kept in step with what the lab runs.

At `up` it mounts the lab's bpffs, attaches socket load balancing to the lab's cgroup
(``labkit/``, never a root cgroup) and the per-endpoint programs to every lxc veth, and
fills the endpoint map and the ipcache. After every apply/delete it rewrites the service
maps from the services and their ready pods, as Cilium's agent does from Kubernetes.
All attachments are pinned links under the bpffs, so they outlive the process that made
them; `labkit down` unpins them and they are gone.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import subprocess

import pandas as pd

from labkit.ebpf.lxc import EndpointPrograms
from labkit.ebpf.sock_lb import HOOKS as SOCKET_HOOKS
from labkit.ebpf.sock_lb import Backend, SocketLB
from labkit.errors import LabError
from labkit.local import kube_proxy
from labkit.local.topology import BPF_PIN_DIR, CGROUP_ROOT, NETNS_DIR, NODES, Machine

MAPS_DIR = BPF_PIN_DIR / "tc" / "globals"
LINKS_DIR = BPF_PIN_DIR / "labkit" / "links"

# Cilium's reserved identities, and where pod identities start.
HOST, WORLD, HEALTH, REMOTE_NODE = 1, 2, 4, 6
FIRST_POD_IDENTITY = 10000
RESERVED = {HOST: "reserved:host", WORLD: "reserved:world", HEALTH: "reserved:health",
            REMOTE_NODE: "reserved:remote-node"}


def mounted() -> bool:
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == str(BPF_PIN_DIR) for line in f)


def mount() -> None:
    """The lab's own bpffs (as Cilium has /sys/fs/bpf), for its pinned maps and links."""
    if not mounted():
        BPF_PIN_DIR.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["mount", "-t", "bpf", "labkit-bpffs", str(BPF_PIN_DIR)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise LabError(f"cannot mount a bpffs at {BPF_PIN_DIR}: {done.stderr.strip()}; "
                           "the local lab needs a kernel with BPF (see `labkit doctor`)")
    MAPS_DIR.mkdir(parents=True, exist_ok=True)
    LINKS_DIR.mkdir(parents=True, exist_ok=True)


def unmount() -> None:
    if mounted():
        subprocess.run(["umount", str(BPF_PIN_DIR)], capture_output=True, check=False)


def pod_identity(namespace: str, labels: dict) -> int:
    """Pods with the same labels share an identity, as in Cilium (stable across runs)."""
    text = json.dumps([namespace, sorted(labels.items())])
    return FIRST_POD_IDENTITY + int(hashlib.sha256(text.encode()).hexdigest(), 16) % 50000


def endpoint_id(ip: str) -> int:
    """A small number unique in the lab: the last two bytes of the endpoint's address."""
    packed = ipaddress.IPv4Address(ip).packed
    return packed[2] << 8 | packed[3]


def node_id(node: str) -> int:
    return 1 + [m.name for m in NODES].index(node)


def _links(netns: str) -> dict[str, dict]:
    out = subprocess.run(["ip", "-n", netns, "-j", "link", "show"], capture_output=True,
                         text=True, check=True).stdout
    return {link["ifname"]: link for link in json.loads(out)}


class Datapath:
    """This process's handles on the lab's programs and maps (compiled once per lab)."""

    def __init__(self, generation: float) -> None:
        self.generation = generation
        self.endpoints = EndpointPrograms(MAPS_DIR)
        self.lb = SocketLB(MAPS_DIR)

    def close(self) -> None:
        self.endpoints.close()
        self.lb.close()

    # --- bring-up -----------------------------------------------------------------------
    def install(self) -> None:
        """Socket LB on the lab's cgroup, the world and node entries of the ipcache."""
        self.lb.attach(CGROUP_ROOT, LINKS_DIR)
        self.endpoints.set_ipcache("0.0.0.0/0", identity=WORLD)
        for m in NODES:
            for ip in (m.address, m.router_ip):
                self.endpoints.set_ipcache(f"{ip}/32", identity=REMOTE_NODE,
                                           tunnel_endpoint=m.address, node_id=node_id(m.name))
            self.add_endpoint(m, "lxc_health", m.health_netns, m.health_ip, HEALTH)

    def add_endpoint(self, node: Machine, lxc: str, netns: str, ip: str, identity: int) -> None:
        """Attaches the endpoint programs to a pod's lxc and records it in the maps."""
        host_side = _links(node.netns)[lxc]
        pod_side = _links(netns)["eth0"]
        self.endpoints.attach(NETNS_DIR / node.netns, lxc, LINKS_DIR)
        self.endpoints.set_endpoint(ip, ifindex=host_side["ifindex"], endpoint_id=endpoint_id(ip),
                                    node_id=node_id(node.name), mac=pod_side["address"],
                                    node_mac=host_side["address"], identity=identity)
        self.endpoints.set_ipcache(f"{ip}/32", identity=identity, tunnel_endpoint=node.address,
                                   node_id=node_id(node.name))

    def remove_endpoint(self, lxc: str, ip: str) -> None:
        self.endpoints.delete_endpoint(ip)
        self.endpoints.delete_ipcache(f"{ip}/32")
        for pinned in LINKS_DIR.glob(f"{lxc}_*"):
            pinned.unlink(missing_ok=True)

    # --- services -----------------------------------------------------------------------
    def sync_services(self, s: dict) -> None:
        """Rewrites the service maps from the lab's services and their running pods."""
        book = s.setdefault("datapath", {"revnat": {}, "backends": {}, "frontends": {}})
        wanted: dict[str, dict] = {}
        for key, svc in s["services"].items():
            selected = [p for p in s["pods"].values()
                        if svc["selector"] and p["namespace"] == svc["namespace"]
                        and all(p["labels"].get(k) == v for k, v in svc["selector"].items())]
            for port in svc["ports"]:
                proto = port.get("protocol", "TCP").upper()
                frontend = f"{svc['cluster_ip']}:{port['port']}/{proto}"
                target = port.get("target_port") or port["port"]
                revnat = book["revnat"].setdefault(f"{key}:{port['port']}/{proto}",
                                                   len(book["revnat"]) + 1)
                backends = []
                for p in sorted(selected, key=lambda p: p["ip"]):
                    ident = f"{p['ip']}:{target}/{proto}"
                    backend_id = book["backends"].setdefault(ident, len(book["backends"]) + 1)
                    backends.append([backend_id, p["ip"], int(target)])
                wanted[frontend] = {"revnat": revnat, "backends": backends, "service": key,
                                    "ip": svc["cluster_ip"], "port": port["port"],
                                    "protocol": proto}
        for frontend, old in book["frontends"].items():
            if frontend not in wanted:
                self.lb.delete_service(old["ip"], old["port"], protocol=old["protocol"])
        for frontend, entry in wanted.items():
            if book["frontends"].get(frontend) != entry:
                self.lb.set_service(entry["ip"], entry["port"],
                                    [Backend(*b) for b in entry["backends"]],
                                    protocol=entry["protocol"], rev_nat_index=entry["revnat"])
        book["frontends"] = wanted
        if s.get("kube_proxy", "none") == "iptables":
            book["iptables_seconds"] = kube_proxy.install(list(wanted.values()))

    def set_kube_proxy(self, s: dict, mode: str) -> None:
        """Switches between socket LB ("none": no kube-proxy, as the seed installs Cilium)
        and kube-proxy's iptables rules, with socket LB detached."""
        if mode not in kube_proxy.MODES:
            raise LabError(f"kube-proxy mode {mode!r}: choose one of {', '.join(kube_proxy.MODES)}")
        s["kube_proxy"] = mode
        if mode == "iptables":
            for name in SOCKET_HOOKS:
                (LINKS_DIR / name).unlink(missing_ok=True)
            self.sync_services(s)
        else:
            kube_proxy.remove()
            if not all((LINKS_DIR / name).exists() for name in SOCKET_HOOKS):
                self.lb.attach(CGROUP_ROOT, LINKS_DIR)

    # --- what the programs saw ----------------------------------------------------------
    def flows(self) -> pd.DataFrame:
        return self.endpoints.flows()

    def translations(self) -> pd.DataFrame:
        return self.lb.translations()


_current: Datapath | None = None


def handle(generation: float) -> Datapath:
    """The datapath of the lab made at ``generation`` (its creation time), compiled once per
    process and lab: a lab brought down and up again gets fresh handles."""
    global _current
    if _current is None or _current.generation != generation:
        if _current is not None:
            _current.close()
        _current = Datapath(generation)
    return _current


def forget() -> None:
    """Drops this process's handles (after `down`)."""
    global _current
    if _current is not None:
        _current.close()
        _current = None

