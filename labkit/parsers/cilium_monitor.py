"""``cilium monitor`` (``cilium-dbg monitor``): the datapath's events, one row each.

What the monitor prints besides events is passed over on purpose: its banner (``Listening
for events on 2 CPUs with 64x4096 of shared memory``, ``Press Ctrl-C to quit``), its own log
lines (``level=info msg="Initializing dissection cache..."``, and the newer
``time=... level=info ... msg=...``), and the ``-----`` rules of ``-v -v --hex``.
Lines that continue an event (the hex dump of ``--hex``, the ``Ethernet {...}`` dissection
of ``-v``) go into that event's ``detail``; such a line before any event is an error.
"""

from __future__ import annotations

import re

import pandas as pd

from labkit.parsers._registry import parser
from labkit.parsers._text import fail, frame, lines, split_address

__all__ = ["cilium_monitor", "RESERVED_IDENTITIES"]

COLUMNS = {
    "time": "str",
    "cpu": "int",
    "event_type": "str",
    "observation_point": "str",
    "src_endpoint": "int",
    "dst_endpoint": "int",
    "flow": "str",
    "src_identity": "int",
    "dst_identity": "int",
    "src_labels": "list",
    "dst_labels": "list",
    "state": "str",
    "interface": "str",
    "ifindex": "int",
    "orig_ip": "str",
    "src_ip": "str",
    "src_port": "int",
    "dst_ip": "str",
    "dst_port": "int",
    "src_mac": "str",
    "dst_mac": "str",
    "protocol": "str",
    "tcp_flags": "str",
    "traffic_direction": "str",
    "verdict": "str",
    "reason": "str",
    "summary": "str",
    "detail": "str",
}

# Cilium's reserved security identities, printed by name in some events.
RESERVED_IDENTITIES = {
    "unknown": 0, "host": 1, "world": 2, "unmanaged": 3, "health": 4, "init": 5,
    "remote-node": 6, "kube-apiserver": 7, "ingress": 8, "world-ipv4": 9, "world-ipv6": 10,
}

_KNOWN = re.compile(
    r"^(Listening for events on \d+ CPUs with \d+x\d+ of shared memory"
    r"|Press Ctrl-C to quit"
    r"|(time=\S+ )?level=\w+ .*msg=.*"
    r"|-{20,})$")
_PREFIX_TIME = re.compile(
    r"^(?P<time>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d\S*) ")
_CPU = re.compile(r"^CPU (?P<cpu>\d+): (?P<rest>.*)$")
_MARK = re.compile(r"^MARK (?P<flow>0x[0-9a-fA-F]+) FROM (?P<ep>\d+) (?P<rest>.*)$")
_PKT_DROPPED = re.compile(
    r"^Packet dropped (?P<code>\d+) \((?P<reason>[^)]*)\) (?P<bytes>\d+) bytes"
    r"(?: ifindex=(?P<ifindex>\d+))?(?: (?P<sid>\S+)->(?P<did>\S+))?(?P<more>.*)$")
_VERBOSE_TRACE = re.compile(r"^(?P<point>(?:to|from)-[\w-]+): (?P<rest>.*)$")
_TRACE_SOCK = re.compile(r"^\[(?P<point>[\w-]+)\] (?P<rest>.*)$")
_SOCK_DST = re.compile(r"dst \[(?P<ip>[^\]]+)\]:(?P<port>\d+) (?P<proto>\w+)$")
_TRACE = re.compile(
    r"^(?P<dir>->|<-) (?P<point>[a-z][\w-]*)(?: (?P<ep>\d+))? flow (?P<flow>0x[0-9a-fA-F]+)"
    r" ?,? identity (?P<sid>[\w-]+)->(?P<did>[\w-]+) state (?P<state>\S+)"
    r" ifindex (?P<ifx>\S+) orig-ip (?P<orig>\S+): (?P<summary>.*)$")
_TRACE_IFACE = re.compile(r"^(?P<dir>->|<-) (?P<iface>[\w.@-]+): (?P<summary>.*)$")
_L7 = re.compile(
    r"^(?P<dir>->|<-) (?P<kind>Request|Response) (?P<proto>[\w-]+)"
    r" (?P<first>from|to) (?P<a>\d+) \(\[(?P<alabels>[^\]]*)\]\)"
    r" (?:to|from) (?P<b>\d+) \(\[(?P<blabels>[^\]]*)\]\),"
    r" identity (?P<sid>[\w-]+)->(?P<did>[\w-]+), verdict (?P<verdict>\w+)(?: (?P<summary>.*))?$")
_DROP = re.compile(r"^xx drop \((?P<reason>.+?)\) (?P<attrs>.*?): (?P<summary>.*)$")
_POLICY = re.compile(
    r"^Policy verdict log: flow (?P<flow>0x[0-9a-fA-F]+) local EP ID (?P<ep>\d+),"
    r" remote ID (?P<remote>[\w-]+), proto (?P<proto>\d+), (?P<dir>ingress|egress),"
    r" action (?P<action>\w+),(?: auth: [^,]+,)? match (?P<match>[^,]+), (?P<summary>.*)$")
# Continuation lines: a hex dump row of --hex, a layer of the -v dissection.
_DETAIL = re.compile(
    r"^([0-9a-f]{8}  [0-9a-f ]{2,}.*"
    r"|(Ethernet|Dot1Q|ARP|IPv4|IPv6|TCP|UDP|SCTP|ICMPv4|ICMPv6|DNS|Payload|VXLAN|Geneve)"
    r"\s+\{.*)$")
_MAC = r"(?:[0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}"
_PACKET = re.compile(r"^(?P<src>\S+) -> (?P<dst>\S+) (?P<rest>.+)$")
_ICMP_WORDS = re.compile(r"^(Echo\w*|Router\w*|Neighbor\w*|DestinationUnreachable|TimeExceeded"
                         r"|ParameterProblem|PacketTooBig|Redirect|MLD\w*)\b")
_PROTO_NUMBERS = {"1": "ICMP", "6": "TCP", "17": "UDP", "58": "ICMPv6", "132": "SCTP"}


def _identity(text: str, n: int, line: str) -> int:
    if text.isdigit():
        return int(text)
    if text in RESERVED_IDENTITIES:
        return RESERVED_IDENTITIES[text]
    raise fail(f"identity {text!r} is neither a number nor a reserved identity", n, line)


def _labels(text: str) -> list[str]:
    return text.split()


def _packet(row: dict, summary: str, n: int, line: str) -> None:
    """Addresses, ports, protocol and TCP flags from a packet summary, when it has them."""
    m = _PACKET.match(summary)
    if not m:
        return
    src, dst, rest = m.group("src"), m.group("dst"), m.group("rest")
    if re.fullmatch(_MAC, src) and re.fullmatch(_MAC, dst):
        row.update(src_mac=src, dst_mac=dst, protocol=rest.split()[0].upper())
        return
    try:
        row["src_ip"], row["src_port"], _ = split_address(src)
        row["dst_ip"], row["dst_port"], _ = split_address(dst)
    except ValueError:
        raise fail("a port that is not a number in the packet summary", n, line) from None
    word, _, flags = rest.partition(" ")
    if word.lower() in ("tcp", "udp", "sctp", "icmp", "icmpv6"):
        row["protocol"] = word.upper().replace("ICMPV6", "ICMPv6")
        if row["protocol"] == "TCP" and flags:
            row["tcp_flags"] = flags
    elif _ICMP_WORDS.match(rest):
        row["protocol"] = "ICMPv6" if ":" in row["src_ip"] else "ICMP"


def _event(text: str, n: int, line: str) -> dict | None:
    """One event line -> its row, or None when the line is not an event."""
    row: dict = {}
    if m := _PREFIX_TIME.match(text):
        row["time"], text = m.group("time"), text[m.end():]
    if m := _CPU.match(text):
        row["cpu"], text = int(m.group("cpu")), m.group("rest")
        return _cpu_event(row, text, n, line)
    if m := _TRACE.match(text):
        into = m.group("dir") == "->"
        point = m.group("point")
        ep = int(m.group("ep")) if m.group("ep") else None
        ifx = m.group("ifx")
        row.update(event_type="trace", observation_point=f"{'to' if into else 'from'}-{point}",
                   flow=m.group("flow"), state=m.group("state"), orig_ip=m.group("orig"),
                   src_identity=_identity(m.group("sid"), n, line),
                   dst_identity=_identity(m.group("did"), n, line),
                   summary=m.group("summary"))
        row["dst_endpoint" if into else "src_endpoint"] = ep
        row["ifindex" if ifx.isdigit() else "interface"] = int(ifx) if ifx.isdigit() else ifx
        _packet(row, m.group("summary"), n, line)
        return row
    if m := _L7.match(text):
        # `from X ... to Y`: X is the sender of this message (the server for a response).
        src, dst = ("a", "b") if m.group("first") == "from" else ("b", "a")
        row.update(event_type="l7", observation_point=m.group("kind").lower(),
                   src_endpoint=int(m.group(src)), dst_endpoint=int(m.group(dst)),
                   src_labels=_labels(m.group(f"{src}labels")),
                   dst_labels=_labels(m.group(f"{dst}labels")),
                   src_identity=_identity(m.group("sid"), n, line),
                   dst_identity=_identity(m.group("did"), n, line),
                   protocol=m.group("proto").upper(), verdict=m.group("verdict"),
                   summary=m.group("summary") or "")
        return row
    if m := _DROP.match(text):
        attrs = m.group("attrs")
        row.update(event_type="drop", verdict="dropped", reason=m.group("reason"),
                   summary=m.group("summary"))
        if a := re.search(r"flow (0x[0-9a-fA-F]+)", attrs):
            row["flow"] = a.group(1)
        if a := re.search(r"to endpoint (\d+)", attrs):
            row["dst_endpoint"] = int(a.group(1))
        if a := re.search(r"ifindex (\d+)", attrs):
            row["ifindex"] = int(a.group(1))
        if a := re.search(r"identity ([\w-]+)->([\w-]+)", attrs):
            row["src_identity"] = _identity(a.group(1), n, line)
            row["dst_identity"] = _identity(a.group(2), n, line)
        _packet(row, m.group("summary"), n, line)
        return row
    if m := _POLICY.match(text):
        ingress = m.group("dir") == "ingress"
        remote = _identity(m.group("remote"), n, line)
        row.update(event_type="policy-verdict", flow=m.group("flow"),
                   traffic_direction=m.group("dir"), verdict=m.group("action"),
                   reason=m.group("match"), summary=m.group("summary"),
                   protocol=_PROTO_NUMBERS.get(m.group("proto"), m.group("proto")))
        row["dst_endpoint" if ingress else "src_endpoint"] = int(m.group("ep"))
        row["src_identity" if ingress else "dst_identity"] = remote
        _packet(row, m.group("summary"), n, line)
        return row
    if m := _TRACE_IFACE.match(text):
        into = m.group("dir") == "->"
        iface = m.group("iface")
        row.update(event_type="trace", observation_point="to-interface" if into
                   else "from-interface", summary=m.group("summary"))
        row["ifindex" if iface.isdigit() else "interface"] = (
            int(iface) if iface.isdigit() else iface)
        _packet(row, m.group("summary"), n, line)
        return row
    return None


def _cpu_event(row: dict, text: str, n: int, line: str) -> dict:
    """``CPU 00: ...``: debug messages, ``-v`` drops and traces, socket traces."""
    if m := _TRACE_SOCK.match(text):
        row.update(event_type="trace-sock", observation_point=m.group("point"),
                   summary=m.group("rest"))
        if d := _SOCK_DST.search(m.group("rest")):
            row.update(dst_ip=d.group("ip"), dst_port=int(d.group("port")),
                       protocol=d.group("proto").upper())
        return row
    m = _MARK.match(text)
    if not m:
        raise fail("expected `CPU NN: MARK 0x... FROM <endpoint> ...` or a socket trace", n, line)
    row.update(flow=m.group("flow"), src_endpoint=int(m.group("ep")))
    rest = m.group("rest")
    if rest.startswith("DEBUG: "):
        row.update(event_type="debug", summary=rest[len("DEBUG: "):])
    elif d := _PKT_DROPPED.match(rest):
        row.update(event_type="drop", verdict="dropped", reason=d.group("reason"),
                   summary=rest)
        if d.group("ifindex"):
            row["ifindex"] = int(d.group("ifindex"))
        if d.group("sid"):
            row["src_identity"] = _identity(d.group("sid"), n, line)
            row["dst_identity"] = _identity(d.group("did"), n, line)
    elif t := _VERBOSE_TRACE.match(rest):
        row.update(event_type="trace", observation_point=t.group("point"), summary=t.group("rest"))
    else:
        raise fail("a `CPU NN: MARK ...` line of a kind labkit does not know", n, line)
    return row


@parser("cilium monitor")
def cilium_monitor(output: str) -> pd.DataFrame:
    """``cilium monitor`` (any of ``-v``, ``-D``, ``--type drop|trace|l7|policy-verdict|
    trace-sock``, ``-v -v --hex``): what the datapath reports, one row per event.

    Columns: ``time`` (only when the capture put a timestamp before the line; the monitor
    prints none), ``cpu``, ``event_type`` (trace, drop, debug, policy-verdict, l7,
    trace-sock), ``observation_point`` (``to-endpoint``, ``from-host``, ``to-stack``, ...,
    ``request``/``response`` for L7, ``pre-xlate-fwd``... for socket traces),
    ``src_endpoint``/``dst_endpoint`` (endpoint IDs; a debug line's ``FROM`` is its
    ``src_endpoint``), ``flow`` (the flow/mark hash), ``src_identity``/``dst_identity``
    (numbers; reserved names such as ``ingress`` become their numbers, see
    ``RESERVED_IDENTITIES``), ``src_labels``/``dst_labels`` (L7), ``state``, ``interface``
    or ``ifindex``, ``orig_ip``, ``src_ip``/``src_port``/``dst_ip``/``dst_port``,
    ``src_mac``/``dst_mac`` (ARP), ``protocol``, ``tcp_flags``, ``traffic_direction``
    (policy verdicts), ``verdict`` (``allow``/``deny``/``audit``, ``Forwarded``/``Denied``,
    ``dropped``), ``reason`` (drop reason, or the policy match such as ``L3-Only``),
    ``summary`` (the event's own text) and ``detail`` (its hex dump or dissection lines).
    For L7 lines ``src_endpoint`` is the one after ``from`` (the server, for a response);
    the identities are kept in the printed order, which for responses before Cilium ~1.12 was
    the request's (client first).
    """
    rows: list[dict] = []
    for n, line in lines(output):
        text = line.strip()
        if _KNOWN.match(text):
            continue
        if _DETAIL.match(text):
            if not rows:
                raise fail("a continuation line (hex dump or dissection) before any event",
                           n, line)
            rows[-1]["detail"] = "\n".join(filter(None, [rows[-1].get("detail"), text]))
            continue
        row = _event(text, n, line)
        if row is None:
            raise fail("not a `cilium monitor` event line", n, line)
        rows.append(row)
    return frame(rows, COLUMNS)
