"""The local lab: the study's three-node cluster built from namespaces, driven by its own YAML.

``LocalLab`` is what ``labkit.connect()`` returns when no cluster is asked for. It keeps no
state of its own between calls: everything lives in /run/labkit (see state.py), so the CLI, a
notebook and a test can all drive the same lab.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import os
import platform
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from labkit.errors import (
    LabError,
    ManifestError,
    UnknownNodeError,
    UnknownPodError,
)
from labkit.local import (
    cgroups,
    datapath,
    flows,
    manifests,
    network,
    state,
    tables,
    teardown,
    workloads,
)
from labkit.local.agent import LocalAgent, NotOnThisLab
from labkit.local.manifests import DeploymentSpec, PodSpec, Reference, ServiceSpec
from labkit.local.netns import lab_namespaces, write_sysctls
from labkit.local.process import ExecResult, as_argv, ip_batch, require_root, run_in
from labkit.local.topology import (
    CGROUP_ROOT,
    MACHINES,
    NODES,
    SERVICE_CIDR,
    VPC_NETNS,
    WORKERS,
    Machine,
    lxc_name,
    machine,
    pod_cgroup,
    pod_netns,
)

DATAPATH_NOTE = ("local lab: labkit's namespaces and datapath modelled on Cilium's "
                 "(not Cilium itself)")
KUBERNETES_SERVICE = {
    "namespace": "default", "name": "kubernetes", "type": "ClusterIP", "cluster_ip": "10.96.0.1",
    "ports": [{"name": "https", "port": 443, "target_port": 6443, "protocol": "TCP"}],
    "selector": {}, "endpoints": ["192.168.10.10:6443"], "fingerprint": "",
}


@dataclass(frozen=True)
class LabMachine:
    """A node (or testpc) of the local lab; run() executes a command on it."""

    machine: Machine
    keeper: int | None

    @property
    def name(self) -> str:
        return self.machine.name

    @property
    def address(self) -> str:
        return self.machine.address

    @property
    def netns(self) -> str:
        return self.machine.netns

    def run(self, command: str | Sequence[str], *, timeout: float | None = 10.0,
            check: bool = False, shell: bool = False, input: str | None = None) -> ExecResult:
        """Run a command on this machine (its network and UTS namespaces, its cgroup)."""
        return run_in(CGROUP_ROOT / self.machine.cgroup / "cgroup.procs", self.keeper,
                      self.netns, as_argv(command, shell), where=f"node {self.name}",
                      timeout=timeout, check=check, input=input)


class LocalLab:
    """Three nodes, testpc and their pods in network namespaces on this machine."""

    kind = "local"

    def __init__(self) -> None:
        self._history: pd.DataFrame | None = None
        self._seen: dict = {}

    # ---- lifecycle -------------------------------------------------------------------
    def up(self, progress: bool = True) -> LocalLab:
        """Build the lab (idempotent: a healthy lab is left as it is)."""
        require_root()
        if self.is_up():
            return self
        if lab_namespaces() or self.residue():
            teardown.down()
        try:
            self._build(progress)
        except BaseException:
            teardown.down()
            raise
        return self

    def down(self) -> None:
        """Remove everything the lab made (also what a crashed run left behind)."""
        require_root()
        datapath.forget()
        teardown.down()

    def residue(self) -> list[str]:
        """What of the lab is still on the machine; empty after down()."""
        return teardown.residue()

    def is_up(self) -> bool:
        s = state.read()
        return bool(s["up"]) and all(
            workloads.alive(s["machines"].get(m.name), m.cgroup) for m in MACHINES
        ) and set(self._machine_namespaces()) <= set(lab_namespaces())

    def status(self) -> dict:
        """A summary: up or not, what runs, and that this is labkit's model of Cilium."""
        s = state.read()
        up = self.is_up()
        return {"lab": self.kind, "up": up, "note": DATAPATH_NOTE,
                "nodes": [m.name for m in NODES] if up else [],
                "pods": len(s["pods"]) if up else 0,
                "services": len(s["services"]) if up else 0,
                "residue": [] if up else self.residue()}

    def _machine_namespaces(self) -> list[str]:
        return [VPC_NETNS, *(m.netns for m in MACHINES), *(m.health_netns for m in NODES)]

    def _build(self, progress: bool) -> None:
        steps = tqdm(total=5, desc="labkit up", disable=not progress, leave=False)
        cgroups.mount()
        with state.locked() as s:
            s.update({"up": False, "created": time.time(), "machines": {}, "pods": {},
                      "services": {}, "deployments": {}})
            namespaces = self._machine_namespaces()
            ip_batch([f"netns add {name}" for name in namespaces])
            for name in namespaces:
                node = name in {m.netns for m in NODES}
                write_sysctls(name, network.NODE_SYSCTLS if node else network.BASE_SYSCTLS)
            steps.update()
            ip_batch(network.vpc_lines(), VPC_NETNS)
            for m in MACHINES:
                ip_batch(network.machine_lines(m), m.netns)
            steps.update()
            for m in NODES:
                ip_batch(network.health_lines(m), m.health_netns)
            steps.update()
            datapath.mount()
            datapath.handle(s["created"]).install()
            keepers = {m.name: workloads.start_keeper(m.netns, m.name, m.cgroup)
                       for m in MACHINES}
            s["machines"] = keepers
            workloads.wait_keepers(keepers)
            steps.update()
            svc = dict(KUBERNETES_SERVICE, created=time.time())
            s["services"] = {"default/kubernetes": svc}
            s["up"] = True
            steps.update()
        steps.close()

    # ---- objects from YAML -----------------------------------------------------------
    def apply(self, source: str | Path, *, wait: bool = True, timeout: float = 10.0) -> list[str]:
        """Create or update the objects in a YAML path or text; returns kubectl-like lines."""
        objects = manifests.load(source)
        self._require_up()
        done: list[str] = []
        with state.locked() as s:
            pods: list[PodSpec] = []
            for obj in objects:
                if isinstance(obj, PodSpec):
                    pods.append(obj)
                elif isinstance(obj, DeploymentSpec):
                    pods.extend(obj.pods)
            self._check_nodes(pods)
            for obj in objects:
                if isinstance(obj, PodSpec):
                    done.append(f"pod/{obj.name} " + self._apply_pod(s, obj))
                elif isinstance(obj, DeploymentSpec):
                    done.append(f"deployment.apps/{obj.name} " + self._apply_deployment(s, obj))
                else:
                    done.append(f"service/{obj.name} " + self._apply_service(s, obj))
            datapath.handle(s["created"]).sync_services(s)
        if wait:
            self.wait_ready(timeout=timeout)
        return done

    def delete(self, source: str | Path) -> list[str]:
        """Delete the objects named in YAML (path or text) or a 'kind/name' such as 'pod/netpod'."""
        self._require_up()
        ref = manifests.reference(source) if isinstance(source, str) else None
        objects = [ref] if ref else manifests.load(source)
        done = []
        with state.locked() as s:
            for obj in objects:
                kind = obj.kind if isinstance(obj, Reference) else {
                    PodSpec: "pod", ServiceSpec: "service", DeploymentSpec: "deployment"}[type(obj)]
                table = {"pod": "pods", "service": "services", "deployment": "deployments"}[kind]
                if obj.key not in s[table]:
                    if isinstance(obj, Reference):
                        raise ManifestError(f"{kind} {obj.key} does not exist in the lab")
                    continue
                if kind == "pod":
                    self._remove_pods(s, [obj.key])
                elif kind == "deployment":
                    self._remove_pods(s, s["deployments"].pop(obj.key)["pods"])
                else:
                    del s["services"][obj.key]
                done.append(f"{kind}/{obj.name} deleted")
            datapath.handle(s["created"]).sync_services(s)
        return done

    def wait_ready(self, timeout: float = 10.0) -> None:
        """Wait until every pod is ready (its server listening); idempotent."""
        deadline = time.monotonic() + timeout
        while True:
            s = state.read()
            waiting = [k for k, p in s["pods"].items() if not self._pod_ready(p)]
            if not waiting:
                return
            if time.monotonic() > deadline:
                raise LabError(f"pods not ready after {timeout} s: {', '.join(waiting)}; "
                               f"see their logs under {workloads.LOG_DIR}")
            time.sleep(0.01)

    def _require_up(self) -> None:
        require_root()
        if not self.is_up():
            raise LabError("the local lab is not up: run 'labkit up' (or lab.up()) first")

    def _check_nodes(self, pods: list[PodSpec]) -> None:
        names = [m.name for m in NODES]
        for p in pods:
            if p.node is not None and p.node not in names:
                raise UnknownNodeError(
                    f"pod {p.name} asks for nodeName {p.node!r}; the lab's nodes are "
                    f"{', '.join(names)}")

    def _apply_pod(self, s: dict, spec: PodSpec) -> str:
        old = s["pods"].get(spec.key)
        if old and old["fingerprint"] == spec.fingerprint() and self._pod_running(old):
            if old["labels"] == spec.labels:
                return "unchanged"
            old["labels"] = spec.labels
            return "configured"
        if old:
            self._remove_pods(s, [spec.key])
        self._create_pod(s, spec)
        return "configured" if old else "created"

    def _apply_deployment(self, s: dict, spec: DeploymentSpec) -> str:
        old = s["deployments"].get(spec.key)
        wanted = [p.key for p in spec.pods]
        results = [self._apply_pod(s, p) for p in spec.pods]
        surplus = [k for k in (old["pods"] if old else []) if k not in wanted]
        self._remove_pods(s, surplus)
        s["deployments"][spec.key] = {"pods": wanted,
                                      "created": old["created"] if old else time.time()}
        if not old:
            return "created"
        return "unchanged" if not surplus and set(results) == {"unchanged"} else "configured"

    def _apply_service(self, s: dict, spec: ServiceSpec) -> str:
        old = s["services"].get(spec.key)
        if old and old["fingerprint"] == spec.fingerprint():
            return "unchanged"
        used = {v["cluster_ip"] for v in s["services"].values()} - (
            {old["cluster_ip"]} if old else set())
        ip = spec.cluster_ip or (old["cluster_ip"] if old else None) or _allocate(spec.key, used)
        if ip in used or ipaddress.ip_address(ip) not in SERVICE_CIDR:
            raise ManifestError(f"service {spec.name}: clusterIP {ip} is taken or outside "
                                f"{SERVICE_CIDR}; leave clusterIP out to get a free one")
        s["services"][spec.key] = {
            "namespace": spec.namespace, "name": spec.name, "type": spec.type, "cluster_ip": ip,
            "ports": [{"name": p.name, "port": p.port, "target_port": p.target_port,
                       "protocol": p.protocol} for p in spec.ports],
            "selector": spec.selector, "fingerprint": spec.fingerprint(),
            "created": old["created"] if old else time.time(),
        }
        return "configured" if old else "created"

    def _create_pod(self, s: dict, spec: PodSpec) -> None:
        node = machine(spec.node) if spec.node else self._schedule(s)
        used = {p["ip"] for p in s["pods"].values() if p["node"] == node.name}
        cidr = ipaddress.ip_network(node.pod_cidr)
        ip = next(str(cidr[i]) for i in range(1, 253) if str(cidr[i]) not in used)
        netns = pod_netns(spec.namespace, spec.name)
        lxc = lxc_name(spec.namespace, spec.name)
        cgroup = pod_cgroup(spec.namespace, spec.name)
        record = {"namespace": spec.namespace, "name": spec.name, "labels": spec.labels,
                  "node": node.name, "ip": ip, "image": spec.image, "runtime": spec.runtime,
                  "port": spec.port, "containers": list(spec.containers), "netns": netns,
                  "lxc": lxc, "cgroup": cgroup, "keeper": None, "server": None,
                  "owner": spec.owner, "fingerprint": spec.fingerprint(), "created": time.time()}
        s["pods"][spec.key] = record  # recorded first, so a failure below is cleaned up
        cgroups.create(cgroup)
        ip_batch([f"netns add {netns}"])
        write_sysctls(netns, network.BASE_SYSCTLS)
        ip_batch(network.endpoint_node_lines(lxc, netns, ip), node.netns)
        ip_batch(network.endpoint_lines(lxc, netns, ip, node.router_ip), netns)
        datapath.handle(s["created"]).add_endpoint(
            node, lxc, netns, ip, datapath.pod_identity(spec.namespace, spec.labels))
        record["keeper"] = workloads.start_keeper(netns, spec.name, cgroup)
        workloads.wait_keepers({spec.name: record["keeper"]})
        if spec.runtime == "whoami":
            record["server"] = workloads.start_whoami(record["keeper"], netns, cgroup, spec.port,
                                                      f"{spec.namespace}_{spec.name}")

    def _schedule(self, s: dict) -> Machine:
        """Like the scheduler with the control plane tainted: the worker with fewest pods."""
        count = {m.name: 0 for m in WORKERS}
        for p in s["pods"].values():
            if p["node"] in count:
                count[p["node"]] += 1
        return min(WORKERS, key=lambda m: count[m.name])

    def _remove_pods(self, s: dict, keys: list[str]) -> None:
        for key in keys:
            p = s["pods"].get(key)
            if p is None:
                continue
            cgroups.kill_and_remove(CGROUP_ROOT / p["cgroup"])
            datapath.handle(s["created"]).remove_endpoint(p["lxc"], p["ip"])
            # deleting the lxc removes its peer and the endpoint route at once
            subprocess.run(["ip", "-n", machine(p["node"]).netns, "link", "delete", p["lxc"]],
                           capture_output=True, check=False)
            if p["netns"] in lab_namespaces():
                ip_batch([f"netns delete {p['netns']}"])
            del s["pods"][key]

    # ---- reading -----------------------------------------------------------------------
    def _pod_running(self, p: dict) -> bool:
        if not workloads.alive(p["keeper"], p["cgroup"]):
            return False
        return p["runtime"] != "whoami" or workloads.alive(p["server"], p["cgroup"])

    def _pod_ready(self, p: dict) -> bool:
        if not self._pod_running(p):
            return False
        return p["runtime"] != "whoami" or workloads.listening(p["keeper"], p["port"])

    def nodes(self) -> pd.DataFrame:
        """``kubectl get nodes -o wide``."""
        s = state.read()
        up = self.is_up()
        os_image = _os_image()
        rows = [{"name": m.name, "status": "Ready" if up else "NotReady", "roles": m.role,
                 "age": tables.age(time.time() - s.get("created", time.time())),
                 "version": "labkit-local", "internal_ip": m.address, "external_ip": "<none>",
                 "os_image": os_image, "kernel_version": platform.release(),
                 "container_runtime": "labkit://netns"} for m in NODES]
        return tables.frame(rows, tables.NODE_COLUMNS, False)

    def pods(self, namespace: str = "default", all_namespaces: bool = False) -> pd.DataFrame:
        """``kubectl get pods -o wide`` (``-A`` with all_namespaces=True)."""
        rows = []
        now = time.time()
        for p in state.read()["pods"].values():
            if not all_namespaces and p["namespace"] != namespace:
                continue
            running = self._pod_running(p)
            ready = len(p["containers"]) if self._pod_ready(p) else 0
            rows.append({"namespace": p["namespace"], "name": p["name"],
                         "ready": f"{ready}/{len(p['containers'])}",
                         "status": "Running" if running else "Error", "restarts": 0,
                         "age": tables.age(now - p["created"]), "ip": p["ip"], "node": p["node"],
                         "nominated_node": "<none>", "readiness_gates": "<none>"})
        return tables.frame(rows, tables.POD_COLUMNS, all_namespaces)

    def services(self, namespace: str = "default", all_namespaces: bool = False) -> pd.DataFrame:
        """``kubectl get svc -o wide``."""
        now = time.time()
        rows = [{"namespace": v["namespace"], "name": v["name"], "type": v["type"],
                 "cluster_ip": v["cluster_ip"], "external_ip": "<none>",
                 "ports": tables.ports_text(v["ports"]), "age": tables.age(now - v["created"]),
                 "selector": tables.selector_text(v["selector"])}
                for v in state.read()["services"].values()
                if all_namespaces or v["namespace"] == namespace]
        return tables.frame(rows, tables.SERVICE_COLUMNS, all_namespaces)

    def endpoints(self, namespace: str = "default", all_namespaces: bool = False) -> pd.DataFrame:
        """``kubectl get endpoints``: the ready pods behind each service."""
        s = state.read()
        now = time.time()
        ready = [p for p in s["pods"].values() if self._pod_ready(p)]  # once, not per service
        rows = [{"namespace": v["namespace"], "name": v["name"],
                 "endpoints": tables.endpoints_text(self._backends(ready, v)),
                 "age": tables.age(now - v["created"])}
                for v in s["services"].values()
                if all_namespaces or v["namespace"] == namespace]
        return tables.frame(rows, tables.ENDPOINT_COLUMNS, all_namespaces)

    @staticmethod
    def _backends(ready: list[dict], svc: dict) -> list[str]:
        if not svc["selector"]:
            return list(svc.get("endpoints", []))
        out = []
        for p in ready:
            if (p["namespace"] == svc["namespace"]
                    and svc["selector"].items() <= p["labels"].items()):
                for port in svc["ports"]:
                    target = port["target_port"]
                    out.append(f"{p['ip']}:{target if isinstance(target, int) else p['port']}")
        return out

    # ---- running commands --------------------------------------------------------------
    def exec(self, pod: str, command: str | Sequence[str], *, timeout: float | None = 10.0,
             check: bool = False, shell: bool = False, input: str | None = None,
             namespace: str = "default") -> ExecResult:
        """``kubectl exec``: run a command in a pod; a failing command is a result, not an
        exception, unless check=True."""
        require_root()
        p = self._pod(pod, namespace)
        if not workloads.alive(p["keeper"], p["cgroup"]):
            raise LabError(f"pod {p['name']} is not running (its processes are gone); "
                           "apply its YAML again to recreate it")
        return run_in(CGROUP_ROOT / p["cgroup"] / "cgroup.procs", p["keeper"], p["netns"],
                      as_argv(command, shell), where=f"pod {p['name']}", timeout=timeout,
                      check=check, input=input)

    def node(self, name: str) -> LabMachine:
        """A lab machine by name: k8s-s, k8s-w1, k8s-w2 or testpc."""
        m = machine(name)
        if m is None:
            raise UnknownNodeError(f"no node {name!r} in the local lab; its machines are "
                                   f"{', '.join(x.name for x in MACHINES)}")
        self._require_up()
        return LabMachine(m, state.read()["machines"].get(m.name))

    # ---- what the datapath saw -----------------------------------------------------------
    def observe(self, pod: str | None = None, *, since: str | pd.Timestamp | None = None,
                limit: int | None = None, namespace: str = "default") -> pd.DataFrame:
        """Flows, like ``hubble observe [--pod P] [--since 5m] [--last N]``: one row per
        packet to or from a pod, as the lxc programs saw it, oldest first."""
        self._require_up()
        s = state.read()
        new = flows.to_flows(datapath.handle(s["created"]).flows(), s, self._seen)
        if len(new):
            self._history = new if self._history is None else pd.concat(
                [self._history, new], ignore_index=True)
        df = self._history if self._history is not None else flows.to_flows(
            pd.DataFrame(), s, {})
        if pod is not None:
            self._pod(pod, namespace)
            mine = ((df.source_pod == pod) & (df.source_namespace == namespace)) | (
                (df.destination_pod == pod) & (df.destination_namespace == namespace))
            df = df[mine.fillna(False)]
        if since is not None:
            start = since if isinstance(since, pd.Timestamp) else (
                pd.Timestamp.now(tz="UTC") - pd.Timedelta(since))
            df = df[df.time >= start]
        if limit is not None:
            df = df.tail(limit)
        return df.reset_index(drop=True)

    def follow(self, pod: str | None = None, *, interval: float = 0.5,
               namespace: str = "default") -> Iterator[pd.DataFrame]:
        """New flows as they come (``hubble observe --follow``), a DataFrame per interval."""
        seen = len(self.observe(pod, namespace=namespace))
        while True:
            time.sleep(interval)
            df = self.observe(pod, namespace=namespace)
            if len(df) > seen:
                yield df.iloc[seen:].reset_index(drop=True)
            seen = len(df)

    def translations(self) -> pd.DataFrame:
        """Socket-LB tracing: each connect()/sendmsg() the programs translated (service
        address -> backend) and each getpeername()/recvmsg() they translated back."""
        self._require_up()
        s = state.read()
        df = datapath.handle(s["created"]).translations()
        # bpf_get_current_cgroup_id() is the inode of the caller's cgroup directory.
        owners = {}
        for p in s["pods"].values():
            with contextlib.suppress(OSError):
                owners[os.stat(CGROUP_ROOT / p["cgroup"]).st_ino] = p["name"]
        df.insert(df.columns.get_loc("pid"), "pod", df.cgroup_id.map(owners))
        return df

    def kube_proxy(self, mode: str | None = None) -> str:
        """The service datapath: "none" (Cilium-style socket LB, the default) or "iptables"
        (kube-proxy's KUBE-SERVICES/KUBE-SVC/KUBE-SEP chains, socket LB detached). Given a
        mode, switches to it; returns the mode in force."""
        self._require_up()
        with state.locked() as s:
            if mode is not None and mode != s.get("kube_proxy", "none"):
                datapath.handle(s["created"]).set_kube_proxy(s, mode)
            return s.get("kube_proxy", "none")

    def helm_values(self, release: str = "cilium", all: bool = False) -> pd.DataFrame:
        """Helm has nothing to show on the local lab: no chart installed its datapath."""
        raise NotOnThisLab(
            "the local lab is not installed with Helm, so it has no Helm values; "
            "labkit.values.seed_values() shows the seed's values and what each does, and "
            "lab.agent('k8s-s').config() the settings this lab's datapath runs with")

    def iptables_install_seconds(self) -> float | None:
        """How long the last iptables-restore of kube-proxy's rules took (all nodes)."""
        return state.read().get("datapath", {}).get("iptables_seconds")

    def agent(self, node: str) -> LocalAgent:
        """The agent's view of a node (`kubectl exec <cilium pod> -- cilium ...`)."""
        self._require_up()
        found = machine(node)
        if found is None or not found.is_node:
            raise UnknownNodeError(f"no node {node!r}; the lab's nodes are "
                                   f"{', '.join(m.name for m in NODES)}")
        return LocalAgent(self, found)

    def pod_ip(self, pod: str, namespace: str = "default") -> str:
        return self._pod(pod, namespace)["ip"]

    def _pod(self, pod: str, namespace: str) -> dict:
        if "/" in pod:
            namespace, pod = pod.split("/", 1)
        pods = state.read()["pods"]
        found = pods.get(f"{namespace}/{pod}")
        if found is None:
            known = ", ".join(sorted(k.removeprefix("default/") for k in pods)) or "none yet"
            raise UnknownPodError(f"no pod {pod!r} in namespace {namespace}; the lab's pods: "
                                  f"{known} (lab.apply(...) creates pods)")
        return found

    def __repr__(self) -> str:
        return f"<LocalLab {'up' if self.is_up() else 'down'}: {DATAPATH_NOTE}>"


def _allocate(key: str, used: set[str]) -> str:
    """A ClusterIP derived from the service's name (stable across runs), probing past clashes."""
    size = SERVICE_CIDR.num_addresses
    start = int(hashlib.sha256(key.encode()).hexdigest(), 16) % (size - 12)
    for i in range(size - 12):
        ip = str(SERVICE_CIDR[(start + i) % (size - 12) + 10])
        if ip not in used:
            return ip
    raise ManifestError(f"no free ClusterIP left in {SERVICE_CIDR}")


def _os_image() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.system()
