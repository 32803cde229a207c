"""Parsers for the agent's view of endpoints and identities: ``cilium endpoint list``,
``cilium identity list`` and ``cilium ip list`` (text and ``-o json``).

These tables print one thing per row and put extra labels on continuation rows (a row whose
only cell is a label, under the LABELS column); the parsers gather them into a ``labels``
list on the row above. An output cut by grep may start with such a label row: it becomes a
row of its own with only ``labels`` set, so nothing the learner saw is lost.
"""

from __future__ import annotations

import re

import pandas as pd

from labkit.parsers._registry import parser
from labkit.parsers._text import append_continuation, fail, frame, json_array, lines

__all__ = [
    "endpoint_list",
    "endpoint_list_json",
    "identity_list",
    "identity_list_json",
    "ip_list",
    "ip_list_json",
]

# Identities Cilium reserves, by the name it prints (`reserved:host`, or `host` alone).
RESERVED_IDENTITIES = {
    "unknown": 0,
    "host": 1,
    "world": 2,
    "unmanaged": 3,
    "health": 4,
    "init": 5,
    "remote-node": 6,
    "kube-apiserver": 7,
    "ingress": 8,
    "world-ipv4": 9,
    "world-ipv6": 10,
}

# A label as the tables print it: `source:key[=value]` (or a reserved name).
_LABEL = r"[^\s:]+:\S+"
# A continuation row: nothing but a label, indented under the LABELS column.
_CONTINUATION = re.compile(rf"^\s+({_LABEL})$")


def reserved_identity(labels: list[str]) -> int | None:
    """The number of a reserved identity when its only label is ``reserved:NAME``."""
    if len(labels) == 1 and labels[0].startswith("reserved:"):
        return RESERVED_IDENTITIES.get(labels[0].split(":", 1)[1])
    return None


def fill_reserved_identities(rows: list[dict]) -> None:
    """Sets the identity of rows that print none but whose only label is a reserved one."""
    for row in rows:
        if row.get("identity") is None:
            row["identity"] = reserved_identity(row["labels"])


def split_prefix(prefix: str, number: int, line: str) -> tuple[str, int | None]:
    """``10.0.0.0/24`` -> ("10.0.0.0", 24); an address without ``/len`` keeps len None."""
    ip, slash, length = prefix.partition("/")
    if not slash:
        return ip, None
    if not length.isdigit():
        raise fail(f"prefix length {length!r} is not a number", number, line)
    return ip, int(length)


# --------------------------------------------------------------------------------------
# cilium endpoint list

_ENDPOINT_COLUMNS = {
    "endpoint_id": "int",
    "ingress_enforcement": "str",
    "egress_enforcement": "str",
    "identity": "int",
    "labels": "list",
    "ipv6": "str",
    "ipv4": "str",
    "status": "str",
}
_ENFORCEMENT = r"Disabled \(Audit\)|Disabled|Enabled|Unknown"
_ENDPOINT_ROW = re.compile(
    rf"^(?P<id>\d+)\s+(?P<ingress>{_ENFORCEMENT})\s+(?:(?P<egress>{_ENFORCEMENT})\s+)?"
    rf"(?P<identity>\d+|<no label id>)\s+(?P<label>no labels|{_LABEL})"
    r"(?P<rest>(?:\s+\S+)*)$"
)
_ENDPOINT_HEADER = re.compile(r"^ENDPOINT\s+POLICY\b")
_ENFORCEMENT_HEADER = re.compile(r"^\s+ENFORCEMENT(\s+ENFORCEMENT)?$")


def _endpoint_addresses(rest: str, number: int, line: str) -> tuple[str | None, str | None, str]:
    """The IPv6, IPv4 and STATUS cells that end an endpoint row (empty IP cells are blank)."""
    tokens = rest.replace("No address", "No-address").split()
    if not tokens or len(tokens) > 3:
        raise fail("expected the IPv6, IPv4 and STATUS cells of an endpoint row", number, line)
    status, ipv6, ipv4 = tokens[-1], None, None
    for token in tokens[:-1]:
        if token == "No-address":
            continue
        if ":" in token and ipv6 is None:
            ipv6 = token
        elif "." in token and ipv4 is None:
            ipv4 = token
        else:
            raise fail(f"{token!r} is neither an IPv6 nor an IPv4 address", number, line)
    return ipv6, ipv4, status


@parser("cilium endpoint list")
def endpoint_list(output: str) -> pd.DataFrame:
    """``cilium endpoint list``: the endpoints (pods, host, health) this agent manages.

    One row per endpoint: ``endpoint_id``, ``ingress_enforcement`` and
    ``egress_enforcement`` (``Enabled``, ``Disabled``, ``Disabled (Audit)``), ``identity``
    (the security identity number), ``labels`` (list of ``source:key=value``; the table's
    continuation rows), ``ipv6``, ``ipv4`` (None when the cell is blank) and ``status``
    (``ready``, ``not-ready``, ...). Old tables with a single ``POLICY ENFORCEMENT`` column
    (Cilium before 1.0, when policy was ingress only) fill ``ingress_enforcement`` and leave
    ``egress_enforcement`` empty.
    """
    rows: list[dict] = []
    for number, line in lines(output):
        if _ENDPOINT_HEADER.match(line) or _ENFORCEMENT_HEADER.match(line):
            continue
        m = _ENDPOINT_ROW.match(line)
        if m:
            ipv6, ipv4, status = _endpoint_addresses(m["rest"], number, line)
            identity = m["identity"]
            rows.append({
                "endpoint_id": int(m["id"]),
                "ingress_enforcement": m["ingress"],
                "egress_enforcement": m["egress"],
                "identity": int(identity) if identity.isdigit() else None,
                "labels": [] if m["label"] == "no labels" else [m["label"]],
                "ipv6": ipv6,
                "ipv4": ipv4,
                "status": status,
            })
            continue
        m = _CONTINUATION.match(line)
        if m:
            append_continuation(rows, "labels", m[1])
            continue
        raise fail("not an endpoint row, a label continuation row or the header", number, line)
    return frame(rows, _ENDPOINT_COLUMNS)


_POLICY_MODES = {
    "none": ("Disabled", "Disabled"),
    "both": ("Enabled", "Enabled"),
    "ingress": ("Enabled", "Disabled"),
    "egress": ("Disabled", "Enabled"),
    "audit-both": ("Disabled (Audit)", "Disabled (Audit)"),
    "audit-ingress": ("Disabled (Audit)", "Disabled"),
    "audit-egress": ("Disabled", "Disabled (Audit)"),
}


def _get(obj, *path):
    """obj[path[0]][path[1]]... or None when a step is missing or not an object."""
    for key in path:
        if isinstance(key, int):
            if not isinstance(obj, list) or len(obj) <= key:
                return None
        elif not isinstance(obj, dict):
            return None
        obj = obj[key] if isinstance(key, int) else obj.get(key)
    return obj


def _json_list(output: str, what: str) -> list[dict]:
    return json_array(output, f"expected a JSON array of {what} objects", dict)


def _int_or_none(value, what: str):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(f"{what} is not an integer: {value!r}")
    return value


def _str_list(value, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise fail(f"{what} is not a list of strings: {value!r}")
    return list(value)


@parser("cilium endpoint list", form="json")
def endpoint_list_json(output: str) -> pd.DataFrame:
    """``cilium endpoint list -o json``: the same endpoints from the agent's Endpoint models.

    The columns of :func:`endpoint_list` (enforcement worked out from
    ``status.policy.realized.policy-enabled`` as the text table does; labels from
    ``status.labels.security-relevant``, else ``status.identity.labels``) plus ``namespace``,
    ``pod_name``, ``interface_name`` (the host-side lxc veth), ``interface_index``, ``mac``
    (the pod's MAC) and ``node_mac`` (``host-mac``: the MAC of the host side of the veth).
    """
    rows = []
    for ep in _json_list(output, "Endpoint"):
        status = ep.get("status") or {}
        mode = _get(status, "policy", "realized", "policy-enabled")
        ingress, egress = _POLICY_MODES.get(mode, ("Unknown", "Unknown"))
        labels = _get(status, "labels", "security-relevant")
        if not labels:
            labels = _get(status, "identity", "labels")
        labels = sorted(_str_list(labels, "labels"))
        ext = status.get("external-identifiers") or {}
        namespace, pod = ext.get("k8s-namespace"), ext.get("k8s-pod-name")
        if pod is None and isinstance(ext.get("pod-name"), str) and "/" in ext["pod-name"]:
            namespace, pod = ext["pod-name"].split("/", 1)
        net = status.get("networking") or {}
        rows.append({
            "endpoint_id": _int_or_none(ep.get("id"), "id"),
            "ingress_enforcement": ingress,
            "egress_enforcement": egress,
            "identity": _int_or_none(_get(status, "identity", "id"), "identity id"),
            "labels": labels,
            "ipv6": _get(net, "addressing", 0, "ipv6") or None,
            "ipv4": _get(net, "addressing", 0, "ipv4") or None,
            "status": status.get("state"),
            "namespace": namespace,
            "pod_name": pod,
            "interface_name": net.get("interface-name"),
            "interface_index": _int_or_none(net.get("interface-index"), "interface-index"),
            "mac": net.get("mac"),
            "node_mac": net.get("host-mac"),
        })
    return frame(rows, {**_ENDPOINT_COLUMNS, "namespace": "str", "pod_name": "str",
                        "interface_name": "str", "interface_index": "int", "mac": "str",
                        "node_mac": "str"})


# --------------------------------------------------------------------------------------
# cilium identity list

_IDENTITY_COLUMNS = {"identity": "int", "labels": "list"}
_IDENTITY_ROW = re.compile(rf"^(\d+)\s+({_LABEL})$")


@parser("cilium identity list")
def identity_list(output: str) -> pd.DataFrame:
    """``cilium identity list``: the security identities the agent knows.

    One row per identity: ``identity`` (the number; 1-10 are reserved, e.g. 1 host,
    2 world, 4 health; 16777216 and up are local CIDR/FQDN identities) and ``labels`` (the
    list of ``source:key=value`` labels that define it).
    """
    rows: list[dict] = []
    for number, line in lines(output):
        if re.match(r"^ID\s+LABELS$", line):
            continue
        m = _IDENTITY_ROW.match(line)
        if m:
            rows.append({"identity": int(m[1]), "labels": [m[2]]})
            continue
        m = _CONTINUATION.match(line)
        if m:
            append_continuation(rows, "labels", m[1])
            continue
        raise fail("not an identity row (`ID  LABEL`) or a label continuation row", number, line)
    return frame(rows, _IDENTITY_COLUMNS)


@parser("cilium identity list", form="json")
def identity_list_json(output: str) -> pd.DataFrame:
    """``cilium identity list -o json``: the Identity models (``id``, ``labels``).

    Same columns as :func:`identity_list`: ``identity`` and ``labels``.
    """
    rows = [{"identity": _int_or_none(x.get("id"), "id"),
             "labels": _str_list(x.get("labels"), "labels")}
            for x in _json_list(output, "Identity")]
    return frame(rows, _IDENTITY_COLUMNS)


# --------------------------------------------------------------------------------------
# cilium ip list

_IP_COLUMNS = {
    "prefix": "str",
    "ip": "str",
    "prefix_len": "int",
    "identity": "int",
    "labels": "list",
    "source": "str",
    "host_ip": "str",
    "encrypt_key": "int",
}
_IP_ROW = re.compile(r"^(?P<prefix>[0-9A-Fa-f.:]+/\d+)\s+(?P<identity>\S+)(?P<rest>(?:\s+\S+)*)$")


def _identity_cell(cell: str) -> tuple[int | None, list[str]]:
    """An IDENTITY cell of `ip list`: a number (``-n``), a label, or a reserved name."""
    if cell.isdigit():
        return int(cell), []
    if cell in RESERVED_IDENTITIES:
        return None, [f"reserved:{cell}"]
    return None, [cell]


@parser("cilium ip list")
def ip_list(output: str) -> pd.DataFrame:
    """``cilium ip list``: the agent's userspace IP cache, prefix -> security identity.

    One row per prefix: ``prefix`` as printed, split into ``ip`` and ``prefix_len``;
    ``identity`` (the number, printed with ``-n``, or known from a reserved name) and
    ``labels`` (the identity's labels; extra labels sit on continuation rows); ``source``
    (where the mapping came from: ``k8s``, ``kvstore``, ``local``, ``generated``...; None
    when blank); with ``-v`` also ``host_ip`` (the node hosting the address) and
    ``encrypt_key``.
    """
    rows: list[dict] = []
    for number, line in lines(output):
        if re.match(r"^IP\s+IDENTITY\s+SOURCE(\s+HOST\s+ENCRYPT_KEY)?$", line):
            continue
        m = _IP_ROW.match(line)
        if m:
            ip, length = split_prefix(m["prefix"], number, line)
            identity, labels = _identity_cell(m["identity"])
            rest = m["rest"].split()
            key = int(rest.pop()) if len(rest) > 1 and rest[-1].isdigit() else None
            host = rest.pop() if rest and re.fullmatch(r"[0-9a-fA-F.:]+", rest[-1]) and (
                "." in rest[-1] or ":" in rest[-1]) else None
            if len(rest) > 1:
                raise fail("expected at most SOURCE, HOST and ENCRYPT_KEY after IDENTITY",
                           number, line)
            rows.append({"prefix": m["prefix"], "ip": ip, "prefix_len": length,
                         "identity": identity, "labels": labels,
                         "source": rest[0] if rest else None, "host_ip": host,
                         "encrypt_key": key})
            continue
        m = _CONTINUATION.match(line)
        if m:
            append_continuation(rows, "labels", m[1])
            continue
        raise fail("not an `ip list` row (prefix, identity, source) or a label row",
                   number, line)
    fill_reserved_identities(rows)
    return frame(rows, _IP_COLUMNS)


@parser("cilium ip list", form="json")
def ip_list_json(output: str) -> pd.DataFrame:
    """``cilium ip list -o json``: the IPListEntry models of the userspace IP cache.

    The columns of :func:`ip_list` (``labels`` stays empty: the JSON holds only the
    identity number) plus ``namespace`` and ``pod_name`` from the entry's ``metadata``.
    """
    rows = []
    for entry in _json_list(output, "IPListEntry"):
        prefix = entry.get("cidr")
        if not isinstance(prefix, str):
            raise fail(f"an entry without a `cidr` string: {entry!r}")
        ip, length = split_prefix(prefix, None, prefix)
        meta = entry.get("metadata") or {}
        rows.append({
            "prefix": prefix, "ip": ip, "prefix_len": length,
            "identity": _int_or_none(entry.get("identity"), "identity"), "labels": [],
            "source": meta.get("source") or None, "host_ip": entry.get("hostIP") or None,
            "encrypt_key": _int_or_none(entry.get("encryptKey"), "encryptKey"),
            "namespace": meta.get("namespace") or None, "pod_name": meta.get("name") or None,
        })
    return frame(rows, {**_IP_COLUMNS, "namespace": "str", "pod_name": "str"})
