"""Parsers: the output of each command of the chapter -> a tidy pandas DataFrame.

``parse(command, output)`` picks the parser from the command line as a learner typed it
(``kubectl exec ... -- cilium-dbg bpf lb list | grep 10.96``, ``c0 service list``, ...).
Every parser is also a function of its own here (``labkit.parsers.service_list(text)``).

Contract, the same for every parser:
- columns are snake_case, always the same for a command whatever the rows, and typed
  (ints are ints; an address and its port are separate columns);
- status-like outputs become ``section, key, value`` rows (``nested(df)`` gives a dict);
- a line the parser does not understand raises ``labkit.ParseError`` quoting it and its
  line number: nothing is dropped silently;
- ``df.attrs["raw"]`` keeps the text the tool printed, ``df.attrs["command"]`` the command.
"""

from __future__ import annotations

import importlib

import pandas as pd

from labkit.parsers._registry import choose, supported

# One module per tool family; each lists its public parsers in __all__.
_MODULES = [
    "cilium_status",
    "cilium_monitor",
    "cilium_endpoints",
    "cilium_maps",
    "cilium_services",
    "cilium_conntrack",
    "bpftool",
    "hubble",
    "iproute",
    "netfilter",
    "kubectl",
    "strace",
    "capture",
    "system",
]

__all__ = ["parse", "nested", "supported"]
for _name in _MODULES:
    _module = importlib.import_module(f"labkit.parsers.{_name}")
    for _public in getattr(_module, "__all__", []):
        globals()[_public] = getattr(_module, _public)
        __all__.append(_public)


def parse(command: str, output: str | bytes) -> pd.DataFrame:
    """Parses the output of a command, choosing the parser from the command line.

    >>> df = parse("c0 service list", text)          # the seed's alias for the agent
    >>> df = parse("bpftool -j net show", json_text)  # JSON where the tool has it
    """
    inv, func = choose(command)
    df = func(output)
    df.attrs["command"] = command
    df.attrs["filtered"] = inv.filtered
    return df


def nested(df: pd.DataFrame) -> dict:
    """A ``section, key, value`` table as a nested dict: ``{"KubeProxyReplacement Details":
    {"Socket LB": "Enabled", ...}}``. Sections nest on `` / `` (``"A / B"``); rows with an
    empty section sit at the top level."""
    missing = {"section", "key", "value"} - set(df.columns)
    if missing:
        lacks = sorted(missing)
        raise ValueError(f"nested() takes a section/key/value table; this one lacks {lacks}")
    tree: dict = {}
    for section, key, value in zip(df["section"], df["key"], df["value"], strict=True):
        node = tree
        for part in [p for p in str(section or "").split(" / ") if p]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {} if child is None else {"": child}
                node[part] = child
            node = child
        if isinstance(node.get(key), dict):
            node[key][""] = value
        else:
            node[key] = value
    return tree
