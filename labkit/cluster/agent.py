"""The Cilium agent of one node: found by label and node, entered through exec.

The agent pod (DaemonSet pods labelled k8s-app=cilium) runs in the node's network namespace,
so node-level commands (ip, iptables-save, conntrack, bpftool) run there too, in its
container cilium-agent, which ships ``cilium-dbg`` (1.15 on) or ``cilium`` (before), plus
``bpftool`` and ``hubble``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from labkit.agent import Agent
from labkit.cluster.tables import pod_phase, pod_ready
from labkit.errors import AgentNotFoundError
from labkit.local.process import ExecResult

AGENT_SELECTOR = "k8s-app=cilium"
AGENT_CONTAINER = "cilium-agent"
PROGRAMS = ("cilium-dbg", "cilium")

Exec = Callable[..., ExecResult]
Lines = Callable[..., Iterator[str]]


def find_pod(pods: list[dict], node: str, nodes: list[str]) -> dict:
    """The running agent pod among those labelled k8s-app=cilium on this node, or an error
    that says why there is none."""
    here = [p for p in pods if p.get("spec", {}).get("nodeName") == node
            and not p["metadata"].get("deletionTimestamp")]
    if not here:
        if node not in nodes:
            raise AgentNotFoundError(f"no node {node!r} in this cluster; its nodes are "
                                     f"{', '.join(nodes)}")
        others = sorted({p["spec"].get("nodeName", "?") for p in pods})
        raise AgentNotFoundError(
            f"no Cilium agent pod ({AGENT_SELECTOR}) on node {node}"
            + (f"; agents run on {', '.join(others)}" if others else
               "; none on any node: is Cilium installed? (`labkit cluster up` installs it)"))
    pod = here[0]
    if not pod_ready(pod):
        name, ns = pod["metadata"]["name"], pod["metadata"]["namespace"]
        raise AgentNotFoundError(
            f"agent pod not Ready on node {node} ({pod_phase(pod)}: see `kubectl -n {ns} logs "
            f"{name} -c {AGENT_CONTAINER}`)")
    return pod


def discover_program(run: Callable[[list[str]], ExecResult], where: str) -> str:
    """cilium-dbg where the image has it, else cilium (asked by running each's --help)."""
    for program in PROGRAMS:
        if run([program, "--help"]).returncode == 0:
            return program
    raise AgentNotFoundError(f"neither {' nor '.join(PROGRAMS)} runs in {where}; is this "
                             f"container really the Cilium agent?")


class ClusterAgent(Agent):
    """The Cilium agent on one node of a real cluster; every method runs the real command."""

    def __init__(self, node: str, pod: str, namespace: str, cilium_program: str,
                 exec_: Exec, lines: Lines) -> None:
        super().__init__(node)
        self.pod = pod
        self.namespace = namespace
        self.cilium_program = cilium_program
        self._exec = exec_
        self._lines = lines

    @property
    def where(self) -> str:
        return f"cilium agent {self.namespace}/{self.pod} on node {self.node}"

    def run(self, command: Sequence[str], *, timeout: float = 30.0,
            check: bool = True) -> ExecResult:
        """Runs a command in the agent's container (the node's network namespace)."""
        return self._exec(self.pod, self.namespace, AGENT_CONTAINER, list(command),
                          where=self.where, timeout=timeout, check=check)

    def stream(self, command: Sequence[str], *, timeout: float | None = None) -> Iterator[str]:
        """Runs a command and yields its stdout lines as they come (``hubble observe -f``)."""
        return self._lines(self.pod, self.namespace, AGENT_CONTAINER, list(command),
                           where=self.where, timeout=timeout)
