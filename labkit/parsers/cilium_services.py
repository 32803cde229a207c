"""Parsers for Cilium's service tables: ``cilium service list|get``, ``cilium bpf lb list``
(and its ``--revnat``, ``--frontends``, ``--backends`` views) and ``cilium map get`` of the
load-balancer maps ``cilium_lb4_services_v2``, ``cilium_lb4_backends_v3`` (v2, v1),
``cilium_lb4_reverse_nat`` and ``cilium_lb4_reverse_sk``.

The strings come from Cilium's Go ``String()`` methods, which changed over the years:
``/TCP`` suffixes from 1.17, one row per backend slot (``ip:port (slot)``) from 1.16, a
``[FLAGS: ...]`` master row in 2019, no state and no service type in very old tables. Each
row is read by regular expressions, so a grep-filtered output (no header) parses as well.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import pandas as pd

from labkit.parsers._registry import parser
from labkit.parsers._text import fail, frame, json_array, lines, load_json

__all__ = [
    "service_list",
    "service_list_json",
    "bpf_lb_list",
    "bpf_lb_list_json",
    "bpf_lb_list_revnat",
    "bpf_lb_list_revnat_json",
    "bpf_lb_list_frontends",
    "bpf_lb_list_frontends_json",
    "bpf_lb_list_backends",
    "bpf_lb_list_backends_json",
    "lb4_services_map",
    "lb4_backends_map",
    "lb4_reverse_nat_map",
    "lb4_reverse_sk_map",
]

# An address with a port as Cilium prints it: 10.0.0.1:80, [fd00::1]:80, 10.0.0.1:80/TCP,
# 0.0.0.0:32179/TCP/i (the /i marks an internal-scope frontend).
_ADDR = (r"(?:\[(?P<{p}v6>[0-9A-Fa-f:.]+)\]|(?P<{p}v4>[0-9.]+)):(?P<{p}port>\d{{1,18}})"
         r"(?:/(?P<{p}proto>[A-Za-z][A-Za-z0-9]*))?(?P<{p}internal>/i)?")


def _addr(prefix: str) -> str:
    return _ADDR.format(p=prefix)


def _address(m: re.Match, prefix: str) -> dict:
    """ip, port, protocol, internal from a match of ``_addr(prefix)``."""
    proto = m.group(f"{prefix}proto")
    return {
        "ip": m.group(f"{prefix}v6") or m.group(f"{prefix}v4"),
        "port": int(m.group(f"{prefix}port")),
        "protocol": proto.upper() if proto else None,
        "internal": m.group(f"{prefix}internal") is not None,
    }


# Messages the agent prints instead of a table when there is nothing to show.
_EMPTY_MESSAGES = re.compile(r"^\s*(No entries found\.?|Cache is (empty|disabled)\.?)\s*$")

# A note someone added after a row to point at it (`<------`): not tool output.
_POINTER = re.compile(r"\s+<-{2,}\s*$")


# ---------------------------------------------------------------------------------------
# cilium service list / get

_SERVICE_COLUMNS = {
    "service_id": "int",
    "frontend_ip": "str",
    "frontend_port": "int",
    "protocol": "str",
    "service_type": "str",
    "backend_id": "int",
    "backend_ip": "str",
    "backend_port": "int",
    "backend_state": "str",
    "preferred": "bool",
}

_SERVICE_HEADER = re.compile(r"^\s*(ID\s+)?Frontend\s+(Service Type\s+)?Backend\s*$")
_BACKEND_CELL = re.compile(
    r"(?P<n>\d{1,18}) => " + _addr("b")
    + r"(?: \((?P<state>[a-z][a-z-]*)\))?(?P<pref> \(preferred\))?"
)
_SERVICE_ROW = re.compile(
    r"^(?:(?P<id>\d{1,18})\s+)?" + _addr("f")
    + r"(?:\s+(?P<type>[A-Za-z][A-Za-z0-9]*(?: \(Remote\))?))?"
    + r"(?:\s+(?P<backend>\d{1,18} => .*))?$"
)
_SERVICE_CONTINUATION = re.compile(r"^\s+(?P<backend>\d{1,18} => .*)$")


def _service_backend(cell: str | None, number: int, line: str) -> dict:
    if cell is None:
        return {}
    m = _BACKEND_CELL.fullmatch(cell.strip())
    if not m:
        raise fail("expected a backend like `1 => 10.0.0.1:80 (active)`", number, line)
    be = _address(m, "b")
    return {
        "backend_id": int(m.group("n")),
        "backend_ip": be["ip"],
        "backend_port": be["port"],
        "backend_protocol": be["protocol"],
        "backend_state": m.group("state"),
        "preferred": m.group("pref") is not None,
    }


@parser("cilium service list", "cilium service get")
def service_list(output: str) -> pd.DataFrame:
    """`cilium service list` (and `cilium service get ID`): the agent's services, one row
    per (service, backend). Columns: service_id (the ID column; missing in tables without
    one), frontend_ip, frontend_port, protocol (TCP/UDP from 1.17, empty before), service_type
    (ClusterIP, NodePort, ...; empty in very old tables), backend_id (the ``N =>`` number),
    backend_ip, backend_port, backend_state (active, terminating, quarantined, maintenance;
    empty before 1.12) and preferred. A service without backends is one row with empty
    backend columns; backend rows of a grep-filtered output have empty service columns.
    """
    rows: list[dict] = []
    service: dict = {}
    for number, line in lines(output):
        if _SERVICE_HEADER.match(line) or _EMPTY_MESSAGES.match(line):
            continue
        cont = _SERVICE_CONTINUATION.match(line)
        if cont:
            rows.append({**service, **_service_backend(cont.group("backend"), number, line)})
            continue
        m = _SERVICE_ROW.match(line.strip())
        if not m or line[0].isspace():
            raise fail("expected a service row `ID  FRONTEND  TYPE  N => BACKEND`", number, line)
        fe = _address(m, "f")
        service = {
            "service_id": m.group("id"),
            "frontend_ip": fe["ip"],
            "frontend_port": fe["port"],
            "protocol": fe["protocol"],
            "service_type": m.group("type"),
        }
        rows.append({**service, **_service_backend(m.group("backend"), number, line)})
    for row in rows:
        if row.get("protocol") is None:
            row["protocol"] = row.get("backend_protocol")
    return frame(rows, _SERVICE_COLUMNS)


@parser("cilium service list", "cilium service get", form="json")
def service_list_json(output: str) -> pd.DataFrame:
    """`cilium service list -o json` (and `service get ID -o json`): the same rows and
    columns as :func:`service_list`, plus name and namespace of the Kubernetes service.
    Read from ``status.realized`` (what the text table shows), ``spec`` when that is absent.
    """
    rows = []
    for number, svc in enumerate(json_array(output, "expected a JSON array of services"), start=1):
        if not isinstance(svc, dict):
            raise fail("expected each service to be a JSON object", number, repr(svc)[:80])
        spec = svc.get("spec") if isinstance(svc.get("spec"), dict) else {}
        status = svc.get("status") if isinstance(svc.get("status"), dict) else {}
        realized = status.get("realized") if isinstance(status.get("realized"), dict) else spec
        flags = realized.get("flags") or spec.get("flags") or {}
        fe = realized.get("frontend-address") or {}
        if not isinstance(flags, dict) or not isinstance(fe, dict):
            raise fail("expected `flags` and `frontend-address` objects", number,
                        repr(svc)[:80])
        proto = fe.get("protocol")
        service = {
            "service_id": _json_int(realized.get("id", spec.get("id")), number),
            "frontend_ip": fe.get("ip"),
            "frontend_port": _json_int(fe.get("port"), number),
            "protocol": proto.upper() if isinstance(proto, str) else None,
            "service_type": flags.get("type"),
            "name": flags.get("name"),
            "namespace": flags.get("namespace"),
        }
        backends = realized.get("backend-addresses") or []
        if not isinstance(backends, list):
            raise fail("expected `backend-addresses` to be an array", number, repr(svc)[:80])
        if not backends:
            rows.append(service)
        for i, be in enumerate(backends, start=1):
            if not isinstance(be, dict):
                raise fail("expected each backend to be a JSON object", number, repr(be)[:80])
            rows.append({
                **service,
                "backend_id": i,
                "backend_ip": be.get("ip"),
                "backend_port": _json_int(be.get("port"), number),
                "backend_state": be.get("state"),
                "preferred": bool(be.get("preferred", False)),
            })
    return frame(rows, {**_SERVICE_COLUMNS, "name": "str", "namespace": "str"})


def _json_int(value, number: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(f"expected a whole number, got {value!r}", number)
    return value


# ---------------------------------------------------------------------------------------
# cilium bpf lb list

_LB_COLUMNS = {
    "frontend_ip": "str",
    "frontend_port": "int",
    "protocol": "str",
    "internal": "bool",
    "slot": "int",
    "backend_ip": "str",
    "backend_port": "int",
    "backend_protocol": "str",
    "revnat_id": "int",
    "backend_slot": "int",
    "is_master": "bool",
    "service_type": "str",
    "flags": "str",
}

# First column: the frontend, with its slot in brackets from 1.16 on.
_LB_KEY = _addr("f") + r"(?: \((?P<slot>\d{1,18})\))?"
# Second column: a backend `ip:port[/TCP] (revnat) [(slot)]`, the master row with its
# flags in brackets, or the message for a backend the map lacks.
_LB_VALUE = re.compile(
    r"(?:" + _addr("b") + r" \((?P<revnat>\d{1,18})\)(?: \((?P<bslot>\d{1,18})\))?"
    r"(?: \[(?P<flags>[^\]]*)\](?: (?P<extra>.*\S))?)?"
    r"|(?P<missing>backend \d{1,18} not found))\s*"
)
_LB_HEADER = re.compile(r"^\s*SERVICE ADDRESS\s+BACKEND ADDRESS(\s+\(REVNAT_ID\)\s+\(SLOT\))?\s*$")
_KEYED_ROW = re.compile(
    r"^(?P<key>\S+(?: \(\d{1,18}\))?)\s{2,}(?P<value>\S.*)$|^(?P<alone>\S+(?: \(\d{1,18}\))?)$"
)

# The usual row of `cilium bpf lb list` in one expression: frontend (with its slot) and
# backend, or an indented backend under the frontend above. Any other row (text after the
# flags, a `<----` pointer, tabs) is read by _pair, _lb_frontend and _lb_backend.
_LB_ROW = re.compile(
    r"(?:" + _LB_KEY + r" {2,}| +)"
    r"(?:" + _addr("b") + r" \((?P<revnat>\d{1,18})\)(?: \((?P<bslot>\d{1,18})\))?"
    r"(?: \[(?P<flags>[^\]]*)\])?|(?P<missing>backend \d{1,18} not found))"
)
_LB_FRONTEND = ("frontend_ip", "frontend_port", "protocol", "internal", "slot")
_LB_BACKEND = ("backend_ip", "backend_port", "backend_protocol", "revnat_id", "backend_slot",
               "is_master", "service_type", "flags")


def _pairs(output: str, header: re.Pattern) -> Iterable[tuple[int, str, str | None, str]]:
    """(line number, line, key, value) for each row of a two-column Cilium table.

    Continuation rows (value only, indented) get key None: the caller keeps the last key.
    """
    for number, line in lines(output):
        pair = _pair(number, line, header)
        if pair is not None:
            yield number, line, *pair


def _pair(number: int, line: str, header: re.Pattern) -> tuple[str | None, str] | None:
    """The key (None on a continuation row) and value of one row; None for the header or
    a message."""
    if header.match(line) or _EMPTY_MESSAGES.match(line):
        return None
    text = _POINTER.sub("", line)
    if text[0].isspace():
        return None, text.strip()
    m = _KEYED_ROW.match(text)
    if not m:
        raise fail("expected a row `KEY  VALUE`", number, line)
    if m.group("alone"):
        return m.group("alone"), ""
    return m.group("key"), m.group("value").strip()


def _lb_frontend(key: str, number: int | None, line: str) -> dict:
    m = re.fullmatch(_LB_KEY, key)
    if not m:
        raise fail("expected a frontend like `10.96.0.1:443/TCP (1)`", number, line)
    fe = _address(m, "f")
    return {
        "frontend_ip": fe["ip"],
        "frontend_port": fe["port"],
        "protocol": fe["protocol"],
        "internal": fe["internal"],
        "slot": m.group("slot"),
    }


def _lb_backend(value: str, number: int | None, line: str) -> dict:
    m = _LB_VALUE.fullmatch(value)
    if not m:
        raise fail("expected a backend like `10.0.1.5:80/TCP (16) (1)` or the master row "
                   "`0.0.0.0:0 (16) [ClusterIP, non-routable]`", number, line)
    if m.group("missing"):
        return {"flags": m.group("missing")}
    be = _address(m, "b")
    flags = m.group("flags")
    if m.group("extra"):
        flags = f"{flags} {m.group('extra')}"
    is_master = be["port"] == 0 and be["ip"] in ("0.0.0.0", "::")
    service_type = None
    if is_master and m.group("flags") and not m.group("flags").startswith("FLAGS"):
        service_type = m.group("flags").split(",")[0].strip() or None
    return {
        "backend_ip": be["ip"],
        "backend_port": be["port"],
        "backend_protocol": be["protocol"],
        "revnat_id": int(m.group("revnat")),
        "backend_slot": m.group("bslot"),
        "is_master": is_master,
        "service_type": service_type,
        "flags": flags,
    }


def _lb_rows(pairs: Iterable[tuple[int | None, str, str | None, str]]) -> list[dict]:
    rows = []
    frontend: dict = {}
    for number, line, key, value in pairs:
        if key is not None:
            frontend = _lb_frontend(key, number, line)
        if not value:
            raise fail("expected a backend address after the frontend", number, line)
        rows.append({**frontend, **_lb_backend(value, number, line)})
    return rows


@parser("cilium bpf lb list")
def bpf_lb_list(output: str) -> pd.DataFrame:
    """`cilium bpf lb list`: the services as the BPF maps hold them, one row per backend slot.
    Columns: frontend_ip, frontend_port, protocol (from 1.17), internal (a ``/i`` frontend),
    slot (from 1.16: the slot in the key; empty before), backend_ip, backend_port,
    backend_protocol, revnat_id, backend_slot, is_master (the ``0.0.0.0:0`` row that holds
    the service itself), service_type (from the master row's flags), flags (the bracket text,
    e.g. ``ClusterIP, non-routable``). Reads the grouped tables of 1.0-1.16 (frontend printed
    once) and the one-row-per-slot tables of 1.16+.
    """
    rows: list[tuple] = []
    frontend: tuple = (None,) * len(_LB_FRONTEND)  # the frontend of continuation rows
    usual = _LB_ROW.fullmatch
    for number, line in lines(output):
        m = usual(line)
        if m:
            (v6, v4, port, proto, internal, slot, bv6, bv4, bport, bproto, _, revnat, bslot,
             flags, missing) = m.groups()
            if port is not None:
                frontend = (v6 or v4, int(port), proto.upper() if proto else None,
                            internal is not None, slot)
            if missing:
                rows.append((*frontend, None, None, None, None, None, None, None, missing))
                continue
            ip, port = bv6 or bv4, int(bport)
            is_master = port == 0 and ip in ("0.0.0.0", "::")
            service_type = None
            if is_master and flags and not flags.startswith("FLAGS"):
                service_type = flags.split(",")[0].strip() or None
            rows.append((*frontend, ip, port, bproto.upper() if bproto else None, int(revnat),
                         bslot, is_master, service_type, flags))
            continue
        pair = _pair(number, line, _LB_HEADER)
        if pair is None:
            continue
        key, value = pair
        if key is not None:
            fe = _lb_frontend(key, number, line)
            frontend = tuple(fe[name] for name in _LB_FRONTEND)
        if not value:
            raise fail("expected a backend address after the frontend", number, line)
        be = _lb_backend(value, number, line)
        rows.append((*frontend, *(be.get(name) for name in _LB_BACKEND)))
    return frame(rows, _LB_COLUMNS)


def _json_pairs(output: str) -> list[tuple[int, str, str, str]]:
    """The (number, text, key, value) pairs of a ``map[string][]string`` JSON output."""
    data = load_json(output)
    if isinstance(data, list) and not data:
        return []
    if not isinstance(data, dict):
        raise fail("expected a JSON object mapping each key to a list of strings")
    pairs = []
    for number, (key, values) in enumerate(data.items(), start=1):
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise fail("expected a list of strings", number, f"{key}: {values!r}"[:120])
        for value in values:
            pairs.append((number, f"{key}: {value}", key.strip(), value.strip()))
    return pairs


def _frame_of(pairs: Iterable[tuple[int | None, str, str | None, str]], row: Callable[..., dict],
              columns: dict[str, str]) -> pd.DataFrame:
    """The frame of one ``row(key, value, number, line)`` per pair of a map's dump."""
    return frame([row(key, value, n, line) for n, line, key, value in pairs], columns)


@parser("cilium bpf lb list", form="json")
def bpf_lb_list_json(output: str) -> pd.DataFrame:
    """`cilium bpf lb list -o json`: an object of frontend -> [backend strings], read with the
    same grammar as the table; the same columns as :func:`bpf_lb_list`."""
    return frame(_lb_rows(_json_pairs(output)), _LB_COLUMNS)


# --- --revnat: reverse NAT id -> frontend (also `cilium map get cilium_lb4_reverse_nat`)

_REVNAT_COLUMNS = {"revnat_id": "int", "frontend_ip": "str", "frontend_port": "int",
                   "protocol": "str"}
_REVNAT_HEADER = re.compile(r"^\s*ID\s+BACKEND ADDRESS(\s+\(REVNAT_ID\)\s+\(SLOT\))?\s*$")


def _revnat_row(key: str, value: str, number: int | None, line: str) -> dict:
    m = re.fullmatch(r"(?P<id>\d{1,18})", key or "")
    v = re.fullmatch(_addr("f"), value)
    if not m or not v:
        raise fail("expected a reverse NAT row `ID  FRONTEND_IP:PORT`", number, line)
    fe = _address(v, "f")
    return {"revnat_id": int(m.group("id")), "frontend_ip": fe["ip"],
            "frontend_port": fe["port"], "protocol": fe["protocol"]}


@parser("cilium bpf lb list", flags=("--revnat",))
def bpf_lb_list_revnat(output: str) -> pd.DataFrame:
    """`cilium bpf lb list --revnat`: the reverse NAT table, which turns a reply's backend
    address back into the service address. Columns: revnat_id, frontend_ip, frontend_port,
    protocol (empty: the map does not store it)."""
    return _frame_of(_pairs(output, _REVNAT_HEADER), _revnat_row, _REVNAT_COLUMNS)


@parser("cilium bpf lb list", flags=("--revnat",), form="json")
def bpf_lb_list_revnat_json(output: str) -> pd.DataFrame:
    """`cilium bpf lb list --revnat -o json`: same columns as :func:`bpf_lb_list_revnat`."""
    return _frame_of(_json_pairs(output), _revnat_row, _REVNAT_COLUMNS)


# --- --frontends: the services map entries (also `cilium map get cilium_lb4_services_v2`)

_FRONTEND_COLUMNS = {
    "frontend_ip": "str",
    "frontend_port": "int",
    "protocol": "str",
    "internal": "bool",
    "slot": "int",
    "is_master": "bool",
    "backend_id": "int",
    "backend_count": "int",
    "quarantined_count": "int",
    "revnat_id": "int",
    "flags": "int",
    "flags2": "int",
}
# Service value: `bid count[qcount] (revnat) [0xf 0xf2]` (1.12+), `bid count (revnat)
# [0xf 0xf2]` (~1.9-1.11), `bid (revnat) [FLAGS: 0xf]` (~1.5-1.8).
_SERVICE_VALUE = (r"(?P<bid>\d{1,18})(?: (?P<count>\d{1,18})(?:\[(?P<qcount>\d{1,18})\])?)?"
                  r" \((?P<revnat>\d{1,18})\) "
                  r"\[(?:FLAGS: )?(?P<flags>0x[0-9a-fA-F]+)(?: (?P<flags2>0x[0-9a-fA-F]+))?\]")
_FRONTENDS_HEADER = re.compile(r"^\s*SERVICE ADDRESS\s+BACKEND ID\s*$")


def _frontend_row(key: str | None, value: str, number: int | None, line: str) -> dict:
    v = re.fullmatch(_SERVICE_VALUE, value)
    if key is None or not v:
        raise fail("expected a services-map row `10.96.0.1:443/TCP (1)  5 0[0] (1) [0x0 0x0]`",
                   number, line)
    row = _lb_frontend(key, number, line)
    slot = row["slot"]
    return {
        **row,
        "is_master": None if slot is None else int(slot) == 0,
        "backend_id": int(v.group("bid")),
        "backend_count": v.group("count"),
        "quarantined_count": v.group("qcount"),
        "revnat_id": int(v.group("revnat")),
        "flags": int(v.group("flags"), 16),
        "flags2": None if v.group("flags2") is None else int(v.group("flags2"), 16),
    }


@parser("cilium bpf lb list", flags=("--frontends",))
def bpf_lb_list_frontends(output: str) -> pd.DataFrame:
    """`cilium bpf lb list --frontends`: the raw entries of the services map, one per
    (frontend, slot). Columns: frontend_ip, frontend_port, protocol, internal, slot (0 is the
    master entry of the service, 1..N its backends), is_master, backend_id (in the master
    entry Cilium reuses this field: affinity timeout / L7 proxy port), backend_count (the
    master's number of backends), quarantined_count, revnat_id, flags, flags2 (ints)."""
    return _frame_of(_pairs(output, _FRONTENDS_HEADER), _frontend_row, _FRONTEND_COLUMNS)


@parser("cilium bpf lb list", flags=("--frontends",), form="json")
def bpf_lb_list_frontends_json(output: str) -> pd.DataFrame:
    """`cilium bpf lb list --frontends -o json`: same columns as
    :func:`bpf_lb_list_frontends`."""
    return _frame_of(_json_pairs(output), _frontend_row, _FRONTEND_COLUMNS)


# --- --backends: backend id -> address (also `cilium map get cilium_lb4_backends_v3`)

_BACKEND_COLUMNS = {"backend_id": "int", "protocol": "str", "backend_ip": "str",
                    "backend_port": "int", "cluster_id": "int", "zone": "str"}
# `TCP://10.0.1.5:80` (v1/v2 maps), `TCP://10.0.1.5` (v3 in 1.16+ prints no port),
# `@N` after the address for a backend of cluster N, `[zone]` for a zone.
_BACKEND_VALUE = (r"(?P<proto>[A-Za-z][A-Za-z0-9]*)://(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|"
                  r"(?P<ip>[0-9.]+|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*))"
                  r"(?::(?P<port>\d{1,18}))?(?:@(?P<cluster>\d{1,18}))?(?:\[(?P<zone>[^\]]*)\])?")
_BACKENDS_HEADER = re.compile(r"^\s*ID\s+BACKEND ADDRESS(\s+\(REVNAT_ID\)\s+\(SLOT\))?\s*$")


def _backend_row(key: str | None, value: str, number: int | None, line: str) -> dict:
    m = re.fullmatch(r"\d{1,18}", key or "")
    v = re.fullmatch(_BACKEND_VALUE, value)
    if not m or not v:
        raise fail("expected a backends-map row `ID  TCP://10.0.1.5[:80]`", number, line)
    return {
        "backend_id": int(key),
        "protocol": v.group("proto").upper(),
        "backend_ip": v.group("v6") or v.group("ip"),
        "backend_port": v.group("port"),
        "cluster_id": v.group("cluster"),
        "zone": v.group("zone"),
    }


@parser("cilium bpf lb list", flags=("--backends",))
def bpf_lb_list_backends(output: str) -> pd.DataFrame:
    """`cilium bpf lb list --backends`: the backends map, one row per backend id. Columns:
    backend_id, protocol, backend_ip, backend_port (empty where the tool prints none: the v3
    map's string leaves the port out), cluster_id (``@N`` of a cluster-mesh backend), zone."""
    return _frame_of(_pairs(output, _BACKENDS_HEADER), _backend_row, _BACKEND_COLUMNS)


@parser("cilium bpf lb list", flags=("--backends",), form="json")
def bpf_lb_list_backends_json(output: str) -> pd.DataFrame:
    """`cilium bpf lb list --backends -o json`: same columns as :func:`bpf_lb_list_backends`."""
    return _frame_of(_json_pairs(output), _backend_row, _BACKEND_COLUMNS)


# ---------------------------------------------------------------------------------------
# cilium map get <load-balancer map>: a `Key  Value  State  Error` table of the agent's cache

_MAP_HEADER = re.compile(r"^\s*Key\s+Value\s+State\s+Error\s*$")
_MAP_EXTRA = {"state": "str", "error": "str"}


def _map_rows(output: str, key: str, value: str, build) -> list[dict]:
    """Rows of a `cilium map get` table whose keys and values match these patterns."""
    row = re.compile(r"^(?P<key>" + key + r")\s+(?P<value>" + value + r")"
                     r"(?:\s+(?P<state>\S+)(?:\s+(?P<error>\S.*))?)?\s*$")
    rows = []
    for number, line in lines(output):
        if _MAP_HEADER.match(line) or _EMPTY_MESSAGES.match(line):
            continue
        m = row.match(line.strip())
        if not m:
            raise fail("expected a map entry `KEY  VALUE  [STATE  [ERROR]]`", number, line)
        rows.append({**build(m.group("key"), m.group("value"), number, line),
                     "state": m.group("state"), "error": m.group("error")})
    return rows


_SERVICES_MAP_KEY = (r"(?:\[[0-9A-Fa-f:.]+\]|[0-9.]+):\d{1,18}"
                     r"(?:/[A-Za-z][A-Za-z0-9]*)?(?:/i)?(?: \(\d{1,18}\))?")


@parser("cilium map get cilium_lb4_services_v2", "cilium map get cilium_lb6_services_v2")
def lb4_services_map(output: str) -> pd.DataFrame:
    """`cilium map get cilium_lb4_services_v2`: the agent's copy of the services map, one row
    per (frontend, slot). Columns as :func:`bpf_lb_list_frontends` (frontend_ip ... slot,
    is_master, backend_id, backend_count, quarantined_count, revnat_id, flags, flags2), then
    state and error, the map-sync columns (often empty from 1.18)."""
    rows = _map_rows(output, _SERVICES_MAP_KEY, _SERVICE_VALUE, _frontend_row)
    return frame(rows, {**_FRONTEND_COLUMNS, **_MAP_EXTRA})


@parser("cilium map get cilium_lb4_backends_v3", "cilium map get cilium_lb4_backends_v2",
        "cilium map get cilium_lb4_backends", "cilium map get cilium_lb6_backends_v3")
def lb4_backends_map(output: str) -> pd.DataFrame:
    """`cilium map get cilium_lb4_backends_v3` (also v2 and the first backends map): the
    backends by id. Columns: backend_id, protocol, backend_ip, backend_port (empty for v3,
    whose string has no port), cluster_id, zone, then state and error."""
    rows = _map_rows(output, r"\d{1,18}", r"[A-Za-z][A-Za-z0-9]*://\S+", _backend_row)
    return frame(rows, {**_BACKEND_COLUMNS, **_MAP_EXTRA})


@parser("cilium map get cilium_lb4_reverse_nat", "cilium map get cilium_lb6_reverse_nat")
def lb4_reverse_nat_map(output: str) -> pd.DataFrame:
    """`cilium map get cilium_lb4_reverse_nat`: reverse NAT id -> the service address a reply
    is rewritten to. Columns: revnat_id, frontend_ip, frontend_port, protocol (empty: not in
    the map), state, error."""
    rows = _map_rows(output, r"\d{1,18}", r"(?:\[[0-9A-Fa-f:.]+\]|[0-9.]+):\d{1,18}", _revnat_row)
    return frame(rows, {**_REVNAT_COLUMNS, **_MAP_EXTRA})


_SOCK_COLUMNS = {"backend_ip": "str", "backend_port": "int", "socket_cookie": "int",
                 "frontend_ip": "str", "frontend_port": "int", "revnat_id": "int"}
_SOCK_PART = r"\[(?P<{p}ip>[0-9A-Fa-f:.]+)\]:(?P<{p}port>-?\d{{1,18}}), (?P<{p}n>\d{{1,18}})"


def _sock_row(key: str, value: str, number: int | None, line: str) -> dict:
    k = re.fullmatch(_SOCK_PART.format(p="k"), key)
    v = re.fullmatch(_SOCK_PART.format(p="v"), value)
    if not k or not v:
        raise fail("expected a socket reverse-NAT row `[ip]:port, cookie  [ip]:port, revnat`",
                   number, line)
    return {"backend_ip": k.group("kip"), "backend_port": int(k.group("kport")),
            "socket_cookie": int(k.group("kn")), "frontend_ip": v.group("vip"),
            "frontend_port": int(v.group("vport")), "revnat_id": int(v.group("vn"))}


@parser("cilium map get cilium_lb4_reverse_sk", "cilium map get cilium_lb6_reverse_sk")
def lb4_reverse_sk_map(output: str) -> pd.DataFrame:
    """`cilium map get cilium_lb4_reverse_sk`: socket-LB reverse NAT, (socket cookie, backend
    address it connected to) -> the service address it asked for, so getpeername() and
    recvmsg() show the service. Columns: backend_ip, backend_port, socket_cookie, frontend_ip,
    frontend_port, revnat_id, state, error. The numbers are as the tool prints them (the Go
    String() prints port and revnat as stored, in network byte order). The agent keeps no
    cache of this map, so the usual output is ``Cache is disabled`` (zero rows)."""
    part = r"\[[0-9A-Fa-f:.]+\]:-?\d{1,18}, \d{1,18}"
    rows = _map_rows(output, part, part, _sock_row)
    return frame(rows, {**_SOCK_COLUMNS, **_MAP_EXTRA})

