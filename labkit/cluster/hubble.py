"""Hubble flows from inside the agents: `hubble observe -o json` needs no port-forward there
(each agent serves its own node's flows on /var/run/cilium/hubble.sock).

The flows come back as the DataFrame of labkit's hubble JSON parser, the same table as the
local lab's observer.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Iterator

import pandas as pd

from labkit.agent import Agent
from labkit.errors import ExecTimeout
from labkit.parsers import parse


def observe_argv(*, since: str | None = None, limit: int | None = 100, pod: str | None = None,
                 namespace: str | None = None, follow: bool = False,
                 extra: Iterable[str] = ()) -> list[str]:
    """The hubble command line: ``since`` like '5m' or an RFC3339 time, ``limit`` the last N
    flows, ``pod`` '[namespace/]name'."""
    argv = ["hubble", "observe", "-o", "json"]
    if follow:
        argv.append("--follow")
    elif limit is not None:
        argv += ["--last", str(int(limit))]
    if since:
        argv += ["--since", since]
    if pod:
        argv += ["--pod", pod]
    if namespace:
        argv += ["--namespace", namespace]
    return argv + list(extra)


def observe(agents: Iterable[Agent], argv: list[str], timeout: float = 60.0) -> pd.DataFrame:
    """Runs hubble on every agent given and joins the flows, oldest first."""
    frames = [parse(shlex.join(argv), a.run(argv, timeout=timeout).stdout) for a in agents]
    if not frames:
        return parse(shlex.join(argv), "")
    flows = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    raw = "".join(f.attrs.get("raw", "") for f in frames)
    flows = flows.sort_values("time", kind="stable").reset_index(drop=True)
    flows.attrs.update(frames[0].attrs, raw=raw)
    return flows


def follow(agent: Agent, argv: list[str], duration: float | None = None) -> Iterator[pd.DataFrame]:
    """One one-row DataFrame per flow as hubble prints it; ends after ``duration`` seconds
    (None: until the generator is closed)."""
    command = shlex.join(argv)
    try:
        for line in agent.stream(argv, timeout=duration):
            if line.strip():
                yield parse(command, line + "\n")
    except ExecTimeout:
        if duration is None:
            raise
