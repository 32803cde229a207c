"""Parsers for Cilium's connection tracking and NAT tables: ``cilium bpf ct list global``
(or an endpoint id on Cilium 1.0), ``cilium bpf nat list`` and ``cilium bpf ipmasq list``.

A CT or NAT line is a tuple ``PROTO DIR SRC -> DST`` followed by ``Key=Value`` fields whose
names changed over the years (``rx_packets=`` in 1.0, ``RxPackets=`` later, one ``Packets=``
and a ``BackendID=`` in 1.17+). Known fields become typed columns; any other ``Key=Value``
is kept in the ``extra`` dict column, so a new field does not break the parser, while a
line that is not an entry at all raises :class:`labkit.ParseError`.
"""

from __future__ import annotations

import ipaddress
import re

import pandas as pd

from labkit.parsers._registry import parser
from labkit.parsers._text import fail, frame, lines, load_json

__all__ = ["bpf_ct_list", "bpf_ct_list_json", "bpf_nat_list", "bpf_nat_list_json",
           "bpf_ipmasq_list"]

_EMPTY_MESSAGES = re.compile(r"^\s*No entries found\.?\s*$")

# `TCP OUT 10.0.0.1:1234 -> 10.0.0.2:80` ; IPv6 in brackets (old) or bare with the port
# after the last colon (1.17+); ICMP entries of 1.0 add the word `related`.
_TUPLE = re.compile(
    r"^(?P<proto>[A-Za-z][A-Za-z0-9]*) (?P<dir>[A-Z]+) (?P<src>\S+) -> (?P<dst>\S+)"
    r"(?P<related> related)?(?=\s|$)"
)
_FIELD = re.compile(r"\s+(?P<key>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>\S+)")
_FLAG_NAMES = re.compile(r"\s+\[(?P<names>[^\]]*)\]")


def _endpoint(text: str) -> tuple[str, int] | None:
    """``10.0.0.1:80`` / ``[f00d::1]:80`` / ``2a00::1:80`` -> (ip, port); None if no port."""
    m = re.fullmatch(r"\[(?P<ip>[0-9A-Fa-f:.]+)\]:(?P<port>\d{1,18})", text) or re.fullmatch(
        r"(?P<ip>[0-9.]+|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*):(?P<port>\d{1,18})", text)
    if not m:
        return None
    return m.group("ip"), int(m.group("port"))


# The columns of the tuple that keys an entry of both maps, as :func:`_tuple` reads it.
_TUPLE_COLUMNS = {
    "protocol": "str",
    "direction": "str",
    "src_ip": "str",
    "src_port": "int",
    "dst_ip": "str",
    "dst_port": "int",
}


def _tuple(line: str, number: int, what: str) -> tuple[dict, str]:
    """The tuple columns of a CT/NAT line and the rest of the line after it."""
    m = _TUPLE.match(line.strip())
    src = _endpoint(m.group("src")) if m else None
    dst = _endpoint(m.group("dst")) if m else None
    if not m or src is None or dst is None:
        raise fail(f"expected a {what} entry `PROTO DIR SRC_IP:PORT -> DST_IP:PORT ...`",
                   number, line)
    row = {
        "protocol": m.group("proto").upper(),
        "direction": m.group("dir"),
        "src_ip": src[0],
        "src_port": src[1],
        "dst_ip": dst[0],
        "dst_port": dst[1],
        "related": m.group("related") is not None,
    }
    return row, line.strip()[m.end():]


def _number(value: str, hexadecimal: bool = False) -> int | str:
    """An int from ``123`` or ``0x1b`` (``hexadecimal`` for flags printed with %x); the text
    itself when it is not a number."""
    try:
        number = int(value, 16) if value.lower().startswith("0x") else int(
            value, 16 if hexadecimal else 10)
    except ValueError:
        return value
    return number if abs(number) < 2**63 else value


# ---------------------------------------------------------------------------------------
# cilium bpf ct list

_CT_COLUMNS = {
    **_TUPLE_COLUMNS,
    "related": "bool",
    "expires": "int",
    "packets": "int",
    "bytes": "int",
    "rx_packets": "int",
    "rx_bytes": "int",
    "tx_packets": "int",
    "tx_bytes": "int",
    "rx_flags_seen": "int",
    "last_rx_report": "int",
    "tx_flags_seen": "int",
    "last_tx_report": "int",
    "flags": "int",
    "flag_names": "list",
    "rev_nat": "int",
    "source_security_id": "int",
    "backend_id": "int",
    "if_index": "int",
    "extra": "object",
}

# Field names as printed (lower-cased) -> column. Flags print in hex (%x / %#04x).
_CT_FIELDS = {
    "expires": "expires",
    "packets": "packets",
    "bytes": "bytes",
    "rxpackets": "rx_packets",
    "rx_packets": "rx_packets",
    "rxbytes": "rx_bytes",
    "rx_bytes": "rx_bytes",
    "txpackets": "tx_packets",
    "tx_packets": "tx_packets",
    "txbytes": "tx_bytes",
    "tx_bytes": "tx_bytes",
    "rxflagsseen": "rx_flags_seen",
    "lastrxreport": "last_rx_report",
    "txflagsseen": "tx_flags_seen",
    "lasttxreport": "last_tx_report",
    "flags": "flags",
    "revnat": "rev_nat",
    "sourcesecurityid": "source_security_id",
    "src_sec_id": "source_security_id",
    "backendid": "backend_id",
    "ifindex": "if_index",
}
_HEX_FIELDS = {"flags", "rx_flags_seen", "tx_flags_seen"}


def _fields(rest: str, number: int, line: str, known: dict[str, str]) -> dict:
    """Typed columns and an ``extra`` dict from the ``Key=Value`` part of a line."""
    row: dict = {}
    extra: dict = {}
    pos = 0
    while pos < len(rest):
        m = _FIELD.match(rest, pos) or _FLAG_NAMES.match(rest, pos)
        if not m:
            if not rest[pos:].strip():
                break
            raise fail(f"expected `Key=Value` fields, found {rest[pos:].strip()[:30]!r}",
                       number, line)
        pos = m.end()
        if "names" in m.groupdict():
            row["flag_names"] = m.group("names").split()
            continue
        column = known.get(m.group("key").lower())
        if column is None:
            extra[m.group("key")] = _number(m.group("value"))
            continue
        value = _number(m.group("value"), hexadecimal=column in _HEX_FIELDS)
        if isinstance(value, str):
            raise fail(f"expected a number for {m.group('key')}", number, line)
        row[column] = value
    row["extra"] = extra
    return row


@parser("cilium bpf ct list")
def bpf_ct_list(output: str) -> pd.DataFrame:
    """`cilium bpf ct list global`: the connection tracking table, one row per entry (a
    connection has an OUT and/or IN entry, plus a SVC entry where a service was involved).
    Columns: protocol, direction (IN, OUT, SVC), src_ip, src_port, dst_ip, dst_port, related
    (1.0 ICMP), expires, packets and bytes (1.17+ counts one way only), rx_packets, rx_bytes,
    tx_packets, tx_bytes (before 1.17), rx_flags_seen, last_rx_report, tx_flags_seen,
    last_tx_report, flags (int), flag_names (list, e.g. RxClosing), rev_nat,
    source_security_id, backend_id (1.17+), if_index, and extra: a dict of any other
    ``Key=Value`` field (NatPort, proxyport, Slave...).
    """
    rows = []
    for number, line in lines(output):
        if _EMPTY_MESSAGES.match(line):
            continue
        row, rest = _tuple(line, number, "connection tracking")
        rows.append({**row, **_fields(rest, number, line, _CT_FIELDS)})
    return frame(rows, _CT_COLUMNS)


def _json_address(value: object) -> str:
    """A ``types.IPv4``/``types.IPv6`` as Go marshals a byte array (``[10, 0, 0, 1]``)."""
    if isinstance(value, str):
        return value
    if (isinstance(value, list) and len(value) in (4, 16)
            and all(isinstance(b, int) and not isinstance(b, bool) and 0 <= b <= 255
                    for b in value)):
        return str(ipaddress.ip_address(bytes(value)))
    raise fail(f"expected an address as a list of 4 or 16 bytes, found {value!r:.60}")


def _json_int(where: dict, name: str) -> int | None:
    value = where.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise fail(f"{name} should be a number, found {value!r:.40}")
    return value


def _network_order(value: int | None) -> int | None:
    """A 16-bit number stored in network byte order, as the host reads it (80 -> 20480)."""
    return None if value is None else ((value & 0xFF) << 8) | (value >> 8 & 0xFF)


# TUPLE_F_* bits of a key's Flags (pkg/tuple): IN, RELATED, SERVICE (none set = OUT).
_TUPLE_IN, _TUPLE_RELATED, _TUPLE_SERVICE = 1, 2, 4
_PROTOCOL_NUMBERS = {1: "ICMP", 6: "TCP", 17: "UDP", 58: "ICMPV6", 132: "SCTP"}
_KEY_FIELDS = {"DestAddr", "SourceAddr", "DestPort", "SourcePort", "NextHeader", "Flags"}


def _json_records(output: str, what: str) -> list[tuple[dict, dict]]:
    """The ``[{"Key": {...}, "Value": {...}}]`` records cilium-dbg prints for a map."""
    data = load_json(output)
    records = data if isinstance(data, list) else [data]
    pairs = []
    for record in records:
        key = record.get("Key") if isinstance(record, dict) else None
        value = record.get("Value") if isinstance(record, dict) else None
        if not isinstance(key, dict) or not isinstance(value, dict):
            raise fail(f"expected {what} records {{\"Key\": {{...}}, \"Value\": {{...}}}}, "
                       f"found {record!r:.60}")
        pairs.append((key, value))
    return pairs


def _json_tuple(key: dict, reverse: bool) -> dict:
    """The tuple columns from a raw TupleKey (ports in network byte order). The CT dump
    prints the key's addresses swapped (``reverse``; cilium/cilium#5848), the NAT dump not."""
    protocol = _json_int(key, "NextHeader") or 0
    flags = _json_int(key, "Flags") or 0
    source, dest = _json_address(key.get("SourceAddr")), _json_address(key.get("DestAddr"))
    if reverse:
        source, dest = dest, source
    direction = "SVC" if flags & _TUPLE_SERVICE else "IN" if flags & _TUPLE_IN else "OUT"
    return {
        "protocol": _PROTOCOL_NUMBERS.get(protocol, str(protocol)),
        "direction": direction,
        "src_ip": source,
        "src_port": _network_order(_json_int(key, "SourcePort")),
        "dst_ip": dest,
        "dst_port": _network_order(_json_int(key, "DestPort")),
        "related": bool(flags & _TUPLE_RELATED),
    }


# CtEntry fields (Go names) -> columns; RevNAT is in network byte order.
_CT_JSON_FIELDS = {
    "Lifetime": "expires",
    "Packets": "packets",
    "Bytes": "bytes",
    "RxPackets": "rx_packets",
    "RxBytes": "rx_bytes",
    "TxPackets": "tx_packets",
    "TxBytes": "tx_bytes",
    "RxFlagsSeen": "rx_flags_seen",
    "LastRxReport": "last_rx_report",
    "TxFlagsSeen": "tx_flags_seen",
    "LastTxReport": "last_tx_report",
    "Flags": "flags",
    "RevNAT": "rev_nat",
    "SourceSecurityID": "source_security_id",
    "BackendID": "backend_id",
    "IfIndex": "if_index",
}
# CtEntry flag bits whose names have not changed since Cilium 1.6 (pkg/maps/ctmap).
_CT_FLAG_NAMES = ("RxClosing", "TxClosing", "Nat64", "LBLoopback", "SeenNonSyn", "NodePort",
                  "ProxyRedirect")


@parser("cilium bpf ct list", form="json")
def bpf_ct_list_json(output: str) -> pd.DataFrame:
    """`cilium bpf ct list global -o json`: the CT entries as raw Go structs (modern Cilium,
    ``CtMapRecord``: ``{"Key": TupleKey, "Value": CtEntry}``). Addresses are byte lists and
    ports and RevNAT are in network byte order as stored in the BPF map; they are converted
    to the numbers the text prints, and the key's addresses are swapped as the text dump
    swaps them. Same columns as :func:`bpf_ct_list`: ``flag_names`` names the bits that are
    stable across versions (RxClosing .. ProxyRedirect; all bits stay in ``flags``), other
    value fields go to ``extra``. Cilium 1.0 printed the maps' metadata (MapType, KeySize,
    ...) instead of entries (cilium/cilium#2976); that output raises a ParseError saying so.
    """
    data = load_json(output)
    items = data if isinstance(data, list) else [data]
    if items and all(isinstance(i, dict) and "MapType" in i and "KeySize" in i for i in items):
        raise fail("this JSON describes the conntrack maps (MapType, KeySize, MaxEntries), "
                   "not their entries: Cilium 1.0 printed map metadata for `-o json` "
                   "(cilium/cilium#2976); run `cilium bpf ct list global` without -o json")
    rows = []
    for key, value in _json_records(output, "conntrack"):
        row = _json_tuple(key, reverse=True)
        extra = {}
        for name in value:
            column = _CT_JSON_FIELDS.get(name)
            if column:
                row[column] = _json_int(value, name)
            elif not name.startswith(("Pad", "_")):
                extra[name] = value[name]
        if row.get("rev_nat") is not None:
            row["rev_nat"] = _network_order(row["rev_nat"])
        if row.get("flags") is not None:
            row["flag_names"] = [n for bit, n in enumerate(_CT_FLAG_NAMES)
                                 if row["flags"] & (1 << bit)]
        row["extra"] = extra
        rows.append(row)
    return frame(rows, _CT_COLUMNS)


# ---------------------------------------------------------------------------------------
# cilium bpf nat list

_NAT_COLUMNS = {
    **_TUPLE_COLUMNS,
    "xlate": "str",
    "xlate_ip": "str",
    "xlate_port": "int",
    "created": "int",
    "needs_ct": "bool",
    "host_local": "bool",
    "extra": "object",
}
_XLATE = re.compile(r"^\s*XLATE_(?P<which>SRC|DST) (?P<addr>\S+)")
_CREATED = re.compile(r"\s+Created=(?P<sec>\d{1,18})sec(?P<ago> ago)?")


@parser("cilium bpf nat list")
def bpf_nat_list(output: str) -> pd.DataFrame:
    """`cilium bpf nat list`: the BPF SNAT/DNAT table (masquerading, NodePort), one row per
    entry. Columns: protocol, direction (OUT: the source is rewritten, IN: the reply's
    destination is rewritten back), src_ip, src_port, dst_ip, dst_port, xlate (SRC or DST),
    xlate_ip, xlate_port (the address it is rewritten to), created (seconds ago), needs_ct
    (newer builds) and host_local (~1.12 and before), and extra for any other field.
    """
    rows = []
    for number, line in lines(output):
        if _EMPTY_MESSAGES.match(line):
            continue
        row, rest = _tuple(line, number, "NAT")
        del row["related"]
        x = _XLATE.match(rest)
        addr = _endpoint(x.group("addr")) if x else None
        if addr is None:
            raise fail("expected `XLATE_SRC|XLATE_DST IP:PORT` after the tuple", number, line)
        rest = rest[x.end():]
        created = _CREATED.match(rest)
        if created:
            rest = rest[created.end():]
        fields = _fields(rest, number, line, {"needsct": "needs_ct", "hostlocal": "host_local"})
        for column in ("needs_ct", "host_local"):
            if column in fields:
                fields[column] = bool(fields[column])
        rows.append({**row, "xlate": x.group("which"), "xlate_ip": addr[0],
                     "xlate_port": addr[1],
                     "created": int(created.group("sec")) if created else None, **fields})
    return frame(rows, _NAT_COLUMNS)


@parser("cilium bpf nat list", form="json")
def bpf_nat_list_json(output: str) -> pd.DataFrame:
    """`cilium bpf nat list -o json`: the NAT entries as raw Go structs (``NatMapRecord``:
    ``{"Key": TupleKey, "Value": NatEntry}``), addresses as byte lists and ports in network
    byte order, converted here. Same columns as :func:`bpf_nat_list`, except ``created``:
    the JSON holds the creation time as a raw kernel clock value (ktime or jiffies), not
    "seconds ago", so it is kept in ``extra`` as ``Created`` and ``created`` stays empty.
    """
    rows = []
    for key, value in _json_records(output, "NAT"):
        row = _json_tuple(key, reverse=False)
        del row["related"]
        row["xlate"] = "DST" if row["direction"] == "IN" else "SRC"
        row["xlate_ip"] = _json_address(value.get("Addr"))
        row["xlate_port"] = _network_order(_json_int(value, "Port"))
        extra = {}
        for name in value:
            if name in ("NeedsCT", "HostLocal"):
                flag = _json_int(value, name)
                row["needs_ct" if name == "NeedsCT" else "host_local"] = bool(flag)
            elif name not in ("Addr", "Port") and not name.startswith(("Pad", "_")):
                extra[name] = value[name]
        row["extra"] = extra
        rows.append(row)
    return frame(rows, _NAT_COLUMNS)


# ---------------------------------------------------------------------------------------
# cilium bpf ipmasq list

_CIDR = re.compile(r"^\s*(?P<ip>[0-9.]+|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*)/(?P<len>\d{1,3})\s*$")


@parser("cilium bpf ipmasq list")
def bpf_ipmasq_list(output: str) -> pd.DataFrame:
    """`cilium bpf ipmasq list`: the CIDRs the ip-masq-agent feature does NOT masquerade
    (traffic to them keeps the pod's source address). Columns: cidr (as printed), ip (the
    network address), prefix_len."""
    rows = []
    for number, line in lines(output):
        if re.match(r"^\s*IP PREFIX/ADDRESS\s*$", line) or _EMPTY_MESSAGES.match(line):
            continue
        m = _CIDR.match(line)
        if not m:
            raise fail("expected a CIDR like `10.0.0.0/8`", number, line)
        rows.append({"cidr": line.strip(), "ip": m.group("ip"), "prefix_len": m.group("len")})
    return frame(rows, {"cidr": "str", "ip": "str", "prefix_len": "int"})
