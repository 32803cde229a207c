"""Parsers for the agent's BPF maps: ``cilium bpf endpoint list``, ``cilium bpf ipcache
list``, ``cilium map list`` (and ``--verbose``), ``cilium map get <map>`` (generic, and
typed for ``cilium_ipcache`` and ``cilium_lxc``) and ``cilium bpf policy get``.

The ``bpf ... list`` commands dump a BPF map as ``key -> [value strings]`` (the JSON form is
exactly that object); the value strings are ``name=value`` fields whose set changed between
Cilium versions, so they are read field by field, and an unknown field raises ParseError.
"""

from __future__ import annotations

import posixpath
import re

import pandas as pd

from labkit.parsers._registry import parser
from labkit.parsers._text import append_continuation, fail, frame, lines, load_json
from labkit.parsers.cilium_endpoints import (
    RESERVED_IDENTITIES,
    fill_reserved_identities,
    split_prefix,
)

__all__ = [
    "bpf_endpoint_list",
    "bpf_endpoint_list_json",
    "bpf_ipcache_list",
    "bpf_ipcache_list_json",
    "map_list",
    "map_list_json",
    "map_list_verbose",
    "map_get",
    "map_get_json",
    "map_get_ipcache",
    "map_get_ipcache_json",
    "map_get_lxc",
    "map_get_lxc_json",
    "bpf_policy_get",
    "bpf_policy_get_json",
]

# `name=value` fields of a map value string (values end at a space; a comma may follow).
_FIELD = re.compile(r"(\w+)=(\S*?),?(?=\s|$)")


def _fields(text: str, number: int | None, line: str) -> dict[str, str]:
    """``identity=5 encryptkey=0 tunnelendpoint=0.0.0.0, flags=<none>`` -> a dict."""
    found: dict[str, str] = {}
    pos = 0
    for m in _FIELD.finditer(text):
        if text[pos:m.start()].strip():
            raise fail(f"{text[pos:m.start()].strip()!r} is not a name=value field", number,
                       line)
        found[m[1]] = m[2]
        pos = m.end()
    if text[pos:].strip():
        raise fail(f"{text[pos:].strip()!r} is not a name=value field", number, line)
    return found


def _int(text: str | None, number: int | None, line: str, base: int = 10) -> int | None:
    if text is None:
        return None
    try:
        return int(text, base)
    except ValueError:
        raise fail(f"{text!r} is not a number", number, line) from None


def _json_map_entries(output: str) -> list[tuple[str, str]]:
    """(key, value) for each value of the ``map[string][]string`` that ``cilium bpf ... list
    -o json`` prints."""
    data = load_json(output)
    if data == []:
        return []
    ok = isinstance(data, dict) and all(
        isinstance(v, list) and all(isinstance(s, str) for s in v) for v in data.values())
    if not ok:
        raise fail("expected a JSON object of key -> list of strings (a dumped BPF map)")
    return [(key, value) for key, values in data.items() for value in values]


# --------------------------------------------------------------------------------------
# Local endpoints (cilium_lxc): cilium bpf endpoint list, cilium map get cilium_lxc

_LXC_COLUMNS = {
    "ip": "str",
    "endpoint_id": "int",
    "identity": "int",
    "flags": "int",
    "ifindex": "int",
    "mac": "str",
    "node_mac": "str",
    "parent_ifindex": "int",
    "is_host": "bool",
}
_LXC_VALUE = r"\(localhost\)|id=\S*(?:\s+\w+=\S*)*"


def _lxc_key(key: str, suffixed: bool, number: int | None, line: str) -> str:
    """The address of a cilium_lxc key: ``10.0.0.1:0``, ``[f00d::1]:0``, ``fd00::1:0``;
    very old outputs print the bare address (``suffixed`` False)."""
    if key.startswith("["):
        host, _, rest = key[1:].partition("]")
        if not re.fullmatch(r":\d+", rest):
            raise fail(f"{key!r} is not an [address]:key endpoint key", number, line)
        return host
    if suffixed or ("." in key and ":" in key):
        host, colon, rest = key.rpartition(":")
        if not colon or not rest.isdigit():
            raise fail(f"{key!r} does not end in :<key> as endpoint keys do", number, line)
        key = host
    address = key.split("@", 1)[0]
    if not re.fullmatch(r"[0-9a-fA-F.:]+", address):
        raise fail(f"{key!r} is not an endpoint address", number, line)
    return address


def _lxc_value(value: str, number: int | None, line: str) -> dict:
    """``id=3393 sec_id=6608 flags=0x0000 ifindex=39 mac=.. nodemac=.. parent_ifindex=0``."""
    if value == "(localhost)":
        return {"is_host": True}
    f = _fields(value, number, line)
    known = {"id", "sec_id", "flags", "ifindex", "mac", "nodemac", "parent_ifindex",
             "seclabel", "portMaps"}
    unknown = set(f) - known
    if unknown:
        raise fail(f"unknown endpoint field(s) {sorted(unknown)}", number, line)
    if f.get("portMaps", "(empty)") != "(empty)":
        raise fail("port maps (Cilium 1.0) are not supported", number, line)
    identity = _int(f.get("sec_id"), number, line)
    if identity is None and "seclabel" in f:  # Cilium 1.0: the identity in hex
        identity = _int(f["seclabel"], number, line, 16)
    return {
        "endpoint_id": _int(f.get("id"), number, line),
        "identity": identity,
        "flags": _int(f.get("flags"), number, line, 16),
        "ifindex": _int(f.get("ifindex"), number, line),
        "mac": f.get("mac"),
        "node_mac": f.get("nodemac"),
        "parent_ifindex": _int(f.get("parent_ifindex"), number, line),
        "is_host": False,
    }


def _lxc_suffixed(output: str) -> bool:
    """Whether keys end in ``:<key>`` (all but the oldest, ``IP address`` era, outputs)."""
    if re.search(r"^IP address\s+Local endpoint info", output, re.M) or "seclabel=" in output:
        return False
    return not re.search(r"^\d+\.\d+\.\d+\.\d+\s", output, re.M)


@parser("cilium bpf endpoint list")
def bpf_endpoint_list(output: str) -> pd.DataFrame:
    """``cilium bpf endpoint list``: the cilium_lxc map, the node's local endpoints.

    One row per address: ``ip``, ``endpoint_id`` (the endpoint's ID in ``endpoint list``),
    ``identity`` (``sec_id``), ``flags`` (int), ``ifindex`` (the host-side lxc veth),
    ``mac`` (the pod's MAC), ``node_mac`` (the MAC of the host side of the veth, the one
    the pod's gateway answers ARP with), ``parent_ifindex`` (newer Cilium) and ``is_host``
    (the ``(localhost)`` rows: the node's own addresses, other columns empty).
    """
    suffixed = _lxc_suffixed(output)
    rows = []
    for number, line in lines(output):
        if re.match(r"^IP ADDRESS\s+LOCAL ENDPOINT INFO$", line, re.I):
            continue
        m = re.match(rf"^(\S+)\s+({_LXC_VALUE})$", line)
        if not m:
            raise fail("not an `address  endpoint info` row", number, line)
        rows.append({"ip": _lxc_key(m[1], suffixed, number, line),
                     **_lxc_value(m[2], number, line)})
    return frame(rows, _LXC_COLUMNS)


@parser("cilium bpf endpoint list", form="json")
def bpf_endpoint_list_json(output: str) -> pd.DataFrame:
    """``cilium bpf endpoint list -o json``: the same map as an object of key -> [value].

    Same columns as :func:`bpf_endpoint_list`.
    """
    rows = [{"ip": _lxc_key(key, True, None, key), **_lxc_value(value.strip(), None, value)}
            for key, value in _json_map_entries(output)]
    return frame(rows, _LXC_COLUMNS)


# --------------------------------------------------------------------------------------
# The ipcache (cilium_ipcache[_v2]): cilium bpf ipcache list, cilium map get cilium_ipcache

_IPCACHE_COLUMNS = {
    "prefix": "str",
    "ip": "str",
    "prefix_len": "int",
    "cluster_id": "int",
    "identity": "int",
    "encrypt_key": "int",
    "tunnel_endpoint": "str",
    "node_id": "int",
    "flags": "str",
    "vtep_mac": "str",
}
_IPCACHE_VALUE = r"identity=\S*(?:\s+\w+=\S*)*"
# The usual row in one expression: `prefix[@cluster]  identity=N encryptkey=N
# tunnelendpoint=IP[,] [nodeid=N] [flags=F[,]] [vtepmac=M[,]]`, or such a value alone, indented,
# for the key above. Any other row is read field by field (_ipcache_key, _ipcache_value).
_WORD = r"([^\s,]+(?:,[^\s,]+)*),?"  # a value as _FIELD reads it: one trailing comma dropped
_IPCACHE_ROW = re.compile(
    r"(?:(([0-9a-fA-F.:]+)(?:/([0-9]+))?)(?:@([0-9]+))? +| +)identity=([0-9]+) "
    r"encryptkey=([0-9]+) tunnelendpoint=" + _WORD + r"(?: nodeid=([0-9]+))?"
    r"(?: flags=" + _WORD + r")?(?: vtepmac=" + _WORD + r")?"
)
_NO_ENTRIES = (
    "No entries found.",
    "Note that for Linux kernel versions between 4.11 and 4.15 inclusive, the native",
    "LPM map type used for implementing the IPCache does not provide the ability to",
    "LPM map type used for implementing this feature does not provide the ability to",
    "walk / dump the entries, so on these kernel versions this tool will never",
    "return any entries, even if entries exist in the map. You may instead run:",
    "cilium map get cilium_ipcache",
)


def _ipcache_key(key: str, number: int | None, line: str) -> dict:
    """``10.0.0.0/24`` or ``10.0.0.1/32@3`` (cluster 3) -> prefix, ip, len, cluster."""
    prefix, _, cluster = key.partition("@")
    if not re.fullmatch(r"[0-9a-fA-F.:]+(/\d+)?", prefix):
        raise fail(f"{key!r} is not an IP prefix", number, line)
    if cluster and not cluster.isdigit():
        raise fail(f"{key!r}: cluster ID {cluster!r} is not a number", number, line)
    ip, length = split_prefix(prefix, number, line)
    return {"prefix": prefix, "ip": ip, "prefix_len": length,
            "cluster_id": int(cluster) if cluster else None}


def _ipcache_value(value: str, number: int | None, line: str) -> dict:
    """``identity=N encryptkey=K tunnelendpoint=IP[,] [nodeid=N] [flags=F] [vtepmac=M]``."""
    if value.isdigit():  # the oldest ipcache printed the identity alone
        return {"identity": int(value)}
    f = _fields(value, number, line)
    unknown = set(f) - {"identity", "encryptkey", "tunnelendpoint", "nodeid", "flags",
                        "vtepmac"}
    if unknown or "identity" not in f:
        raise fail(f"not an ipcache value (unknown fields {sorted(unknown)})", number, line)
    return {
        "identity": _int(f["identity"], number, line),
        "encrypt_key": _int(f.get("encryptkey"), number, line),
        "tunnel_endpoint": f.get("tunnelendpoint"),
        "node_id": _int(f.get("nodeid"), number, line),
        "flags": f.get("flags"),
        "vtep_mac": f.get("vtepmac"),
    }


@parser("cilium bpf ipcache list")
def bpf_ipcache_list(output: str) -> pd.DataFrame:
    """``cilium bpf ipcache list``: the datapath's ipcache, prefix -> identity and node.

    One row per prefix: ``prefix`` as printed, ``ip``, ``prefix_len``, ``cluster_id``
    (clustermesh keys ``prefix@N``), ``identity``, ``encrypt_key`` (IPsec key index, 0 =
    none), ``tunnel_endpoint`` (the node to tunnel to; ``0.0.0.0`` for local or direct
    routing), ``node_id`` (1.13-1.14), ``flags`` (1.16+, e.g. ``<none>``, ``hastunnel``) and
    ``vtep_mac``; columns a version does not print stay empty. ``No entries found.`` gives
    no rows.
    """
    rows: list[tuple] = []
    usual = _IPCACHE_ROW.fullmatch
    for number, line in lines(output):
        u = usual(line)
        if u and (u[1] is not None or rows):
            (prefix, ip, length, cluster, identity, key, tunnel, node, flags, mac) = u.groups()
            if prefix is None:  # a second value for the key above
                prefix, ip, length, cluster = rows[-1][:4]
            else:
                length = length and int(length)
                cluster = cluster and int(cluster)
            rows.append((prefix, ip, length, cluster, int(identity), int(key), tunnel,
                         node and int(node), flags, mac))
            continue
        if re.match(r"^IP PREFIX/ADDRESS\s+IDENTITY$", line) or line.strip() in _NO_ENTRIES:
            continue
        m = re.match(rf"^(\S+)\s+({_IPCACHE_VALUE}|\d+)$", line)
        if m:
            row = {**_ipcache_key(m[1], number, line), **_ipcache_value(m[2], number, line)}
            rows.append(tuple(map(row.get, _IPCACHE_COLUMNS)))
            continue
        m = re.match(rf"^\s+({_IPCACHE_VALUE})$", line)
        if m and rows:  # a second value for the key above
            row = _ipcache_value(m[1], number, line)
            rows.append((*rows[-1][:4], *map(row.get, list(_IPCACHE_COLUMNS)[4:])))
            continue
        raise fail("not an ipcache row (`prefix  identity=... encryptkey=...`)", number, line)
    return frame(rows, _IPCACHE_COLUMNS)


@parser("cilium bpf ipcache list", form="json")
def bpf_ipcache_list_json(output: str) -> pd.DataFrame:
    """``cilium bpf ipcache list -o json``: the same map as an object of prefix -> [value].

    Same columns as :func:`bpf_ipcache_list`.
    """
    rows = [{**_ipcache_key(key, None, key), **_ipcache_value(value.strip(), None, value)}
            for key, value in _json_map_entries(output)]
    return frame(rows, _IPCACHE_COLUMNS)


# --------------------------------------------------------------------------------------
# cilium map list / map get: the agent's userspace cache of its maps

_MAP_LIST_COLUMNS = {"name": "str", "entries": "int", "errors": "int", "cache_enabled": "bool"}


@parser("cilium map list")
def map_list(output: str) -> pd.DataFrame:
    """``cilium map list``: the BPF maps the agent has open, with its cache of each.

    One row per map: ``name`` (e.g. ``cilium_lxc``, ``cilium_policy_v2_01061`` for endpoint
    1061's policy), ``entries`` and ``errors`` (entries in the agent's cache, and those whose
    last write failed) and ``cache_enabled``.
    """
    rows = []
    for number, line in lines(output):
        if re.match(r"^Name\s+Num entries\s+Num errors\s+Cache enabled$", line):
            continue
        m = re.match(r"^(\S+)\s+(\d+)\s+(\d+)\s+(true|false)$", line)
        if not m:
            raise fail("not a `name  entries  errors  true|false` map row", number, line)
        rows.append({"name": m[1], "entries": int(m[2]), "errors": int(m[3]),
                     "cache_enabled": m[4] == "true"})
    return frame(rows, _MAP_LIST_COLUMNS)


def _json_maps(output: str) -> list[dict]:
    """The BPFMap objects of ``map list -o json`` (``{"maps": [...]}``) or ``map get``."""
    data = load_json(output)
    maps = data.get("maps") if isinstance(data, dict) and "maps" in data else [data]
    if not isinstance(maps, list) or not all(
            isinstance(m, dict) and isinstance(m.get("cache", []), list | None) for m in maps):
        raise fail("expected BPFMap objects ({\"path\": ..., \"cache\": [...]})")
    return maps


@parser("cilium map list", form="json")
def map_list_json(output: str) -> pd.DataFrame:
    """``cilium map list -o json``: the BPFMapList model, counted like the text table.

    Same columns as :func:`map_list` (``name`` is the last part of the map's ``path``).
    """
    rows = []
    for m in _json_maps(output):
        cache = [e for e in (m.get("cache") or []) if isinstance(e, dict)]
        rows.append({"name": posixpath.basename(str(m.get("path", ""))),
                     "entries": len(cache),
                     "errors": sum(1 for e in cache if e.get("last-error")),
                     "cache_enabled": m.get("cache") is not None})
    return frame(rows, _MAP_LIST_COLUMNS)


_ENTRY_COLUMNS = {"key": "str", "value": "str", "state": "str", "error": "str"}
# The cache's desired action, printed in the State column.
_STATES = {"ok", "sync", "insert", "delete", "to-be-inserted", "to-be-deleted"}
_CACHE_MESSAGES = ("Cache is disabled", "Cache is empty")
_ENTRY_HEADER = re.compile(r"^Key\s+Value\s+State\s+Error$")


def _not_an_entry(line: str) -> bool:
    """Whether a line of a ``Key  Value  State  Error`` table is its header or the cache's
    message in place of entries."""
    return _ENTRY_HEADER.match(line) is not None or line.strip() in _CACHE_MESSAGES


def _entry(line: str, number: int) -> dict:
    """A ``Key  Value  State  Error`` row: cells are at least three spaces apart; a key or
    value may hold single spaces (``10.96.0.1:443/TCP (1)``)."""
    parts = re.split(r"\s{3,}", line.strip())
    if len(parts) < 2:
        raise fail("not a `key   value   [state]   [error]` map entry row", number, line)
    key, rest = parts[0], parts[1:]
    state = error = None
    if rest[-1] in _STATES and len(rest) > 1:
        state = rest.pop()
    elif len(rest) > 2 and rest[-2] in _STATES:
        error, state = rest.pop(), rest.pop()
    value = line.strip()[len(key):].strip()
    for cell in (error, state):
        if cell is not None:
            value = value[: value.rfind(cell)].strip()
    return {"key": key, "value": value, "state": state, "error": error}


def _entries(output: str, typed=None) -> list[dict]:
    rows = []
    for number, line in lines(output):
        if _not_an_entry(line):
            continue
        row = _entry(line, number)
        rows.append(typed(row, number, line) if typed else row)
    return rows


@parser("cilium map list", flags=("--verbose",))
def map_list_verbose(output: str) -> pd.DataFrame:
    """``cilium map list --verbose``: every map's cached entries, map after map.

    One row per entry: ``map`` (from the ``## Map: NAME`` line), ``key``, ``value``,
    ``state`` (the cache's desired action, e.g. ``sync``) and ``error`` (the last error);
    maps whose cache is empty or disabled give no rows.
    """
    rows: list[dict] = []
    name = None
    for number, line in lines(output):
        m = re.match(r"^## Map: (\S+)$", line)
        if m:
            name = m[1]
        elif not _not_an_entry(line):
            rows.append({"map": name, **_entry(line, number)})
    return frame(rows, {"map": "str", **_ENTRY_COLUMNS})


@parser("cilium map get")
def map_get(output: str) -> pd.DataFrame:
    """``cilium map get <map>``: the agent's cached entries of one BPF map, as text.

    One row per entry: ``key`` and ``value`` as the map's own formatter prints them,
    ``state`` (desired action, e.g. ``sync``) and ``error``. ``cilium_ipcache`` and
    ``cilium_lxc`` have typed parsers of their own (:func:`map_get_ipcache`,
    :func:`map_get_lxc`).
    """
    return frame(_entries(output), _ENTRY_COLUMNS)


def _json_entries(output: str) -> list[dict]:
    rows = []
    for m in _json_maps(output):
        for e in m.get("cache") or []:
            if not isinstance(e, dict):
                raise fail(f"a cache entry that is not an object: {e!r}")
            rows.append({"key": e.get("key"), "value": e.get("value"),
                         "state": e.get("desired-action") or None,
                         "error": e.get("last-error") or None})
    return rows


@parser("cilium map get", form="json")
def map_get_json(output: str) -> pd.DataFrame:
    """``cilium map get <map> -o json``: the BPFMap model's ``cache`` entries.

    Same columns as :func:`map_get` (``desired-action`` -> ``state``, ``last-error`` ->
    ``error``).
    """
    return frame(_json_entries(output), _ENTRY_COLUMNS)


def _typed_ipcache(row: dict, number: int | None, line: str) -> dict:
    return {**_ipcache_key(row["key"], number, line),
            **_ipcache_value(row["value"] or "", number, line),
            "state": row["state"], "error": row["error"]}


def _typed_lxc(row: dict, number: int | None, line: str) -> dict:
    value = re.sub(r"\s+", " ", row["value"] or "")
    return {"ip": _lxc_key(row["key"], True, number, line),
            **_lxc_value(value, number, line), "state": row["state"], "error": row["error"]}


_STATE_COLUMNS = {"state": "str", "error": "str"}


@parser("cilium map get cilium_ipcache", "cilium map get cilium_ipcache_v2")
def map_get_ipcache(output: str) -> pd.DataFrame:
    """``cilium map get cilium_ipcache``: the agent's cached ipcache entries.

    The columns of :func:`bpf_ipcache_list` (``prefix``, ``ip``, ``prefix_len``,
    ``identity``, ``encrypt_key``, ``tunnel_endpoint``, ...) plus ``state`` and ``error``.
    """
    return frame(_entries(output, _typed_ipcache), {**_IPCACHE_COLUMNS, **_STATE_COLUMNS})


@parser("cilium map get cilium_ipcache", "cilium map get cilium_ipcache_v2", form="json")
def map_get_ipcache_json(output: str) -> pd.DataFrame:
    """``cilium map get cilium_ipcache -o json``: same columns as :func:`map_get_ipcache`."""
    rows = [_typed_ipcache(r, None, str(r["key"])) for r in _json_entries(output)]
    return frame(rows, {**_IPCACHE_COLUMNS, **_STATE_COLUMNS})


@parser("cilium map get cilium_lxc")
def map_get_lxc(output: str) -> pd.DataFrame:
    """``cilium map get cilium_lxc``: the agent's cached local-endpoint entries.

    The columns of :func:`bpf_endpoint_list` (``ip``, ``endpoint_id``, ``identity``,
    ``ifindex``, ``mac``, ``node_mac``, ...) plus ``state`` and ``error``.
    """
    return frame(_entries(output, _typed_lxc), {**_LXC_COLUMNS, **_STATE_COLUMNS})


@parser("cilium map get cilium_lxc", form="json")
def map_get_lxc_json(output: str) -> pd.DataFrame:
    """``cilium map get cilium_lxc -o json``: same columns as :func:`map_get_lxc`."""
    rows = [_typed_lxc(r, None, str(r["key"])) for r in _json_entries(output)]
    return frame(rows, {**_LXC_COLUMNS, **_STATE_COLUMNS})


# --------------------------------------------------------------------------------------
# cilium bpf policy get <id> | --all [-n]

_POLICY_COLUMNS = {
    "endpoint_id": "int",
    "policy": "str",
    "direction": "str",
    "identity": "int",
    "labels": "list",
    "port": "int",
    "port_end": "int",
    "protocol": "str",
    "proxy_port": "int",
    "auth_type": "str",
    "bytes": "int",
    "packets": "int",
    "prefix": "int",
    "cookie": "int",
}
_POLICY_HEADER = re.compile(r"^(POLICY\s+)?DIRECTION\s+(LABELS|IDENTITY)\b")
_POLICY_ROW = re.compile(
    r"^(?:(?P<policy>Allow|Deny)\s+)?(?P<direction>Ingress|Egress)\s+(?P<who>\S+)\s+"
    r"(?P<port>ANY|(?:ANY|\d+(?:-\d+)?)/\S+)(?P<rest>(?:\s+\S+)+)$"
)
_POLICY_MESSAGES = ("Policy stats empty. Perhaps the policy enforcement is disabled?",
                    "no maps found")


def _policy_numbers(rest: list[str], number: int, line: str) -> dict:
    """PROXY PORT, AUTH TYPE, BYTES, PACKETS, PREFIX, COOKIE: which are there depends on
    the version; the auth type (a word) marks the modern layout."""
    def num(cell: str) -> int | None:
        if cell in ("-", "NONE"):
            return None
        if not cell.isdigit():
            raise fail(f"{cell!r} is not a number", number, line)
        return int(cell)

    auth = next((i for i, c in enumerate(rest) if c not in ("NONE", "-")
                 and not c.isdigit()), None)
    if auth is not None:
        before, after = rest[:auth], rest[auth + 1:]
        if len(before) != 1 or not 2 <= len(after) <= 4:
            raise fail("expected PROXY PORT, AUTH TYPE, BYTES, PACKETS[, PREFIX[, COOKIE]]",
                       number, line)
        after += [None] * (4 - len(after))
        return {"proxy_port": num(before[0]), "auth_type": rest[auth],
                "bytes": num(after[0]), "packets": num(after[1]),
                "prefix": None if after[2] is None else num(after[2]),
                "cookie": None if after[3] is None else num(after[3])}
    if len(rest) == 2:  # Cilium 1.0: no proxy port
        return {"bytes": num(rest[0]), "packets": num(rest[1])}
    if len(rest) == 3:
        return {"proxy_port": num(rest[0]), "bytes": num(rest[1]), "packets": num(rest[2])}
    raise fail("expected [PROXY PORT] BYTES PACKETS after PORT/PROTO", number, line)


def _policy_row(m: re.Match, endpoint: int | None, number: int, line: str) -> dict:
    who = m["who"]
    if who.isdigit():
        identity, labels = int(who), []
    elif who == "ANY":  # newer Cilium prints reserved:unknown (identity 0) as ANY
        identity, labels = 0, ["reserved:unknown"]
    else:
        identity, labels = None, [who]
    port = port_end = protocol = None
    if m["port"] != "ANY":
        ports, protocol = m["port"].split("/", 1)
        if ports != "ANY":
            first, _, last = ports.partition("-")
            port = int(first)
            port_end = int(last) if last else None
    return {"endpoint_id": endpoint, "policy": m["policy"], "direction": m["direction"],
            "identity": identity, "labels": labels, "port": port, "port_end": port_end,
            "protocol": protocol,
            **_policy_numbers(m["rest"].split(), number, line)}


@parser("cilium bpf policy get")
def bpf_policy_get(output: str) -> pd.DataFrame:
    """``cilium bpf policy get <id>`` / ``--all`` / ``-n``: endpoints' BPF policy maps.

    One row per policy entry: ``endpoint_id`` (from the ``Endpoint ID:``/``Path:`` lines,
    or the ``.../cilium_policy_NNNNN:`` line of older ``--all`` output; empty for a single
    map), ``policy`` (``Allow``/``Deny``, Cilium 1.11+), ``direction`` (``Ingress``/
    ``Egress``), ``identity`` (the peer identity; printed with ``-n``, else known only for
    reserved labels), ``labels`` (the peer identity's labels, continuation rows included),
    ``port``, ``port_end`` (port ranges), ``protocol`` (None = any), ``proxy_port`` (the L7
    proxy, None = no redirect), ``auth_type``, ``bytes``, ``packets``, ``prefix`` and
    ``cookie`` (columns a version lacks stay empty). The ``Policy stats empty`` message
    gives no rows.
    """
    rows: list[dict] = []
    endpoint = None
    for number, line in lines(output):
        if _POLICY_HEADER.match(line) or line.strip() in _POLICY_MESSAGES:
            continue
        m = re.match(r"^(?:Endpoint ID: (\d+)|(?:Path: )?\S*cilium_policy_(?:v\d+_)?(\d+):?)$",
                     line)
        if m:
            endpoint = int(m[1] or m[2])
            continue
        m = _POLICY_ROW.match(line)
        if m:
            rows.append(_policy_row(m, endpoint, number, line))
            continue
        m = re.match(r"^\s+(\S+:\S+|\d+)$", line)
        if m:
            append_continuation(rows, "labels", m[1], endpoint_id=endpoint)
            continue
        raise fail("not a policy entry row, a label continuation row or a map header",
                   number, line)
    fill_reserved_identities(rows)
    return frame(rows, _POLICY_COLUMNS)


# Protocol numbers as cilium-dbg names them (u8proto), auth types as policy.AuthType names them.
_PROTOCOLS = {1: "ICMP", 6: "TCP", 17: "UDP", 58: "ICMPv6", 132: "SCTP"}
_AUTH_TYPES = {0: "disabled", 1: "spire", 2: "test-always-fail"}
_RESERVED_LABELS = {number: f"reserved:{name}" for name, number in RESERVED_IDENTITIES.items()}
_STATIC_PREFIX_BITS = 40  # PolicyKey bits before protocol and port in the LPM key
_STAT_NOT_AVAILABLE = 2**64 - 1


def _network_order(value: int) -> int:
    """A 16-bit number stored in network byte order, as the host reads it (80 -> 20480)."""
    return ((value & 0xFF) << 8) | (value >> 8 & 0xFF)


def _policy_json_row(entry: object, endpoint: int | None) -> dict:
    """One PolicyEntryDump: the value's fields at top level, the PolicyKey in ``Key``."""
    key = entry.get("Key") if isinstance(entry, dict) else None
    if not isinstance(key, dict):
        raise fail(f"expected a policy map entry with a \"Key\" object, found {entry!r:.60}")

    def num(where: dict, *names: str) -> int | None:
        for name in names:
            value = where.get(name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise fail(f"{name} should be a number, found {value!r:.40}")
            return value
        return None

    identity = num(key, "Identity")
    protocol_number = num(key, "Nexthdr") or 0
    port = _network_order(num(key, "DestPortNetwork", "DestPort") or 0)
    lpm = num(key, "Prefixlen")
    prefix = lpm - _STATIC_PREFIX_BITS if lpm else None
    port_end = None
    if prefix is not None and 8 < prefix < 24:  # a port range: the low bits are wildcards
        port_end = port + (0xFFFF >> (prefix - 8))
    elif prefix is not None and prefix <= 8:
        port = 0
    flags = num(entry, "Flags") or 0
    if "Deny" in entry:  # Cilium 1.9-1.12 kept the deny bit in its own field
        flags |= 1 if entry["Deny"] else 0
    proxy = _network_order(num(entry, "ProxyPortNetwork", "ProxyPort") or 0)
    auth = num(entry, "AuthRequirement", "AuthType")
    stats = {name: num(entry, title) for name, title in (("bytes", "Bytes"),
                                                          ("packets", "Packets"))}
    return {
        "endpoint_id": endpoint,
        "policy": "Deny" if flags & 1 else "Allow",
        "direction": {0: "Ingress", 1: "Egress"}.get(num(key, "TrafficDirection") or 0),
        "identity": identity,
        "labels": [_RESERVED_LABELS[identity]] if identity in _RESERVED_LABELS else [],
        "port": port or None,
        "port_end": port_end,
        "protocol": _PROTOCOLS.get(protocol_number, str(protocol_number))
        if protocol_number else None,
        "proxy_port": proxy or None,
        "auth_type": None if auth is None else _AUTH_TYPES.get(
            auth & 0x7F, f"Unknown-auth-type-{auth & 0x7F}"),
        **{k: None if v == _STAT_NOT_AVAILABLE else v for k, v in stats.items()},
        "prefix": prefix,
        "cookie": num(entry, "Cookie"),
    }


@parser("cilium bpf policy get", form="json")
def bpf_policy_get_json(output: str) -> pd.DataFrame:
    """``cilium bpf policy get <id> -o json`` / ``--all -o json``: raw policy map entries.

    cilium-dbg marshals the Go structs as they sit in the BPF map (PolicyEntryDump: value
    fields, and the PolicyKey under ``Key``); ``--all`` wraps each map as ``{"EndpointID",
    "Path", "Content": [...]}`` (1.14+). Ports are stored in network byte order (port 80
    reads 20480), so ``port`` and ``proxy_port`` are converted to the numbers the text
    table prints. Same columns as :func:`bpf_policy_get`: ``identity`` is always the
    number (the JSON has no labels; ``labels`` holds ``reserved:NAME`` for reserved
    identities, else is empty), ``prefix`` is the protocol+port prefix length (LPM policy
    maps, 1.16+), ``port_end`` the end of a port range, ``auth_type`` the auth type's name;
    ``bytes``/``packets`` are empty where the map has no statistics.
    """
    data = load_json(output)
    items = data if isinstance(data, list) else [data]
    rows = []
    for item in items:
        if isinstance(item, dict) and "Content" in item:
            endpoint = str(item.get("EndpointID", "")).lstrip("0")
            if endpoint and not endpoint.isdigit():
                raise fail(f"EndpointID {item.get('EndpointID')!r} is not a number")
            content = item["Content"] or []
            if not isinstance(content, list):
                raise fail("expected \"Content\" to be a list of policy map entries")
            rows += [_policy_json_row(e, int(endpoint) if endpoint else None)
                     for e in content]
        else:
            rows.append(_policy_json_row(item, None))
    return frame(rows, _POLICY_COLUMNS)
