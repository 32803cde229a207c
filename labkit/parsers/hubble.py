"""Parsers for ``hubble observe``: flows as JSON (``-o json``/``jsonpb``, exporter files, the
pre-v0.11 bare Flow per line) and as text (the compact default since ~2021, and the 2020
table form).

Both give one row per flow with the same columns (see ``FLOW_COLUMNS``); the text fills those it
has facts for. Formats: ../shared/FORMATS.md section 6, and the hubble printer
(``hubble/pkg/printer/printer.go``).

Non-flow events are kept, not skipped, as rows whose ``type`` says what they are:
``LOST_EVENTS`` (hubble could not keep up; ``summary`` says how many were lost on which CPU)
and ``NODE_STATUS`` (relay messages such as ``Receiving flows from 3 nodes``, which the text
form prints on stderr). Filter them out with ``df[df.type.isin(["L3_L4", "L7", "SOCK"])]``.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime

import pandas as pd

from labkit.errors import ParseError
from labkit.parsers._registry import parser
from labkit.parsers._text import fail, frame, lines, load_json

__all__ = ["hubble_observe", "hubble_observe_json"]


_ENDPOINT_COLUMNS = {
    "namespace": "str",
    "pod": "str",
    "ip": "str",
    "port": "int",
    "identity": "int",
    "labels": "list",
    "names": "list",
}
# The flow table: the same columns from hubble JSON, hubble text and the local lab.
FLOW_COLUMNS = {
    "time": "time",
    "node": "str",
    **{f"source_{k}": v for k, v in _ENDPOINT_COLUMNS.items()},
    **{f"destination_{k}": v for k, v in _ENDPOINT_COLUMNS.items()},
    "protocol": "str",
    "tcp_flags": "str",
    "verdict": "str",
    "drop_reason": "str",
    "traffic_direction": "str",
    "trace_observation_point": "str",
    "is_reply": "bool",
    "type": "str",
    "event": "str",
    "l7_type": "str",
    "http_method": "str",
    "http_url": "str",
    "http_code": "int",
    "summary": "str",
}

# Reserved identities print by name in the compact form (pkg/identity numeric identities).
_RESERVED = {"unknown": 0, "host": 1, "world": 2, "unmanaged": 3, "health": 4, "init": 5,
             "remote-node": 6, "kube-apiserver": 7, "ingress": 8, "world-ipv4": 9,
             "world-ipv6": 10, "encrypted-overlay": 11}
_TCP_FLAGS = ["SYN", "ACK", "RST", "FIN", "PSH", "URG", "ECE", "CWR", "NS"]
_VERDICTS = ("FORWARDED", "DROPPED", "ERROR", "AUDIT", "REDIRECTED", "TRACED", "TRANSLATED",
             "VERDICT_UNKNOWN")
# A policy-verdict event prints ALLOWED/DENIED/AUDITED where the flow's verdict goes.
_POLICY_VERDICTS = {"ALLOWED": "FORWARDED", "DENIED": "DROPPED", "AUDITED": "AUDIT"}
# How the compact form words relay node messages (printer.go WriteProtoNodeStatusEvent).
_NODE_STATES = {
    "NODE_CONNECTED": "Receiving flows from {n} nodes: {names}",
    "NODE_UNAVAILABLE": "{n} nodes are unavailable: {names}",
    "NODE_GONE": "{n} nodes removed from cluster: {names}",
    "NODE_ERROR": 'Error "{message}" on {n} nodes: {names}',
}
_NODE_STATE_TEXT = {
    "NODE_CONNECTED": r"Receiving flows from ",
    "NODE_UNAVAILABLE": r"\d+ nodes are unavailable",
    "NODE_GONE": r"\d+ nodes removed from cluster",
    "NODE_ERROR": r"Error ",
}
_POLICY_VERDICT_EVENT = 5  # monitor message type of policy-verdict events
_POLICY_MATCH = {0: "none", 1: "L3-Only", 2: "L3-L4", 3: "L4-Only", 4: "all"}
_TRACE_POINTS = {"to-proxy", "to-host", "to-stack", "to-overlay", "to-endpoint", "to-network",
                 "to-crypto", "from-endpoint", "from-proxy", "from-host", "from-stack",
                 "from-overlay", "from-network", "from-crypto"}


# --- JSON --------------------------------------------------------------------------------------


def _get(obj: object, *path: str) -> object:
    """obj[path0][path1]... or None where a level is missing or not an object."""
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _int(value: object, what: str) -> int | None:
    """A number from JSON; protojson prints 64-bit ints as strings."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ParseError(f"expected a number for {what}, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    raise ParseError(f"expected a number for {what}, got {value!r:.60}")


def _str(value: object, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ParseError(f"expected text for {what}, got {value!r:.60}")
    return value


def _time(value: object) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(str(value))
        return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    except (ValueError, TypeError):
        raise ParseError(f"expected an RFC 3339 time, got {value!r:.60}") from None


def _endpoint(flow: dict, side: str) -> dict:
    ep = flow.get(side) or {}
    if not isinstance(ep, dict):
        raise ParseError(f"expected an object for {side!r}, got {ep!r:.60}")
    labels = ep.get("labels")
    names = flow.get(f"{side}_names")
    port = None
    l4 = flow.get("l4")
    if isinstance(l4, dict):
        for proto in l4.values():
            if isinstance(proto, dict) and f"{side}_port" in proto:
                port = _int(proto[f"{side}_port"], f"l4 {side}_port")
    return {
        f"{side}_namespace": _str(ep.get("namespace"), f"{side}.namespace"),
        f"{side}_pod": _str(ep.get("pod_name"), f"{side}.pod_name"),
        f"{side}_ip": _str(_get(flow, "IP", side), f"IP.{side}"),
        f"{side}_port": port,
        f"{side}_identity": _int(ep.get("identity"), f"{side}.identity"),
        f"{side}_labels": labels if isinstance(labels, list) else None,
        f"{side}_names": names if isinstance(names, list) else None,
    }


def _json_event(flow: dict) -> str | None:
    """The event as the compact text names it (hubble's GetFlowType), where JSON says it."""
    l7 = flow.get("l7")
    if isinstance(l7, dict):
        kind = next((k for k in ("http", "dns", "kafka") if k in l7), "l7")
        return f"{kind}-{str(l7.get('type', '')).lower()}"
    point = flow.get("trace_observation_point")
    if isinstance(point, str) and point != "UNKNOWN_POINT":
        return point.lower().replace("_", "-")
    if _get(flow, "event_type", "type") == _POLICY_VERDICT_EVENT:
        match = _POLICY_MATCH.get(flow.get("policy_match_type") or 0, "unknown")
        return f"policy-verdict:{match} {flow.get('traffic_direction')}"
    xlate = flow.get("sock_xlate_point")
    m = re.fullmatch(r"SOCK_XLATE_POINT_(PRE|POST)_DIRECTION_(FWD|REV)", str(xlate))
    if m:
        return f"{m.group(1).lower()}-xlate-{m.group(2).lower()}"
    return None


def _flow_row(flow: dict, envelope: dict) -> dict:
    l4 = flow.get("l4") if isinstance(flow.get("l4"), dict) else {}
    protocol = next(iter(l4), None)
    flags = _get(l4, "TCP", "flags")
    tcp_flags = None
    if isinstance(flags, dict):
        tcp_flags = ",".join(f for f in _TCP_FLAGS if flags.get(f)) or None
    is_reply = flow.get("is_reply")
    if is_reply is None and flow.get("reply") is True:
        is_reply = True
    http = _get(flow, "l7", "http") or {}
    l7_type = _get(flow, "l7", "type")
    return {
        "time": _time(flow.get("time") or envelope.get("time")),
        "node": _str(flow.get("node_name") or envelope.get("node_name"), "node_name"),
        **_endpoint(flow, "source"),
        **_endpoint(flow, "destination"),
        "protocol": protocol,
        "tcp_flags": tcp_flags,
        "verdict": _str(flow.get("verdict"), "verdict"),
        "drop_reason": _str(flow.get("drop_reason_desc"), "drop_reason_desc"),
        "traffic_direction": _str(flow.get("traffic_direction"), "traffic_direction"),
        "trace_observation_point": _str(flow.get("trace_observation_point"),
                                        "trace_observation_point"),
        "is_reply": is_reply if isinstance(is_reply, bool) else None,
        "type": _str(flow.get("Type"), "Type"),
        "event": _json_event(flow),
        "l7_type": _str(l7_type, "l7.type"),
        "http_method": _str(_get(http, "method"), "l7.http.method"),
        "http_url": _str(_get(http, "url"), "l7.http.url"),
        "http_code": _int(_get(http, "code"), "l7.http.code"),
        "summary": _str(flow.get("Summary") or flow.get("summary"), "Summary"),
    }


def _lost_row(lost: dict, envelope: dict) -> dict:
    cpu = _get(lost, "cpu", "value")
    count = _int(lost.get("num_events_lost"), "num_events_lost")
    return {"time": _time(envelope.get("time")), "node": _str(envelope.get("node_name"), "node"),
            "type": "LOST_EVENTS", "event": _str(lost.get("source"), "lost_events.source"),
            "summary": f"CPU({cpu if cpu is not None else 0}) {count or 0}"}


def _node_status_row(status: dict, envelope: dict) -> dict:
    names = status.get("node_names") or []
    state = _str(status.get("state_change"), "state_change")
    template = _NODE_STATES.get(state or "", "{state}: {n} nodes: {names}")
    summary = template.format(state=state, n=len(names), names=", ".join(map(str, names)),
                              message=status.get("message", ""))
    return {"time": _time(envelope.get("time")), "node": _str(envelope.get("node_name"), "node"),
            "type": "NODE_STATUS", "event": state, "summary": summary}


# Keys a bare Flow (hubble CLI before v0.11, HUBBLE_COMPAT=legacy-json-output) has at the top.
_FLOW_KEYS = {"time", "verdict", "IP", "l4", "source", "destination", "Type", "event_type",
              "node_name", "ethernet", "uuid", "Summary"}


@parser("cat /var/run/cilium/hubble/events.log", "tail /var/run/cilium/hubble/events.log",
        form="text")
@parser("hubble observe", form="json")
def hubble_observe_json(output: str) -> pd.DataFrame:
    """``hubble observe -o json`` (also ``-o jsonpb``, and Hubble exporter files such as
    ``/var/run/cilium/hubble/events.log``): one row per flow. Reads the
    ``{"flow": {...}, "node_name": ..., "time": ...}`` envelope and the bare Flow object per
    line printed by hubble CLIs before v0.11. Columns: ``time``, ``node``; for ``source_*``
    and ``destination_*``: ``namespace``, ``pod``, ``ip``, ``port``, ``identity``,
    ``labels``, ``names`` (DNS names); then ``protocol`` (TCP, UDP, ICMPv4...),
    ``tcp_flags`` (``SYN,ACK``), ``verdict``, ``drop_reason`` (``POLICY_DENIED``),
    ``traffic_direction``, ``trace_observation_point``, ``is_reply`` (empty when unknown),
    ``type`` (L3_L4, L7, SOCK; LOST_EVENTS and NODE_STATUS for those events), ``event``
    (the event as the compact text names it: ``to-endpoint``, ``http-request``...),
    ``l7_type``, ``http_method``, ``http_url``, ``http_code``, ``summary``.
    """
    data = load_json(output)
    items = data if isinstance(data, list) else [data]
    rows = []
    for item in items:
        if not isinstance(item, dict):
            raise ParseError(f"expected one JSON object per flow, got {item!r:.60}")
        if isinstance(item.get("flow"), dict):
            rows.append(_flow_row(item["flow"], item))
        elif isinstance(item.get("lost_events"), dict):
            rows.append(_lost_row(item["lost_events"], item))
        elif isinstance(item.get("node_status"), dict):
            rows.append(_node_status_row(item["node_status"], item))
        elif _FLOW_KEYS & set(item):
            rows.append(_flow_row(item, {}))
        else:
            raise ParseError(f"not a hubble flow, lost_events or node_status event: "
                             f"{sorted(item)!r:.80}")
    return frame(rows, FLOW_COLUMNS)



# --- text --------------------------------------------------------------------------------------

_TIME = (r"(?P<time>[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}(?:\.\d+)?"
         r"|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)")
_VERDICT = "|".join((*_VERDICTS, *_POLICY_VERDICTS))
_POLICY_NAMES = r" BY [^()]+ \([^()]*\)(?:, [^()]+ \([^()]*\))*"
# Jan 13 13:47:20.932 [node]: SRC (ID:1) -> DST (world) EVENT VERDICT (SUMMARY)
_COMPACT = re.compile(
    rf"^{_TIME}(?: \[(?P<node>[^\]]*)\])?: (?P<src>\S+)(?: \((?P<src_id>[^()\s]+)\))?"
    r" (?P<arrow>->|<-|<>) (?P<dst>\S+)(?: \((?P<dst_id>[^()\s]+)\))?"
    rf" (?P<event>.+?) (?P<verdict>{_VERDICT})(?:{_POLICY_NAMES})? \((?P<summary>.*)\)$"
)
_LOST = re.compile(rf"^{_TIME} EVENTS LOST: (?P<source>\S+) (?P<summary>CPU\(-?\d+\) \d+.*)$")
_NODE_STATUS = re.compile(
    rf"^{_TIME} \[(?P<node>[^\]]*)\]: (?P<summary>Receiving flows from \d+ nodes.*"
    r"|\d+ nodes are unavailable.*|\d+ nodes removed from cluster.*|Error .* on \d+ nodes.*"
    r"|unknown node status event.*)$"
)
_TABLE = re.compile(rf"^{_TIME}\s{{2,}}(?P<rest>\S.*)$")
_TABLE_HEADER = re.compile(r"^TIMESTAMP\s+(NODE\s+)?SOURCE\s+DESTINATION\s+TYPE\s+VERDICT"
                           r"\s+SUMMARY$")
_L7_EVENT = re.compile(r"^(http|dns|kafka|l7)-(request|response|sample)(?: \S+)?$")
_POLICY_EVENT = re.compile(r"^policy-verdict:\S+ (INGRESS|EGRESS|TRAFFIC_DIRECTION_UNKNOWN)$")


def _text_time(text: str, number: int, line: str) -> pd.Timestamp:
    """A compact-form time. ``Jan 13 13:47:20.932`` has no year: the current year is assumed
    (the previous one if that would put the flow more than a day in the future)."""
    try:
        if text[0].isdigit():
            stamp = pd.Timestamp(text)
            return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        now = datetime.now(UTC)
        stamp = pd.Timestamp(f"{now.year} {' '.join(text.split())}", tz="UTC")
        if stamp > pd.Timestamp(now) + pd.Timedelta(days=1):
            stamp = stamp.replace(year=now.year - 1)
        return stamp
    except (ValueError, TypeError):
        raise fail(f"expected a time like 'Jan 13 13:47:20.932', got {text!r}",
                   number, line) from None


def _identity(text: str | None, number: int, line: str) -> int | None:
    if text is None:
        return None
    if text.startswith("ID:") and text[3:].isdigit():
        return int(text[3:])
    if text in _RESERVED:
        return _RESERVED[text]
    raise fail(f"unknown identity ({text})", number, line)


def _host(text: str, side: str, number: int, line: str) -> dict:
    """``ns/pod:port``, ``10.0.0.1:80``, ``[fd00::1]:53``, ``ff02::2``, ``dns.name:443``."""
    host, port = text, None
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else None
    elif text.count(":") == 1:
        host, port = text.split(":")
    if port is not None and not port.isdigit():
        raise fail(f"expected a port number after ':' in {text!r}", number, line)
    row: dict = {f"{side}_port": int(port) if port else None}
    try:
        row[f"{side}_ip"] = str(ipaddress.ip_address(host))
        return row
    except ValueError:
        pass
    if "/" in host:
        namespace, _, pod = host.partition("/")
        row[f"{side}_namespace"], row[f"{side}_pod"] = namespace, pod
    elif host.count(":") >= 2:  # a MAC address: flows without an IP layer
        row[f"{side}_ip"] = None
    else:
        row[f"{side}_names"] = host.split(",")
    return row


def _summary_facts(summary: str) -> dict:
    """Protocol, TCP flags and HTTP facts the summary states."""
    facts: dict = {}
    m = re.match(r"^TCP Flags: (.*)$", summary)
    if m:
        facts["protocol"] = "TCP"
        facts["tcp_flags"] = ",".join(f.strip() for f in m.group(1).split(","))
        return facts
    m = re.match(r"^(TCP|UDP|SCTP|ICMPv4|ICMPv6)\b", summary)
    if m:
        facts["protocol"] = m.group(1)
        return facts
    m = re.match(r"^HTTP/\S+ (\d{3}) \S+ \((\S+) (\S+)\)$", summary)
    if m:
        facts.update(http_code=int(m.group(1)), http_method=m.group(2), http_url=m.group(3))
        return facts
    m = re.match(r"^HTTP/\S+ ([A-Z]+) (\S+)$", summary)
    if m:
        facts.update(http_method=m.group(1), http_url=m.group(2))
    return facts


def _event_facts(event: str, verdict: str) -> dict:
    """What the event slot of a text row says: L7 kind, trace point, direction, drop reason."""
    m = _L7_EVENT.match(event)
    if m:
        return {"type": "L7", "l7_type": m.group(2).upper()}
    if re.fullmatch(r"(pre|post)-xlate-(fwd|rev)", event):
        return {"type": "SOCK"}
    m = _POLICY_EVENT.match(event)
    if m:
        return {"type": "L3_L4", "traffic_direction": m.group(1)}
    if event in _TRACE_POINTS:
        return {"type": "L3_L4", "trace_observation_point": event.upper().replace("-", "_")}
    if event == "EVENTS LOST":
        return {"type": "LOST_EVENTS"}
    facts = {"type": "L3_L4"}
    if verdict in ("DROPPED", "ERROR"):  # drops print their reason here: "Policy denied"
        facts["drop_reason"] = re.sub(r"[^A-Z0-9]+", "_", event.upper()).strip("_")
    return facts


def _row(time: pd.Timestamp, node: str | None, event: str, verdict: str, summary: str) -> dict:
    verdict = _POLICY_VERDICTS.get(verdict, verdict)
    return {"time": time, "node": node, "event": event, "verdict": verdict,
            "summary": summary, **_event_facts(event, verdict), **_summary_facts(summary)}


def _table_row(number: int, line: str, m: re.Match) -> dict:
    """A row of the 2020 table form (and ``-o table``): columns apart by 2+ spaces."""
    fields = re.split(r"\s{2,}", m["rest"])
    at = next((i for i in (2, 3) if i < len(fields) and fields[i + 1:i + 2]
               and fields[i + 1].split(" ")[0] in (*_VERDICTS, *_POLICY_VERDICTS, "-")), None)
    if at is None:
        raise fail("expected 'TIME  SOURCE  DESTINATION  TYPE  VERDICT  SUMMARY'", number, line)
    node = fields[0] if at == 3 else None
    src, dst, event, verdict = fields[at - 2], fields[at - 1], fields[at], fields[at + 1]
    summary = "  ".join(fields[at + 2:])
    row = _row(_text_time(m["time"], number, line), node, event, verdict.split(" ")[0], summary)
    if event == "EVENTS LOST":
        return {**row, "event": src, "verdict": None}
    return {**row, **_host(src, "source", number, line), **_host(dst, "destination", number, line)}


@parser("hubble observe", form="text")
def hubble_observe(output: str) -> pd.DataFrame:
    """``hubble observe`` text: the compact default (``Jan 13 13:47:20.932: SRC (ID:n) -> DST
    (ID:n) to-endpoint FORWARDED (TCP Flags: SYN)``, with or without identities and
    ``[node]``), and the 2020 table form (columns apart by spaces, no arrows). The same
    columns as :func:`hubble_observe_json`, filled where the text states the fact: a ``<-``
    row is a reply printed destination first, so source and destination are swapped back
    (``is_reply`` True); ``<>`` leaves ``is_reply`` empty (unknown); names such as
    ``(world)`` become identity numbers; ``policy-verdict`` rows say ALLOWED/DENIED, read as
    FORWARDED/DROPPED; a drop's reason (``Policy denied``) becomes ``POLICY_DENIED``. The
    text has no year: the current year is assumed. ``EVENTS LOST`` lines and relay node
    messages become LOST_EVENTS and NODE_STATUS rows.
    """
    rows = []
    for number, line in lines(output):
        line = line.strip()
        if _TABLE_HEADER.match(line):
            continue
        if m := _NODE_STATUS.match(line):
            state = next((state for state, pattern in _NODE_STATE_TEXT.items()
                          if re.match(pattern, m["summary"])), None)
            rows.append({"time": _text_time(m["time"], number, line), "node": m["node"],
                         "type": "NODE_STATUS", "event": state, "summary": m["summary"]})
        elif m := _LOST.match(line):
            rows.append({"time": _text_time(m["time"], number, line), "type": "LOST_EVENTS",
                         "event": m["source"], "summary": m["summary"]})
        elif m := _COMPACT.match(line):
            row = _row(_text_time(m["time"], number, line), m["node"], m["event"],
                       m["verdict"], m["summary"])
            src = {**_host(m["src"], "source", number, line),
                   "source_identity": _identity(m["src_id"], number, line)}
            dst = {**_host(m["dst"], "destination", number, line),
                   "destination_identity": _identity(m["dst_id"], number, line)}
            if m["arrow"] == "<-":  # hubble prints a reply destination first
                src, dst = ({k.replace("destination_", "source_"): v for k, v in dst.items()},
                            {k.replace("source_", "destination_"): v for k, v in src.items()})
            row["is_reply"] = {"->": False, "<-": True, "<>": None}[m["arrow"]]
            rows.append({**row, **src, **dst})
        elif m := _TABLE.match(line):
            rows.append(_table_row(number, line, m))
        else:
            raise fail("expected a flow line 'TIME: SRC -> DST EVENT VERDICT (SUMMARY)'",
                       number, line)
    return frame(rows, FLOW_COLUMNS)
