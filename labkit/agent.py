"""The agent's view of a node: what `kubectl exec <cilium pod> -- cilium ...` and
`bpftool` show there, as DataFrames.

One method per command a learner types (``c0 service list`` -> ``agent.service_list()``).
Every method returns the DataFrame of the parser for the real command, so a notebook cell
reads the same on both labs. The cluster lab runs the real commands in the Cilium agent
pod; the local lab answers the ``cilium`` ones from its own kernel objects and runs
``bpftool``, ``ip`` and ``iptables-save`` for real on the node.
"""

from __future__ import annotations

import shlex
from abc import ABC, abstractmethod
from collections.abc import Sequence
from subprocess import CompletedProcess

import pandas as pd

from labkit.parsers import parse


class Agent(ABC):
    """The Cilium agent (or the local lab's stand-in) on one node."""

    #: the agent's command-line program: ``cilium-dbg`` from 1.15 on, ``cilium`` before.
    cilium_program = "cilium-dbg"

    def __init__(self, node: str) -> None:
        self.node = node

    @abstractmethod
    def run(self, command: Sequence[str], *, timeout: float = 30.0,
            check: bool = True) -> CompletedProcess:
        """Runs a command where the agent runs (the node's network namespace)."""

    def command(self, *args: str) -> pd.DataFrame:
        """Runs a command on the node and parses its output (``agent.command("ip", "-j",
        "route")``). The DataFrame's ``attrs["raw"]`` keeps what the command printed."""
        result = self.run(list(args))
        return parse(shlex.join(args), result.stdout)

    def cilium(self, *args: str) -> pd.DataFrame:
        """Runs the agent's own CLI (``cilium-dbg`` or ``cilium``) and parses its output."""
        return self.command(self.cilium_program, *args)

    # --- cilium -------------------------------------------------------------------------
    def status(self) -> pd.DataFrame:
        """`cilium status --verbose` as section, key, value rows."""
        return self.cilium("status", "--verbose")

    def config(self) -> pd.DataFrame:
        """The agent's configuration (`cilium config`): key, value."""
        return self.cilium("config")

    def endpoint_list(self) -> pd.DataFrame:
        """`cilium endpoint list`: one row per endpoint on this node."""
        return self.cilium("endpoint", "list")

    def bpf_endpoint_list(self) -> pd.DataFrame:
        """`cilium bpf endpoint list`: the endpoint map (cilium_lxc)."""
        return self.cilium("bpf", "endpoint", "list")

    def ip_list(self) -> pd.DataFrame:
        """`cilium ip list`: IP -> identity, as the agent knows it."""
        return self.cilium("ip", "list")

    def bpf_ipcache_list(self) -> pd.DataFrame:
        """`cilium bpf ipcache list`: the ipcache map (prefix -> identity, node)."""
        return self.cilium("bpf", "ipcache", "list")

    def service_list(self) -> pd.DataFrame:
        """`cilium service list`: one row per service backend."""
        return self.cilium("service", "list")

    def bpf_lb_list(self, revnat: bool = False) -> pd.DataFrame:
        """`cilium bpf lb list` (or ``--revnat``): the load-balancer maps."""
        return self.cilium("bpf", "lb", "list", *(["--revnat"] if revnat else []))

    def bpf_nat_list(self) -> pd.DataFrame:
        """`cilium bpf nat list`: the NAT table."""
        return self.cilium("bpf", "nat", "list")

    def bpf_ct_list(self) -> pd.DataFrame:
        """`cilium bpf ct list global`: the connection-tracking table."""
        return self.cilium("bpf", "ct", "list", "global")

    def map_list(self, verbose: bool = False) -> pd.DataFrame:
        """`cilium map list`: the agent's BPF maps and their entry counts."""
        return self.cilium("map", "list", *(["--verbose"] if verbose else []))

    def map_get(self, name: str) -> pd.DataFrame:
        """`cilium map get NAME`: the entries of one map."""
        return self.cilium("map", "get", name)

    # --- bpftool and the node's own tools -------------------------------------------------
    def bpftool_net_show(self) -> pd.DataFrame:
        """`bpftool net show`: which program is attached to which interface."""
        return self.command("bpftool", "-j", "net", "show")

    def bpftool_prog_show(self, prog_id: int | None = None) -> pd.DataFrame:
        """`bpftool prog show [id N]`: the loaded programs."""
        extra = ["id", str(prog_id)] if prog_id is not None else []
        return self.command("bpftool", "-j", "prog", "show", *extra)

    def bpftool_map_list(self) -> pd.DataFrame:
        """`bpftool map list`: the loaded maps."""
        return self.command("bpftool", "-j", "map", "list")

    def bpftool_cgroup_tree(self, path: str | None = None) -> pd.DataFrame:
        """`bpftool cgroup tree [PATH]`: programs attached to cgroups."""
        return self.command("bpftool", "-j", "cgroup", "tree", *([path] if path else []))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} on {self.node}>"
