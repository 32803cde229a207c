"""The cluster lab: a real Kubernetes cluster with Cilium, with the local lab's API.

``ClusterLab`` is what ``labkit.connect("cluster")`` returns. Tables have the local lab's
columns; ``exec`` goes through the exec API with a deadline; ``agent(node)`` and ``node(name)``
run in the Cilium agent pod of that node; ``observe`` reads Hubble inside the agents.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from labkit.cluster import agent as agents
from labkit.cluster import channels, helm, hubble, manifests
from labkit.cluster import tables as rows
from labkit.cluster.kube import Kube, TransportFactory, load_client
from labkit.errors import LabError, ManifestError, UnknownPodError
from labkit.local import tables
from labkit.local.process import ExecResult, as_argv

DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"


@dataclass(frozen=True)
class ClusterNode:
    """A node of the cluster; run() executes in its Cilium agent pod (the node's netns)."""

    name: str
    agent: agents.ClusterAgent

    def run(self, command: str | Sequence[str], *, timeout: float | None = 10.0,
            check: bool = False, shell: bool = False, input: str | None = None) -> ExecResult:
        return self.agent._exec(self.agent.pod, self.agent.namespace, agents.AGENT_CONTAINER,
                                as_argv(command, shell), where=f"node {self.name} (via "
                                f"{self.agent.namespace}/{self.agent.pod})", timeout=timeout,
                                check=check, input=input)


class ClusterLab:
    """A Kubernetes cluster with Cilium, reached through the kubeconfig."""

    kind = "cluster"

    def __init__(self, context: str | None = None, kubeconfig: str | None = None, *,
                 kube: Kube | None = None, transport: TransportFactory | None = None) -> None:
        self.kube = kube or Kube(load_client(context, kubeconfig), transport)
        self._agents: dict[str, agents.ClusterAgent] = {}

    # ---- tables ------------------------------------------------------------------------
    def _scope(self, path: str, namespace: str, all_namespaces: bool) -> str:
        return f"/api/v1/{path}" if all_namespaces else f"/api/v1/namespaces/{namespace}/{path}"

    def nodes(self) -> pd.DataFrame:
        """``kubectl get nodes -o wide``."""
        found = [rows.node_row(n) for n in self.kube.items("/api/v1/nodes")]
        return tables.frame(found, tables.NODE_COLUMNS, False)

    def pods(self, namespace: str = "default", all_namespaces: bool = False) -> pd.DataFrame:
        """``kubectl get pods -o wide`` (``-A`` with all_namespaces=True)."""
        found = [rows.pod_row(p) for p in
                 self.kube.items(self._scope("pods", namespace, all_namespaces))]
        return tables.frame(found, tables.POD_COLUMNS, all_namespaces)

    def services(self, namespace: str = "default", all_namespaces: bool = False) -> pd.DataFrame:
        """``kubectl get svc -o wide``."""
        found = [rows.service_row(s) for s in
                 self.kube.items(self._scope("services", namespace, all_namespaces))]
        return tables.frame(found, tables.SERVICE_COLUMNS, all_namespaces)

    def endpoints(self, namespace: str = "default", all_namespaces: bool = False) -> pd.DataFrame:
        """``kubectl get endpoints``, from the EndpointSlices: ready addresses per service."""
        path = ("/apis/discovery.k8s.io/v1/endpointslices" if all_namespaces else
                f"/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices")
        found = rows.endpoint_rows(self.kube.items(path))
        return tables.frame(found, tables.ENDPOINT_COLUMNS, all_namespaces)

    def helm_values(self, release: str = "cilium", all: bool = False) -> pd.DataFrame:
        """The Helm values in force for a release (``helm get values [--all]``), read from
        Helm's own release Secret: key, value, source ('set' or 'chart default')."""
        return helm.values_table(helm.latest_release(self.kube, release), all=all)

    # ---- objects -----------------------------------------------------------------------
    def apply(self, source: str | Path, *, wait: bool = True, timeout: float = 180.0,
              progress: bool = True) -> list[str]:
        """Create or update the objects of a YAML path or text (server-side apply); a pod whose
        spec changed is recreated (pods are immutable). Returns kubectl-like lines."""
        objects = manifests.load(source)
        if any(manifests.pod_specs(o) for o in objects):
            manifests.map_node_names(objects, self.kube.items("/api/v1/nodes"))
        done = [f"{manifests.label(o)} {self._apply_one(o)}" for o in objects]
        if wait:
            spaces = {o["metadata"]["namespace"] for o in objects if manifests.pod_specs(o)}
            for namespace in sorted(spaces):
                self.wait_ready(timeout=timeout, namespace=namespace, progress=progress)
        return done

    def _apply_one(self, obj: dict) -> str:
        from kubernetes.dynamic.exceptions import DynamicApiError  # noqa: PLC0415

        try:
            return "created" if self.kube.apply(obj) == 201 else "configured"
        except DynamicApiError as e:
            if e.status == 422 and obj["kind"] == "Pod":  # a pod's spec cannot change
                self.kube.delete(obj, grace_seconds=0)
                self._wait_gone(obj)
                self.kube.apply(obj)
                return "recreated"
            raise ManifestError(f"{manifests.label(obj)} was refused: "
                                f"{_message(e)}") from None

    def _wait_gone(self, obj: dict, timeout: float = 60.0) -> None:
        meta = obj["metadata"]
        path = f"/api/v1/namespaces/{meta['namespace']}/pods"
        deadline = time.monotonic() + timeout
        while any(p["metadata"]["name"] == meta["name"] for p in self.kube.items(
                path, field_selector=f"metadata.name={meta['name']}")):
            if time.monotonic() > deadline:
                raise LabError(f"pod {meta['name']} was not gone after {timeout} s; "
                               "delete it by hand and apply again")
            time.sleep(1)

    def delete(self, source: str | Path, namespace: str = "default") -> list[str]:
        """Delete the objects of YAML (path or text) or a 'kind/name' such as 'pod/netpod'."""
        ref = manifests.reference(source, namespace) if isinstance(source, str) else None
        objects = [ref] if ref else manifests.load(source)
        done = []
        for obj in objects:
            if self.kube.delete(obj):
                done.append(f"{manifests.label(obj)} deleted")
            elif ref:
                raise ManifestError(f"{obj['kind']} {obj['metadata']['name']} does not exist "
                                    f"in namespace {namespace}")
        return done

    def wait_ready(self, timeout: float = 180.0, namespace: str = "default",
                   progress: bool = True, poll: float = 1.0) -> None:
        """Wait until every pod of the namespace is Ready; idempotent. A timeout names each
        stuck pod, its state and its latest events."""
        deadline = time.monotonic() + timeout
        bar = tqdm(desc=f"pods ready in {namespace}", unit="pod", disable=not progress,
                   leave=False)
        try:
            while True:
                pods = [p for p in self.kube.items(f"/api/v1/namespaces/{namespace}/pods")
                        if _should_be_ready(p)]
                waiting = [p for p in pods if not rows.pod_ready(p)]
                bar.total = len(pods)
                bar.n = len(pods) - len(waiting)
                bar.refresh()
                if not waiting:
                    return
                if time.monotonic() > deadline:
                    raise LabError(f"pods not ready after {timeout} s: "
                                   + "; ".join(self._why(p) for p in waiting))
                time.sleep(poll)
        finally:
            bar.close()

    def _why(self, pod: dict) -> str:
        meta = pod["metadata"]
        events = self.kube.items(
            f"/api/v1/namespaces/{meta['namespace']}/events",
            field_selector=f"involvedObject.kind=Pod,involvedObject.name={meta['name']}")
        events.sort(key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")
        told = [f"{e.get('reason')}: {e.get('message', '').strip()}" for e in events[-3:]]
        return (f"{meta['name']} is {rows.pod_phase(pod)}"
                + (f" (events: {' | '.join(told)})" if told else " (no events)"))

    # ---- running commands --------------------------------------------------------------
    def _pod(self, pod: str, namespace: str) -> dict:
        if "/" in pod:
            namespace, pod = pod.split("/", 1)
        found = self.kube.items(f"/api/v1/namespaces/{namespace}/pods",
                                field_selector=f"metadata.name={pod}")
        if not found:
            known = [p["metadata"]["name"] for p in
                     self.kube.items(f"/api/v1/namespaces/{namespace}/pods")]
            raise UnknownPodError(f"no pod {pod!r} in namespace {namespace}; its pods: "
                                  f"{', '.join(sorted(known)) or 'none'} (lab.apply(...) "
                                  "creates pods)")
        return found[0]

    def _exec(self, pod: str, namespace: str, container: str, argv: list[str], *,
              where: str, timeout: float | None, check: bool = False,
              input: str | None = None) -> ExecResult:
        transport = self.kube.exec_transport(pod, namespace, container, argv, input is not None)
        return channels.run(transport, argv, where=where, timeout=timeout, check=check,
                            input=input)

    def _lines(self, pod: str, namespace: str, container: str, argv: list[str], *,
               where: str, timeout: float | None) -> Iterator[str]:
        transport = self.kube.exec_transport(pod, namespace, container, argv, False)
        return channels.lines(transport, argv, where=where, timeout=timeout)

    def exec(self, pod: str, command: str | Sequence[str], *, timeout: float | None = 10.0,
             check: bool = False, shell: bool = False, input: str | None = None,
             namespace: str = "default", container: str | None = None) -> ExecResult:
        """``kubectl exec``: run a command in a pod through the exec API; a failing command
        is a result, not an exception, unless check=True. No shell unless shell=True."""
        found = self._pod(pod, namespace)
        meta, spec = found["metadata"], found["spec"]
        if found.get("status", {}).get("phase") != "Running":
            raise LabError(f"pod {meta['name']} is {rows.pod_phase(found)}, not Running; "
                           "lab.wait_ready() waits for it")
        container = container or (meta.get("annotations") or {}).get(
            DEFAULT_CONTAINER_ANNOTATION) or spec["containers"][0]["name"]
        argv = as_argv(command, shell)
        result = self._exec(meta["name"], meta["namespace"], container, argv,
                            where=f"pod {meta['name']}", timeout=timeout, check=False,
                            input=input)
        if result.returncode == 127 and not shell:
            result.stderr += (f"{argv[0]} is not in pod {meta['name']}'s image; a pod with the "
                              "tools (nicolaka/netshoot) has strace, tcpdump, curl and more\n")
        if check:
            result.check_returncode()
        return result

    def pod_ip(self, pod: str, namespace: str = "default") -> str:
        found = self._pod(pod, namespace)
        ip = found.get("status", {}).get("podIP")
        if not ip:
            raise LabError(f"pod {found['metadata']['name']} has no IP yet "
                           f"({rows.pod_phase(found)}); lab.wait_ready() waits for it")
        return ip

    # ---- the agent and the nodes ---------------------------------------------------------
    def agent(self, node: str) -> agents.ClusterAgent:
        """The Cilium agent on a node: its pod (k8s-app=cilium), container cilium-agent, and
        whether it ships cilium-dbg or cilium. Kept once found."""
        if node in self._agents:
            return self._agents[node]
        pods = self.kube.items("/api/v1/pods", label_selector=agents.AGENT_SELECTOR)
        names = [n["metadata"]["name"] for n in self.kube.items("/api/v1/nodes")]
        pod = agents.find_pod(pods, node, names)
        name, namespace = pod["metadata"]["name"], pod["metadata"]["namespace"]
        where = f"cilium agent {namespace}/{name} on node {node}"
        program = agents.discover_program(
            lambda argv: self._exec(name, namespace, agents.AGENT_CONTAINER, argv, where=where,
                                    timeout=15.0), where)
        found = agents.ClusterAgent(node, name, namespace, program, self._exec, self._lines)
        self._agents[node] = found
        return found

    def agent_nodes(self) -> list[str]:
        """The nodes that run a Cilium agent pod."""
        pods = self.kube.items("/api/v1/pods", label_selector=agents.AGENT_SELECTOR)
        return sorted({p["spec"]["nodeName"] for p in pods if p["spec"].get("nodeName")})

    def node(self, name: str) -> ClusterNode:
        """A node by name; its run() executes in the node's Cilium agent pod."""
        return ClusterNode(name, self.agent(name))

    # ---- Hubble ------------------------------------------------------------------------
    def observe(self, *, node: str | None = None, since: str | None = None,
                limit: int | None = 100, pod: str | None = None,
                namespace: str | None = None) -> pd.DataFrame:
        """Recent flows (`hubble observe -o json` in the agents): every node, or one."""
        nodes = [node] if node else self.agent_nodes()
        argv = hubble.observe_argv(since=since, limit=limit, pod=pod, namespace=namespace)
        return hubble.observe([self.agent(n) for n in nodes], argv)

    def follow(self, node: str, *, pod: str | None = None, namespace: str | None = None,
               duration: float | None = None) -> Iterator[pd.DataFrame]:
        """New flows on one node as they happen, one-row DataFrames (for widgets)."""
        argv = hubble.observe_argv(pod=pod, namespace=namespace, follow=True)
        return hubble.follow(self.agent(node), argv, duration)

    def status(self) -> dict:
        return {"lab": self.kind, "server": self.kube.host}

    def __repr__(self) -> str:
        return f"<ClusterLab {self.kube.host}>"


def _should_be_ready(pod: dict) -> bool:
    """Pods that finished (Succeeded, Failed) or are going away are not waited for."""
    return (pod.get("status", {}).get("phase") not in ("Succeeded", "Failed")
            and not pod["metadata"].get("deletionTimestamp"))


def _message(error: Exception) -> str:
    return getattr(error, "summary", lambda: str(error))()
