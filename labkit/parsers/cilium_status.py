"""Status-like outputs of Cilium and Hubble as ``section, key, value`` rows.

- ``cilium status`` / ``cilium-dbg status`` in the agent (plain and ``--verbose``), and the
  cilium-cli ``cilium status`` on a workstation (ASCII-art logo + deployment table): both are
  typed as ``cilium status``, so one parser reads both and tells them apart by content.
- ``cilium status -o json`` (the agent's StatusResponse) flattened to the same rows.
- ``cilium config view`` (cilium-cli) and ``cilium-dbg config`` (agent) as ``key, value``.
- ``hubble status`` as ``section, key, value``.

Values are the text the tool printed with runs of blanks collapsed to one space (the tools
align columns with tabwriter, so the padding changes from one node to the next).
"""

from __future__ import annotations

import json
import re

import pandas as pd

from labkit.parsers._registry import parser
from labkit.parsers._text import fail, frame, lines, load_json

__all__ = ["cilium_status", "cilium_status_json", "config_view", "hubble_status",
           "hubble_status_json"]

STATUS_COLUMNS = {"section": "str", "key": "str", "value": "str"}
CONFIG_COLUMNS = {"key": "str", "value": "str"}

# `Key:   value` or a section header `Key:` (the colon followed by blanks or the line's end).
_KV = re.compile(r"^(?P<key>[A-Za-z0-9][\w /().+,-]*?):(?:\s+(?P<value>.*))?$")
_DASH_KV = re.compile(r"^- (?P<key>[^:]+?):(?:\s+(?P<value>.*))?$")
_ADDRESS = re.compile(r"^(?P<ip>[0-9A-Fa-f:.]+) \((?P<owner>[^()]*(?:\([^()]*\))?[^()]*)\)$")
_LOST = re.compile(r"^(?P<lost>\d+) events lost, (?P<unknown>\d+) unknown notifications$")
_CONTROLLER_ROW = re.compile(
    r"^(?P<name>\S.*?)\s{2,}(?P<success>never|\S+ ago)\s{2,}(?P<error>never|\S+ ago)"
    r"\s{2,}(?P<count>\d+)\s{2,}(?P<message>.*)$")
_HEALTH_ROW = re.compile(
    r"^(?P<name>\S.*?)\s{2,}(?P<ip>[0-9A-Fa-f:.,]+)\s{2,}(?P<node>(?:un)?reachable)"
    r"\s{2,}(?P<endpoints>(?:un)?reachable)$")
_CLUSTERMESH_DETAIL = re.compile(r"^└\s+(?P<text>.*)$")

# Table headers the agent prints under a key, and which column names a row.
_TABLES: dict[tuple[str, ...], int] = {
    ("Name", "Last success", "Last error", "Count", "Message"): 0,
    ("Name", "Size"): 0,
    ("Name", "IP", "Node", "Endpoints"): 0,
    ("Protocol", "Redirect", "Proxy Port"): 1,
    ("Module", "Status", "Message", "Last Updated"): 0,
}

# Keys of the agent's top level, to repair a key whose first letter a copy lost.
_TOP_KEYS = {
    "KVStore", "ContainerRuntime", "Kubernetes", "Kubernetes APIs", "KubeProxyReplacement",
    "Host firewall", "SRv6", "CNI Chaining", "CNI Config file", "Cilium", "Stale status",
    "NodeMonitor", "Cilium health daemon", "IPAM", "Allocated addresses", "ClusterMesh",
    "IPv4 BIG TCP", "IPv6 BIG TCP", "BandwidthManager", "Host Routing", "Routing",
    "Attach Mode", "Device Mode", "Masquerading", "Clock Source for BPF", "Controller Status",
    "Proxy Status", "Global Identity Range", "Hubble", "KubeProxyReplacement Details",
    "BPF Maps", "Encryption", "Cluster health", "Modules Health",
}

# Where an indented line of `status --verbose | grep ...` belongs when its header is gone.
_KPR = "KubeProxyReplacement Details"
_ORPHAN_SECTIONS = {
    **{k: _KPR for k in ("Status", "Socket LB", "Socket LB Tracing", "Socket LB Coverage",
                         "Devices", "Mode", "Backend Selection", "Session Affinity",
                         "Graceful Termination", "NAT46/64 Support", "XDP Acceleration",
                         "Protocols")},
    **{k: f"{_KPR} / Services" for k in ("ClusterIP", "NodePort", "LoadBalancer",
                                         "externalIPs", "HostPort")},
}

# The Modules Health tree: four characters per level.
_TREE_STEPS = ("│   ", "    ", "├── ", "└── ")
_TREE_LEAF = re.compile(r"^(?P<name>.+?)\s+(?P<status>\[[A-Z]+\].*)$")

# cilium-cli: the logo at the left of the first lines, and the labels of its table rows.
_LOGO = re.compile(r"^[ /\\_¯]*[/\\_¯][ /\\_¯]*")
_CLI_LABELS = ("Deployment", "DaemonSet", "StatefulSet", "Containers", "Image versions",
               "Errors", "Warnings")
_CLI_ROW = re.compile(
    r"^(?P<label>" + "|".join(_CLI_LABELS) + r"):?\s+(?P<name>\S+)(?:\s+(?P<value>.*))?$")
_CLI_MARK = re.compile(r"/¯¯\\|\\__/|^(Deployment|DaemonSet) {2,}|^Containers: {2,}"
                       r"|^Image versions {2,}|^Cluster Pods:")


def _norm(value: str | None) -> str:
    return " ".join((value or "").split())


def _split(text: str, parts: int) -> list[str]:
    return re.split(r"\s{2,}", text.strip(), maxsplit=parts - 1)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


@parser("cilium status")
def cilium_status(output: str) -> pd.DataFrame:
    """``cilium status`` (``--verbose`` too): the agent's health and datapath settings.

    Columns ``section, key, value``. Top-level lines (``KubeProxyReplacement: True [...]``)
    have section ``""``; indented blocks get the path of their headers:
    ``KubeProxyReplacement Details`` / ``Socket LB``, ``KubeProxyReplacement Details /
    Services`` / ``NodePort``. List-like blocks: ``Allocated addresses`` rows have the
    address as key and its owner (``router``, ``health``, a pod) as value; controllers,
    cluster-health nodes and proxy redirects get one section each (``Controller Status /
    endpoint-gc``) with a row per column (``Last success``...); ``BPF Maps`` rows are map name
    -> size; the ``Modules Health`` tree gives one row per module status, its section the
    path in the tree (``Modules Health / agent / controlplane``). The workstation's
    cilium-cli ``cilium status`` (logo + deployments table) is recognised by its content:
    its summary lines have section ``""``, its table rows the label as section
    (``Deployment`` / ``cilium-operator`` -> ``Desired: 2, Ready: 2/2, Available: 2/2``).
    A first key that lost its first letter in a copy (``ubeProxyReplacement``) is repaired.
    """
    if any(_CLI_MARK.search(line) for _, line in lines(output)):
        return _cli_status(output)
    return _agent_status(output)


class _Agent:
    """The reading state of an agent ``cilium status``: where an indented line belongs."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.top: str | None = None  # the top-level key the indented lines belong to
        self.header_pending = False  # a `Key:` header with no rows under it yet
        self.sub: str | None = None
        self.sub_indent = 0
        self.table: tuple[tuple[str, ...], int] | None = None
        self.last_key: str | None = None
        self.tree: list[str] = []
        self.tree_base: int | None = None

    def add(self, section: str, key: str, value: str) -> None:
        self.rows.append({"section": section, "key": key, "value": value})
        self.header_pending = False

    def close(self) -> None:
        if self.header_pending and self.top is not None:
            self.add("", self.top, "")

    def open(self, key: str) -> None:
        self.close()
        self.top, self.sub, self.table, self.last_key = key, None, None, None
        self.tree, self.tree_base = [], None


def _agent_status(output: str) -> pd.DataFrame:
    st = _Agent()
    first = True
    for n, line in lines(output):
        text = line.strip()
        indent = _indent(line)
        if indent == 0:
            cells = tuple(_split(text, 6))
            if cells == ("Name", "IP", "Node", "Endpoints"):  # 1.17+: header at the margin
                st.table = (cells, 0)
                continue
            m = _KV.match(text)
            if m and not (st.table and st.top == "Cluster health" and _HEALTH_ROW.match(text)):
                key, value = m.group("key"), _norm(m.group("value"))
                if first and key not in _TOP_KEYS:
                    key = next((k for k in _TOP_KEYS if k[1:] == key), key)
                first = False
                st.open(key)
                if value:
                    st.add("", key, value)
                    if key == "Modules Health" and re.fullmatch(r"[\w-]+", value):
                        st.tree = [value]  # 1.16/1.17 --verbose: the tree's root on this line
                else:
                    st.header_pending = True
                continue
            if st.table and _table_row(st, text):
                continue
            raise fail("expected `Key: value` at the start of a `cilium status` line", n, line)
        first = False
        if st.top is None:
            _orphan(st, n, line, text)
        elif not _indented(st, line, text, indent):
            raise fail(f"not a line of the `{st.top}` block of `cilium status`", n, line)
    st.close()
    return frame(st.rows, STATUS_COLUMNS)


def _table_row(st: _Agent, text: str) -> bool:
    header, key_index = st.table
    cells = _split(text, len(header))
    if len(cells) < 2:
        return False
    cells += [""] * (len(header) - len(cells))
    name = cells[key_index]
    if len(header) == 2:
        st.add(st.top, cells[0], _norm(cells[1]))
        return True
    for i, column in enumerate(header):
        if i != key_index:
            st.add(f"{st.top} / {name}", column, _norm(cells[i]))
    return True


def _tree_line(st: _Agent, line: str, indent: int) -> bool:
    """A line of the Modules Health tree (1.16+ ``--verbose``)."""
    if not st.tree:  # the root (`agent`) on a line of its own
        if not re.fullmatch(r"[\w-]+", line.strip()):
            return False
        st.tree, st.tree_base = [line.strip()], indent
        return True
    if st.tree_base is None:  # the root was on the `Modules Health:` line
        st.tree_base = indent
    rel = line[st.tree_base:] if indent >= st.tree_base else ""
    depth, i = 0, 0
    while rel[i:i + 4] in _TREE_STEPS and rel[i:i + 4]:
        depth, i = depth + 1, i + 4
    content = rel[i:].strip()
    if depth == 0 or not content or depth > len(st.tree):
        return False
    leaf = _TREE_LEAF.match(content)
    name = leaf.group("name") if leaf else content
    if leaf:
        st.add(" / ".join(["Modules Health", *st.tree[:depth]]), name, _norm(leaf.group("status")))
    st.tree = st.tree[:depth] + [name]
    return True


def _indented(st: _Agent, line: str, text: str, indent: int) -> bool:
    """Reads an indented line under ``st.top``; False when it fits nothing there."""
    cells = tuple(_split(text, 6))
    if cells in _TABLES:
        st.table = (cells, _TABLES[cells])
        return True
    if st.top == "Modules Health" and not st.table:
        return _tree_line(st, line, indent)
    if st.table:
        return _table_row(st, text)
    if (m := _LOST.match(text)) and st.top == "NodeMonitor":
        st.add("NodeMonitor", "events lost", m.group("lost"))
        st.add("NodeMonitor", "unknown notifications", m.group("unknown"))
        return True
    if (m := _ADDRESS.match(text)) and st.top == "Allocated addresses":
        st.add(st.top, m.group("ip"), m.group("owner"))
        return True
    if (m := _CLUSTERMESH_DETAIL.match(text)) and st.last_key:
        detail = _KV.match(m.group("text"))
        key, value = (detail.group("key"), detail.group("value")) if detail else (
            "status", m.group("text"))
        st.add(f"{st.top} / {st.last_key}", key, _norm(value))
        return True
    if m := _DASH_KV.match(text):
        st.add(f"{st.top} / {st.sub}" if st.sub else st.top, m.group("key"),
               _norm(m.group("value")))
        return True
    if m := _KV.match(text):
        key, value = m.group("key"), _norm(m.group("value"))
        if st.sub and indent <= st.sub_indent:
            st.sub = None
        if not value and not st.sub:
            st.sub, st.sub_indent = key, indent
            return True
        st.add(f"{st.top} / {st.sub}" if st.sub else st.top, key, value)
        st.last_key = key
        return True
    return False


def _orphan(st: _Agent, n: int, line: str, text: str) -> None:
    """An indented line whose header a grep removed: placed by what it looks like."""
    if m := _ADDRESS.match(text):
        st.add("Allocated addresses", m.group("ip"), m.group("owner"))
    elif m := _CONTROLLER_ROW.match(text):
        section = f"Controller Status / {m.group('name')}"
        for key, group in (("Last success", "success"), ("Last error", "error"),
                           ("Count", "count"), ("Message", "message")):
            st.add(section, key, _norm(m.group(group)))
    elif m := _HEALTH_ROW.match(text):
        section = f"Cluster health / {m.group('name')}"
        for key, group in (("IP", "ip"), ("Node", "node"), ("Endpoints", "endpoints")):
            st.add(section, key, m.group(group))
    elif (m := _DASH_KV.match(text)) or (m := _KV.match(text)):
        key = m.group("key")
        st.add(_ORPHAN_SECTIONS.get(key, ""), key, _norm(m.group("value")))
    else:
        raise fail("an indented `cilium status` line with no block it belongs to", n, line)


def _cli_status(output: str) -> pd.DataFrame:
    rows: list[dict] = []
    label: str | None = None
    for n, line in lines(output):
        logo = _LOGO.match(line)
        if logo:
            rest = line[logo.end():].strip()
            if not rest:
                continue
            if not (m := _KV.match(rest)):
                raise fail("expected `Key: value` beside the cilium-cli logo", n, line)
            rows.append({"section": "", "key": m.group("key"), "value": _norm(m.group("value"))})
            continue
        if m := _CLI_ROW.match(line):
            label = m.group("label")
            rows.append({"section": label, "key": m.group("name"),
                         "value": _norm(m.group("value"))})
        elif line[:1].isspace() and label:
            name, _, value = line.strip().partition(" ")
            rows.append({"section": label, "key": name, "value": _norm(value)})
        elif m := _KV.match(line):
            label = None
            rows.append({"section": "", "key": m.group("key"), "value": _norm(m.group("value"))})
        else:
            raise fail("not a line of the cilium-cli `cilium status` summary", n, line)
    return frame(rows, STATUS_COLUMNS)


def _leaf(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool | dict | list):
        return json.dumps(value)
    return str(value)


def _flatten(obj: dict, path: list[str], rows: list[dict]) -> None:
    section = " / ".join(path)
    for key, value in obj.items():
        if isinstance(value, dict):
            _flatten(value, [*path, str(key)], rows)
        elif isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    _flatten(item, [*path, str(key), str(i)], rows)
                else:
                    rows.append({"section": " / ".join([*path, str(key)]), "key": str(i),
                                 "value": _leaf(item)})
        elif isinstance(value, list):
            rows.append({"section": section, "key": str(key),
                         "value": ", ".join(str(_leaf(v)) for v in value)})
        else:
            rows.append({"section": section, "key": str(key), "value": _leaf(value)})


@parser("cilium status", form="json")
def cilium_status_json(output: str) -> pd.DataFrame:
    """``cilium status -o json``: the agent's StatusResponse, flattened.

    Columns ``section, key, value`` as for the text form: ``section`` is the JSON path of
    the parent object joined with `` / `` (``kube-proxy-replacement / features / nodePort``),
    ``key`` the leaf's name, ``value`` the leaf as text (``true``/``false`` for booleans,
    lists of plain values joined with ``, ``). Objects in lists are numbered
    (``cluster / nodes / 0``); maps such as ``ipam / allocations`` give address -> owner.
    """
    data = load_json(output)
    if data == []:
        return frame([], STATUS_COLUMNS)
    if not isinstance(data, dict):
        first = output.strip().splitlines()[0] if output.strip() else ""
        raise fail("expected one JSON object (StatusResponse)", 1, first)
    rows: list[dict] = []
    _flatten(data, [], rows)
    return frame(rows, STATUS_COLUMNS)


_CONFIG_DBG = re.compile(r"^(?P<key>\S+)\s+:(?:\s+(?P<value>.*))?$")
_CONFIG_VIEW = re.compile(r"^(?P<key>[A-Za-z0-9][\w.\-/]*)(?:\s+(?P<value>.*))?$")
_CONFIG_HEADER = re.compile(r"^#+\s.*#+$|^(KEY|Key|Option)\s+(VALUE|Value)$")


@parser("cilium config view", "cilium config")
def config_view(output: str) -> pd.DataFrame:
    """``cilium config view`` (cilium-cli: the cilium-config ConfigMap) and ``cilium-dbg
    config`` (the agent's runtime options, ``Key : Value``).

    Columns ``key, value``: one row per option (``enable-bpf-masquerade`` -> ``true``),
    the value as printed (an option without value gives ``""``). The agent's
    ``#### Read-write configurations ####`` banners are passed over.
    """
    rows = []
    for n, line in lines(output):
        text = line.strip()
        if _CONFIG_HEADER.match(text):
            continue
        m = _CONFIG_DBG.match(text) or _CONFIG_VIEW.match(text)
        if not m:
            raise fail("expected `key   value` (or `Key : Value`)", n, line)
        rows.append({"key": m.group("key"), "value": (m.group("value") or "").strip()})
    return frame(rows, CONFIG_COLUMNS)


_HUBBLE_KV = re.compile(
    r"^(?P<key>[A-Za-z][\w /]*?)(?: \(via (?P<via>[^()]*)\))?:\s*(?P<value>.*)$")


@parser("hubble status")
def hubble_status(output: str) -> pd.DataFrame:
    """``hubble status``: whether the Hubble server (or Relay) answers, and its flow buffer.

    Columns ``section, key, value``: ``Healthcheck`` -> ``Ok`` (and ``Healthcheck via`` ->
    the address it asked, e.g. ``localhost:4245``), ``Current/Max Flows`` -> ``4,095/4,095
    (100.00%)``, ``Flows/s``, ``Connected Nodes`` -> ``3/3``; a node list under
    ``Unavailable Nodes`` gives one row per node (section ``Unavailable Nodes``, key the
    node, value ``""``).
    """
    rows: list[dict] = []
    last: str | None = None
    for n, line in lines(output):
        text = line.strip()
        if text.startswith("- ") and last and line[:1].isspace():
            rows.append({"section": last, "key": text[2:].strip(), "value": ""})
            continue
        m = _HUBBLE_KV.match(text)
        if not m or line[:1].isspace():
            raise fail("expected `Key: value` from `hubble status`", n, line)
        last = m.group("key")
        rows.append({"section": "", "key": last, "value": _norm(m.group("value"))})
        if m.group("via"):
            rows.append({"section": "", "key": f"{last} via", "value": m.group("via")})
    return frame(rows, STATUS_COLUMNS)


def _status_number(data: dict, *names: str) -> int | None:
    """A ServerStatusResponse field by its proto or JSON name; uint64 fields come as strings
    (protojson), UInt32Value wrappers as plain numbers (or ``{"value": N}``)."""
    for name in names:
        if name not in data:
            continue
        value = data[name]
        if isinstance(value, dict) and set(value) <= {"value"}:
            value = value.get("value", 0)
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise fail(f"{name} should be a number, found {value!r:.40}")
        return value
    return None


@parser("hubble status", form="json")
def hubble_status_json(output: str) -> pd.DataFrame:
    """``hubble status -o json`` (hubble CLI 0.11+): the ServerStatusResponse of the Hubble
    server or Relay, without the healthcheck line (JSON output leaves it out).

    Same ``section, key, value`` rows as :func:`hubble_status`, worded as its compact output
    is: ``Current/Max Flows`` (``8,190/8,190 (100.00%)``), ``Flows/s`` (the server's
    ``flows_rate``, else seen flows over uptime), ``Connected Nodes`` (``2/3``) and
    ``Unavailable Nodes`` with a row per listed node; plus ``Seen Flows``, ``Uptime ns`` and
    ``Version`` where present.
    """
    data = load_json(output)
    if data == []:
        return frame([], STATUS_COLUMNS)
    if not isinstance(data, dict):
        raise fail("expected one ServerStatusResponse object ({\"num_flows\": ...})")
    num = _status_number(data, "num_flows", "numFlows") or 0
    most = _status_number(data, "max_flows", "maxFlows") or 0
    seen = _status_number(data, "seen_flows", "seenFlows")
    uptime = _status_number(data, "uptime_ns", "uptimeNs")
    connected = _status_number(data, "num_connected_nodes", "numConnectedNodes")
    unavailable = _status_number(data, "num_unavailable_nodes", "numUnavailableNodes")
    rate = data.get("flows_rate", data.get("flowsRate"))
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int | float)):
        raise fail(f"flows_rate should be a number, found {rate!r:.40}")
    ratio = f" ({num / most * 100:.2f}%)" if most else ""
    rows = [{"key": "Current/Max Flows", "value": f"{num:,}/{most:,}{ratio}"}]
    if rate:
        rows.append({"key": "Flows/s", "value": f"{rate:.2f}"})
    else:
        rows.append({"key": "Flows/s", "value": f"{(seen or 0) / (uptime / 1e9):.2f}"
                     if uptime else "N/A"})
    if connected is not None:
        total = f"/{connected + unavailable}" if unavailable is not None else ""
        rows.append({"key": "Connected Nodes", "value": f"{connected}{total}"})
    if unavailable:
        rows.append({"key": "Unavailable Nodes", "value": str(unavailable)})
        nodes = data.get("unavailable_nodes", data.get("unavailableNodes")) or []
        if not isinstance(nodes, list):
            raise fail("unavailable_nodes should be a list of node names")
        rows += [{"section": "Unavailable Nodes", "key": str(node), "value": ""}
                 for node in sorted(map(str, nodes))]
    for key, value in (("Seen Flows", seen), ("Uptime ns", uptime),
                       ("Version", data.get("version"))):
        if value is not None:
            rows.append({"key": key, "value": str(value)})
    return frame([{"section": "", **r} for r in rows], STATUS_COLUMNS)
