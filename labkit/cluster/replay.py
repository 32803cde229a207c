"""The replay lab: a recorded session (labkit.record) answering as the lab it was recorded on.

``LABKIT_LAB=replay:path`` gives a ReplayLab, so a class can read through a real cluster run
on laptops without a cluster. A call the transcript does not hold raises ReplayMissError
naming the command and what the transcript does hold for that place. A command recorded
several times answers with each recorded result in turn, then keeps the last.
"""

from __future__ import annotations

import json
import shlex
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from labkit.agent import Agent
from labkit.errors import LabError, ReplayMissError
from labkit.local.process import ExecResult, as_argv
from labkit.parsers import parse
from labkit.record import pod_where


def _key(kwargs: dict) -> str:
    return json.dumps(kwargs, sort_keys=True, default=str)


class ReplayLab:
    """Answers from a transcript; changes nothing anywhere."""

    kind = "replay"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            lines = self.path.read_text().splitlines()
        except OSError as e:
            raise LabError(f"cannot read the transcript {self.path}: {e.strerror}; record one "
                           "with LABKIT_RECORD=path on a machine with the lab") from None
        self._calls: dict[tuple, list[dict]] = defaultdict(list)
        self._served: dict[tuple, int] = defaultdict(int)
        self.recorded_on = "unknown"
        for number, line in enumerate(lines, 1):
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                raise LabError(f"{self.path} line {number} is not JSON: {line[:80]!r}") from None
            self._index(entry)

    def _index(self, e: dict) -> None:
        op = e["op"]
        if op == "start":
            self.recorded_on = e.get("lab", "unknown")
        elif op in ("exec", "error"):
            self._calls[("exec", e["where"], tuple(e["argv"]))].append(e)
        elif op == "table":
            self._calls[("table", e["call"], _key(e["kwargs"]))].append(e)
        elif op == "agent":
            self._calls[("agent", e["node"])].append(e)
        elif op == "pod_ip":
            self._calls[("pod_ip", e["where"])].append(e)
        elif op in ("apply", "delete"):
            self._calls[(op, e["source"])].append(e)

    def _next(self, key: tuple, missing: str) -> dict:
        found = self._calls.get(key)
        if not found:
            raise ReplayMissError(f"the transcript {self.path} does not hold {missing}")
        i = min(self._served[key], len(found) - 1)
        self._served[key] += 1
        return found[i]

    def _held(self, kind: str, place: str) -> str:
        held = [shlex.join(k[2]) for k in self._calls if k[0] == kind and k[1] == place]
        if not held:
            places = sorted({k[1] for k in self._calls if k[0] == kind})
            return f"; nothing ran in {place} (it holds {', '.join(places) or 'no commands'})"
        return f"; for {place} it holds: {', '.join(held[:6])}" + (" ..." if len(held) > 6 else "")

    # ---- commands ------------------------------------------------------------------------
    def answer(self, where: str, argv: list[str], check: bool = False) -> ExecResult:
        """The recorded result of argv in a place ('pod default/netpod', 'node k8s-s',
        'agent k8s-w1')."""
        key = ("exec", where, tuple(argv))
        if key not in self._calls:
            raise ReplayMissError(f"the transcript {self.path} does not hold "
                                  f"`{shlex.join(argv)}` in {where}" + self._held("exec", where))
        e = self._next(key, "")
        if e["op"] == "error":
            raise LabError(f"(replayed) {e['error']}")
        result = ExecResult(argv, e["returncode"], e["stdout"], e["stderr"], f"{where} (replay)")
        if check:
            result.check_returncode()
        return result

    def exec(self, pod: str, command: str | Sequence[str], *, timeout: float | None = 10.0,
             check: bool = False, shell: bool = False, input: str | None = None,
             namespace: str = "default", container: str | None = None) -> ExecResult:
        return self.answer(pod_where(pod, namespace), as_argv(command, shell), check)

    def node(self, name: str) -> ReplayMachine:
        return ReplayMachine(name, self)

    def agent(self, node: str) -> ReplayAgent:
        e = self._next(("agent", node), f"the Cilium agent of node {node}")
        return ReplayAgent(node, e["cilium_program"], self)

    def pod_ip(self, pod: str, namespace: str = "default") -> str:
        where = pod_where(pod, namespace)
        return self._next(("pod_ip", where), f"the IP of {where}")["ip"]

    # ---- tables ------------------------------------------------------------------------
    def _table(self, call: str, **kwargs) -> pd.DataFrame:
        key = ("table", call, _key(kwargs))
        if key not in self._calls:
            held = [k[2] for k in self._calls if k[0] == "table" and k[1] == call]
            raise ReplayMissError(
                f"the transcript {self.path} does not hold {call}({_args(kwargs)})"
                + (f"; it holds {call} with {', '.join(held)}" if held else
                   f"; it never called {call}"))
        e = self._next(key, "")
        if "raw" in e:
            return parse(e["command"], e["raw"])
        return pd.DataFrame(e["rows"], columns=e["columns"])

    def nodes(self) -> pd.DataFrame:
        return self._table("nodes")

    def pods(self, namespace: str = "default", all_namespaces: bool = False) -> pd.DataFrame:
        return self._table("pods", namespace=namespace, all_namespaces=all_namespaces)

    def services(self, namespace: str = "default", all_namespaces: bool = False) -> pd.DataFrame:
        return self._table("services", namespace=namespace, all_namespaces=all_namespaces)

    def endpoints(self, namespace: str = "default", all_namespaces: bool = False) -> pd.DataFrame:
        return self._table("endpoints", namespace=namespace, all_namespaces=all_namespaces)

    def helm_values(self, release: str = "cilium", all: bool = False) -> pd.DataFrame:
        return self._table("helm_values", release=release, all=all)

    def observe(self, *, node: str | None = None, since: str | None = None,
                limit: int | None = 100, pod: str | None = None,
                namespace: str | None = None) -> pd.DataFrame:
        return self._table("observe", node=node, since=since, limit=limit, pod=pod,
                           namespace=namespace)

    # ---- objects -----------------------------------------------------------------------
    def apply(self, source: str | Path, **kwargs) -> list[str]:
        return self._next(("apply", str(source)), f"an apply of {source}")["lines"]

    def delete(self, source: str | Path, **kwargs) -> list[str]:
        return self._next(("delete", str(source)), f"a delete of {source}")["lines"]

    def wait_ready(self, timeout: float = 10.0, **kwargs) -> None:
        """Nothing to wait for: the recorded pods were ready when recorded."""

    def status(self) -> dict:
        return {"lab": self.kind, "transcript": str(self.path), "recorded_on": self.recorded_on}

    def __repr__(self) -> str:
        return f"<ReplayLab {self.path} (recorded on the {self.recorded_on} lab)>"


class ReplayMachine:
    """A node of the replay lab: run() answers from the transcript."""

    def __init__(self, name: str, lab: ReplayLab) -> None:
        self.name = name
        self._lab = lab

    def run(self, command: str | Sequence[str], *, timeout: float | None = 10.0,
            check: bool = False, shell: bool = False, input: str | None = None) -> ExecResult:
        return self._lab.answer(f"node {self.name}", as_argv(command, shell), check)


class ReplayAgent(Agent):
    """The agent of a node as recorded: the same methods, the recorded outputs."""

    def __init__(self, node: str, cilium_program: str, lab: ReplayLab) -> None:
        super().__init__(node)
        self.cilium_program = cilium_program
        self._lab = lab

    def run(self, command: Sequence[str], *, timeout: float = 30.0,
            check: bool = True) -> ExecResult:
        return self._lab.answer(f"agent {self.node}", list(command), check)


def _args(kwargs: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
