"""``cilium monitor`` (``cilium-dbg monitor``): the datapath's events, one row each.

What the monitor prints besides events is passed over on purpose: its banner (``Listening
for events on 2 CPUs with 64x4096 of shared memory``, ``Press Ctrl-C to quit``), its own log
lines (``level=info msg="Initializing dissection cache..."``, and the newer
``time=... level=info ... msg=...``), and the ``-----`` rules of ``-v -v --hex``.
Lines that continue an event (the hex dump of ``--hex``, the ``Ethernet {...}`` dissection
of ``-v``) go into that event's ``detail``; such a line before any event is an error.

``cilium monitor -j`` (``--json``) prints one JSON object per event instead; see
:func:`cilium_monitor_json` for what it prints and what each column is read from.
"""

from __future__ import annotations

import json
import re

import pandas as pd

from labkit.parsers._registry import parser
from labkit.parsers._text import fail, frame, lines, passed_over, split_address

__all__ = ["cilium_monitor", "cilium_monitor_json", "RESERVED_IDENTITIES"]

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


# --- cilium monitor -j -----------------------------------------------------------------------

_LOST = re.compile(r"^CPU (?P<cpu>\d+): Lost (?P<count>\d+) events$")
_JSON_CPU = re.compile(r"^CPU (\d+):?$")
_PORT = re.compile(r"^(\d+)(?:\([\w.-]*\))?$")  # gopacket prints a known port as `80(http)`
_TCP_FLAG = re.compile(r"\b(SYN|ACK|RST|FIN)=true\b")
_LAYERS = ("ethernet", "ipv4", "ipv6", "tcp", "udp", "sctp", "icmpv4", "icmpv6", "vrrp", "igmp")
_LAYER_PROTOCOLS = {"tcp": "TCP", "udp": "UDP", "sctp": "SCTP", "icmpv4": "ICMP",
                    "icmpv6": "ICMPv6", "vrrp": "VRRP", "igmp": "IGMP"}


class _Event:
    """Typed access to one JSON event: a wrong type is a ParseError quoting the line."""

    def __init__(self, obj: dict, n: int, line: str) -> None:
        self.obj, self.n, self.line = obj, n, line

    def fail(self, message: str):
        return fail(message, self.n, self.line)

    def text(self, *keys: str) -> str | None:
        """The first of these keys that is present (Cilium renamed some), as text."""
        for key in keys:
            value = self.obj.get(key)
            if value is None:
                continue
            if not isinstance(value, str):
                raise self.fail(f"`{key}` should be text, not {json.dumps(value)[:40]}")
            return value
        return None

    def number(self, *keys: str) -> int | None:
        for key in keys:
            value = self.obj.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.fail(f"`{key}` should be a number, not {json.dumps(value)[:40]}")
            return value
        return None

    def identity(self, *keys: str) -> int | None:
        for key in keys:
            value = self.obj.get(key)
            if isinstance(value, str):  # a reserved name, should a version print one
                return _identity(value, self.n, self.line)
            if value is not None:
                return self.number(key)
        return None

    def mapping(self, key: str, obj: dict | None = None) -> dict:
        value = (self.obj if obj is None else obj).get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(f"`{key}` should be an object")
        return value

    def labels(self, key: str) -> list[str] | None:
        value = self.obj.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(f"`{key}` should be a list of labels")
        return value


def _json_cpu(ev: _Event) -> int | None:
    cpu = ev.text("cpu")
    if cpu is None:
        return None
    m = _JSON_CPU.match(cpu)
    if not m:
        raise ev.fail(f"`cpu` should read `CPU NN:`, not {cpu!r}")
    return int(m.group(1))


def _interface(row: dict, name: str) -> None:
    """The link cache's name for an ifindex, or the number when it has none."""
    row["ifindex" if name.isdigit() else "interface"] = int(name) if name.isdigit() else name


def _dissection(row: dict, ev: _Event) -> None:
    """``summary`` of a trace or drop (Go's DissectSummary): MACs, addresses, ports, protocol,
    TCP flags; the layers gopacket printed go into ``detail``. A tunnelled packet's outer
    headers sit under ``tunnel`` and the inner packet's at the top, as Cilium prints them."""
    summary = ev.mapping("summary")
    for key, src, dst, is_port in (("l2", "src_mac", "dst_mac", False),
                                   ("l3", "src_ip", "dst_ip", False),
                                   ("l4", "src_port", "dst_port", True)):
        flow = ev.mapping(key, summary)
        for side, column in (("src", src), ("dst", dst)):
            value = flow.get(side)
            if value is None:
                continue
            if not isinstance(value, str):
                raise ev.fail(f"`summary.{key}.{side}` should be text")
            if is_port:
                m = _PORT.match(value)
                if not m:
                    raise ev.fail(f"`summary.{key}.{side}` is not a port: {value!r}")
                value = int(m.group(1))
            row[column] = value
    layers = []
    for key in _LAYERS:
        text = summary.get(key)
        if text is None:
            continue
        if not isinstance(text, str):
            raise ev.fail(f"`summary.{key}` should be text")
        layers.append(text)
        if key in _LAYER_PROTOCOLS:
            row["protocol"] = _LAYER_PROTOCOLS[key]
        if key == "tcp":
            row["tcp_flags"] = ", ".join(_TCP_FLAG.findall(text)) or None
    if layers:
        row["detail"] = "\n".join(layers)


def _http_summary(ev: _Event) -> str | None:
    """``GET http://host/path => 200`` from the HTTP record, as the text form prints it."""
    http = ev.mapping("http")
    if not http:
        return None
    url = ev.mapping("URL", http)
    parts = [url.get(k) if isinstance(url.get(k), str) else "" for k in
             ("Scheme", "Host", "Path", "RawQuery")]
    text = f"{parts[0]}://{parts[1]}{parts[2]}" if parts[0] else parts[2]
    if parts[3]:
        text += "?" + parts[3]
    method, code = http.get("Method", ""), http.get("Code", "")
    return f"{method} {text} => {code}"


def _json_event(ev: _Event) -> dict:
    kind = ev.text("type")
    if kind is None:
        raise ev.fail("a JSON line without `type`; expected a `cilium monitor -j` event")
    row: dict = {"event_type": kind, "cpu": _json_cpu(ev)}
    if kind in ("trace", "drop"):
        row.update(flow=ev.text("mark"), src_endpoint=ev.number("source"),
                   src_identity=ev.identity("srcLabel"), dst_identity=ev.identity("dstLabel"))
        _dissection(row, ev)
    if kind == "trace":
        point = ev.text("observationPoint")
        row.update(observation_point=point, state=ev.text("state"),
                   summary=ev.text("traceSummary"))
        if (dst := ev.number("dstID")) and point != "to-proxy":  # to-proxy: dstID is a port
            row["dst_endpoint"] = dst
        if (name := ev.text("ifindex")) is not None:
            _interface(row, name)
    elif kind == "drop":
        row.update(verdict="dropped", reason=ev.text("reason"), dst_endpoint=ev.number("dstID"),
                   ifindex=ev.number("Ifindex"))
        if (name := ev.text("ifindex")) is not None:  # before ~1.8 a name, like a trace's
            _interface(row, name)
    elif kind == "debug":
        row["summary"] = ev.text("message")
    elif kind == "capture":
        row.update(flow=ev.text("mark"), src_endpoint=ev.number("source"),
                   summary=ev.text("summary"), detail=ev.text("message"))
        _packet(row, row["summary"] or "", ev.n, ev.line)
        if m := _TRACE_IFACE.match(f"{ev.text('prefix') or ''}: "):
            row["observation_point"] = "to-interface" if m.group("dir") == "->" else (
                "from-interface")
            _interface(row, m.group("iface"))
    elif kind == "logRecord":
        flow_type, direction = ev.text("flowType"), ev.text("observationPoint")
        proto = ev.text("l7Proto")
        row.update(event_type="l7", observation_point=flow_type and flow_type.lower(),
                   traffic_direction=direction and direction.lower(),
                   protocol=proto and proto.upper(), verdict=ev.text("verdict"),
                   src_endpoint=ev.number("srcEpID"), dst_endpoint=ev.number("dstEpID"),
                   src_labels=ev.labels("srcEpLabels"), dst_labels=ev.labels("dstEpLabels"),
                   src_identity=ev.identity("srcIdentity", "SrcIdentity"),
                   dst_identity=ev.identity("dstIdentity", "DstIdentity"),
                   summary=_http_summary(ev), detail=json.dumps(ev.obj.get(
                       proto or "", ev.obj.get("l7")), sort_keys=True))
        if row["detail"] == "null":
            row["detail"] = None
    elif kind == "agent":
        row.update(summary=ev.text("subtype"),
                   detail=json.dumps(ev.obj.get("message"), sort_keys=True))
    else:  # a type this parser does not know (newer Cilium, `debug_capture_error`): kept
        row.update(summary=ev.text("message") if isinstance(ev.obj.get("message"), str)
                   else None, detail=json.dumps(ev.obj, sort_keys=True))
    return row


def _json_lines(output: str):
    """(line number, line, JSON value or None) for each line that holds something; a JSON
    value spread over several lines (``| jq .``) is read whole, reported at its first line."""
    decoder = json.JSONDecoder()
    all_lines = output.splitlines(keepends=True)
    starts = [0]
    for piece in all_lines:
        starts.append(starts[-1] + len(piece))
    i = 0
    while i < len(all_lines):
        line = all_lines[i].rstrip()
        if passed_over(line):
            i += 1
            continue
        if not line.lstrip().startswith(("{", "[")):
            yield i + 1, line, None
            i += 1
            continue
        try:
            value, end = decoder.raw_decode(output, starts[i] + len(all_lines[i]) - len(
                all_lines[i].lstrip()))
        except json.JSONDecodeError as e:
            raise fail(f"not valid JSON ({e.msg})", i + 1, line) from None
        last = next(k for k in range(i, len(all_lines)) if starts[k + 1] >= end)
        if output[end:starts[last + 1]].strip():
            raise fail("text after a JSON value on the same line", last + 1,
                       all_lines[last].rstrip())
        yield i + 1, line, value
        i = last + 1


@parser("cilium monitor", form="json")
def cilium_monitor_json(output: str) -> pd.DataFrame:
    """``cilium monitor -j`` / ``--json`` (any ``--type``, ``--related-to``...): the
    datapath's events as JSON, one row per event, in the columns of :func:`cilium_monitor`.

    Read per type (Cilium's ``DumpJSON`` of each message, ``pkg/monitor``): ``trace`` ->
    ``cpu``, ``flow`` (``mark``), ``observation_point``, ``state``, ``src_endpoint``
    (``source``), ``dst_endpoint`` (``dstID``; not for ``to-proxy``, where it is the proxy
    port), identities (``srcLabel``/``dstLabel``), ``interface`` or ``ifindex``, ``summary``
    (``traceSummary``, e.g. ``-> endpoint 212``) and from the packet's ``summary``: MACs, IPs,
    ports, ``protocol``, ``tcp_flags``, with gopacket's layer dump in ``detail``; ``drop``
    -> the same plus ``reason``, ``verdict`` ``dropped``, ``ifindex``; ``debug`` -> ``cpu``
    and ``summary`` (the message; the JSON has no mark or endpoint); ``capture``;
    ``logRecord`` -> ``event_type`` ``l7`` with endpoints, labels, identities, ``verdict``,
    ``protocol``, ``observation_point`` request/response, ``traffic_direction``
    ingress/egress, an HTTP ``summary`` like the text's and the L7 record in ``detail``;
    ``agent`` -> ``summary`` (its subtype) and ``detail`` (its message). An unknown type
    gives a row with ``event_type`` as given and the object in ``detail``. Not in the
    JSON: ``time``, ``orig_ip``. Cilium prints policy verdicts as text even with ``-j``
    (they have no JSON form) and socket traces not at all; text lines are read as
    :func:`cilium_monitor` reads them, ``CPU NN: Lost N events`` gives a ``lost`` row.
    """
    rows: list[dict] = []
    for n, line, value in _json_lines(output):
        if value is None:
            text = line.strip()
            if _KNOWN.match(text):
                continue
            if m := _LOST.match(text):
                rows.append({"event_type": "lost", "cpu": int(m.group("cpu")), "summary": text})
                continue
            row = _event(text, n, line)
            if row is None:
                raise fail("neither a JSON event nor a `cilium monitor` line", n, line)
            rows.append(row)
        elif isinstance(value, dict):
            rows.append(_json_event(_Event(value, n, line)))
        else:
            raise fail("expected one JSON object per event", n, line)
    return frame(rows, COLUMNS)
