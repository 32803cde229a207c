"""Parsers for Cilium's connection tracking and NAT tables: ``cilium bpf ct list global``
(or an endpoint id on Cilium 1.0), ``cilium bpf nat list`` and ``cilium bpf ipmasq list``.

A CT or NAT line is a tuple ``PROTO DIR SRC -> DST`` followed by ``Key=Value`` fields whose
names changed over the years (``rx_packets=`` in 1.0, ``RxPackets=`` later, one ``Packets=``
and a ``BackendID=`` in 1.17+). Known fields become typed columns; any other ``Key=Value``
is kept in the ``extra`` dict column, so a new field does not break the parser, while a
line that is not an entry at all raises :class:`labkit.ParseError`.
"""

from __future__ import annotations

import re

import pandas as pd

from labkit.parsers._registry import parser
from labkit.parsers._text import fail, frame, lines, load_json

__all__ = ["bpf_ct_list", "bpf_ct_list_json", "bpf_nat_list", "bpf_ipmasq_list"]

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
    "protocol": "str",
    "direction": "str",
    "src_ip": "str",
    "src_port": "int",
    "dst_ip": "str",
    "dst_port": "int",
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


@parser("cilium bpf ct list", form="json")
def bpf_ct_list_json(output: str) -> pd.DataFrame:
    """`cilium bpf ct list global -o json`: labkit reads only the text table. Cilium 1.0
    printed the map's metadata (MapType, KeySize, ...) instead of its entries for ``-o json``
    (cilium/cilium#2976); that output raises a ParseError saying so, as does any other JSON.
    """
    data = load_json(output)
    items = data if isinstance(data, list) else [data]
    if items and all(isinstance(i, dict) and "MapType" in i and "KeySize" in i for i in items):
        raise fail("this JSON describes the conntrack maps (MapType, KeySize, MaxEntries), "
                   "not their entries: Cilium 1.0 printed map metadata for `-o json` "
                   "(cilium/cilium#2976); run `cilium bpf ct list global` without -o json")
    raise fail("labkit reads the text form of `cilium bpf ct list` only; run it without "
               "-o json")


# ---------------------------------------------------------------------------------------
# cilium bpf nat list

_NAT_COLUMNS = {
    "protocol": "str",
    "direction": "str",
    "src_ip": "str",
    "src_port": "int",
    "dst_ip": "str",
    "dst_port": "int",
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
