"""The study's cluster as data: machines, addresses, pod CIDRs and the names the lab gives them.

Everything the lab creates on the host is named from here, with the ``lk-`` prefix, so that
teardown and the residue check can find all of it without any recorded state.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from pathlib import Path

PREFIX = "lk-"
RUN_DIR = Path("/run/labkit")
CGROUP_MOUNT = RUN_DIR / "cgroupv2"
CGROUP_ROOT = CGROUP_MOUNT / "labkit"
NETNS_DIR = Path("/run/netns")
BPF_PIN_DIR = RUN_DIR / "bpffs"  # the lab's own bpffs mount, as Cilium has /sys/fs/bpf

VPC_NETNS = f"{PREFIX}vpc"
VPC_BRIDGE = "vpc"
VPC_SUBNET = ipaddress.ip_network("192.168.10.0/24")
UPLINK = "ens5"
SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/16")
ROUTER_HOST = 254  # cilium_host gets .254 of its node's pod CIDR (the seed: 172.16.1.254)
HEALTH_HOST = 253  # lxc_health's endpoint address
MTU = 1500


@dataclass(frozen=True)
class Machine:
    """A lab machine: a Kubernetes node (with a pod CIDR) or a plain host such as testpc."""

    name: str
    address: str
    pod_cidr: str | None = None
    role: str = "<none>"

    @property
    def netns(self) -> str:
        return f"{PREFIX}{self.name}"

    @property
    def is_node(self) -> bool:
        return self.pod_cidr is not None

    @property
    def router_ip(self) -> str:
        return str(ipaddress.ip_network(self.pod_cidr)[ROUTER_HOST])

    @property
    def health_ip(self) -> str:
        return str(ipaddress.ip_network(self.pod_cidr)[HEALTH_HOST])

    @property
    def health_netns(self) -> str:
        return f"{PREFIX}health-{self.name}"

    @property
    def cgroup(self) -> str:
        """Cgroup name under the lab root; '_' cannot occur in a pod name, so no clash."""
        return f"node_{self.name}"


MACHINES: tuple[Machine, ...] = (
    Machine("k8s-s", "192.168.10.10", "172.16.0.0/24", "control-plane"),
    Machine("k8s-w1", "192.168.10.101", "172.16.1.0/24"),
    Machine("k8s-w2", "192.168.10.102", "172.16.2.0/24"),
    Machine("testpc", "192.168.10.200"),
)
NODES: tuple[Machine, ...] = tuple(m for m in MACHINES if m.is_node)
WORKERS: tuple[Machine, ...] = tuple(m for m in NODES if m.role != "control-plane")


def machine(name: str) -> Machine | None:
    return next((m for m in MACHINES if m.name == name), None)


def pod_netns(namespace: str, name: str) -> str:
    return f"{PREFIX}pod-{name}" if namespace == "default" else f"{PREFIX}pod-{namespace}.{name}"


def pod_cgroup(namespace: str, name: str) -> str:
    return name if namespace == "default" else f"{namespace}_{name}"


def lxc_name(namespace: str, name: str) -> str:
    """Host-side veth name, 'lxc' + 11 hex digits like Cilium's (15 characters at most)."""
    return "lxc" + hashlib.sha256(f"{namespace}/{name}".encode()).hexdigest()[:11]
