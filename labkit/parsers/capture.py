"""Parsers for packet captures printed as text: ``tcpdump`` and ``ngrep`` (chapter 07).

Chapter 07 runs ``tcpdump -enni any -q`` in netpod while it curls the service: the lines show
the BACKEND address, never the service address (the socket was rewritten at connect()).
``ngrep -tW byline`` shows the HTTP request whose Host header still carries the service
address.
"""

from __future__ import annotations

import re

import pandas as pd

from labkit.parsers._registry import parser
from labkit.parsers._text import fail, frame, lines

__all__ = ["tcpdump", "ngrep"]

# ---------------------------------------------------------------------------------------------
# tcpdump

TCPDUMP_COLUMNS = {
    "time": "str",
    "interface": "str",
    "direction": "str",
    "ifindex": "int",
    "src_mac": "str",
    "dst_mac": "str",
    "ethertype": "str",
    "src_ip": "str",
    "src_port": "int",
    "dst_ip": "str",
    "dst_port": "int",
    "protocol": "str",
    "length": "int",
    "tcp_flags": "str",
    "info": "str",
}

_MAC = r"(?:[0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}"
_PACKET = re.compile(
    # -t.. time stamps: 08:54:55.454271 (default), 2024-10-20 08:54:55.454271 (-tttt),
    # 1729414495.454271 (-tt), 00:00:00.000123 (-ttt/-ttttt deltas).
    r"^(?P<time>(?:\d{4}-\d{2}-\d{2} )?\d{2}:\d{2}:\d{2}\.\d+|\d+\.\d+)\s+"
    # -i any: interface, direction (In, Out, M multicast, B broadcast, P other host), ifindex
    r"(?:(?P<interface>\S+)\s+(?P<direction>In|Out|M|B|P|U)\s+(?:ifindex (?P<ifindex>\d+)\s+)?)?"
    # -e: the MAC address(es), then (except with -i any -q) the ethertype and frame length
    rf"(?:(?P<src_mac>{_MAC})(?: > (?P<dst_mac>{_MAC}))?,?\s+"
    r"(?:(?:ethertype )?(?P<ethertype>[\w.-]+)(?: \(0x[0-9a-fA-F]{4}\))?, length \d+: )?)?"
    r"(?P<rest>.*)$"
)
_LAYER3 = re.compile(r"^(?P<l3>IP6?|ARP),? ")
_ETHERTYPES = {"IP": "IPv4", "IP6": "IPv6", "ARP": "ARP"}
_ARP = re.compile(
    r"^(?:Request who-has (?P<target>\S+)(?: \(\S+\))? tell (?P<sender>[^,\s]+)"
    r"|Reply (?P<replier>\S+) is-at (?P<mac>[^,\s]+))"
)
_FLOW = re.compile(r"^(?P<src>\S+) > (?P<dst>\S+): (?P<info>.*)$")
_IPV4 = re.compile(r"^(\d{1,3}(?:\.\d{1,3}){3})(?:\.(\w+))?$")
_IPV6_PORT = re.compile(r"^([0-9a-fA-F:]*:[0-9a-fA-F:]*)\.(\d+)$")
_LENGTH = re.compile(r"length (\d+)")
_QUIET = re.compile(r"^(?P<protocol>tcp|udp|sctp) (?P<length>\d+)")
_FLAGS = re.compile(r"Flags \[([^\]]*)\]")
_TCPDUMP_KNOWN = re.compile(
    r"^(?:tcpdump: .*|listening on .*|reading from file .*|\d+ packets? (?:captured|received by "
    r"filter|dropped by (?:kernel|interface))|Warning: .*)$"
)


def _endpoint(text: str) -> tuple[str, int | None]:
    """``10.0.0.1.80`` -> ("10.0.0.1", 80); ``::1.8080`` -> ("::1", 8080); names kept whole."""
    m = _IPV4.match(text)
    if m:
        port = m[2]
        return m[1], int(port) if port and port.isdigit() else None
    m = _IPV6_PORT.match(text)
    if m:
        return m[1], int(m[2])
    return text, None


def _protocol(info: str) -> str | None:
    quiet = _QUIET.match(info)
    if quiet:
        return quiet["protocol"]
    if info.startswith("Flags ["):
        return "tcp"
    if info.startswith("UDP"):
        return "udp"
    if "ICMP6" in info[:12]:
        return "icmp6"
    if info.startswith("ICMP"):
        return "icmp"
    return None


@parser("tcpdump")
def tcpdump(output: str) -> pd.DataFrame:
    """``tcpdump -n`` packet lines (``-e``, ``-i any``, ``-q`` or not): one row per packet.

    Columns: ``time`` (as printed), ``interface``, ``direction`` (In, Out, M, B, P) and
    ``ifindex`` (``-i any``), ``src_mac``/``dst_mac`` (``-e``; with ``-i any`` tcpdump prints
    the sender's MAC only), ``ethertype`` (IPv4, IPv6, ARP: as printed, or from the addresses
    when tcpdump leaves it out), ``src_ip``, ``src_port``, ``dst_ip``, ``dst_port``,
    ``protocol`` (tcp, udp, icmp, icmp6, arp; None where the line does not say),
    ``length`` (payload length: ``tcp 77``, ``length 64``), ``tcp_flags`` (``S.``, ``P.``),
    ``info`` (the rest of the line). ARP rows put the asker in ``src_ip`` and the address
    asked about in ``dst_ip``; a reply puts the answering address in ``src_ip``. The banner
    (``listening on ...``) and the closing counts (``N packets captured``) are known lines.
    """
    rows = []
    for number, line in lines(output):
        text = line.strip()
        if _TCPDUMP_KNOWN.match(text):
            continue
        m = _PACKET.match(text)
        if not m:
            raise fail("not a tcpdump packet line (time [interface In|Out] ...)", number, line)
        row = {k: m[k] for k in ("time", "interface", "direction", "src_mac", "dst_mac",
                                  "ethertype")}
        row["ifindex"] = int(m["ifindex"]) if m["ifindex"] else None
        rest = m["rest"]
        l3 = _LAYER3.match(rest)
        if l3:
            row["ethertype"] = row["ethertype"] or _ETHERTYPES[l3["l3"]]
            rest = rest[l3.end():]
        arp = _ARP.match(rest)
        flow = None if arp else _FLOW.match(rest)
        if arp:
            row.update(protocol="arp", ethertype=row["ethertype"] or "ARP", info=rest,
                       src_ip=arp["sender"] or arp["replier"], dst_ip=arp["target"])
        elif flow:
            info = flow["info"]
            row["src_ip"], row["src_port"] = _endpoint(flow["src"])
            row["dst_ip"], row["dst_port"] = _endpoint(flow["dst"])
            row["info"] = info
            row["protocol"] = _protocol(info)
            quiet = _QUIET.match(info)
            lengths = _LENGTH.findall(info.split(": ")[0])
            row["length"] = int(quiet["length"]) if quiet else int(lengths[-1]) if lengths else None
            flags = _FLAGS.search(info)
            row["tcp_flags"] = flags[1] if flags else None
            if not row["ethertype"]:
                row["ethertype"] = "IPv6" if ":" in (row["src_ip"] or "") else "IPv4"
        else:
            row["info"] = rest  # a frame tcpdump shows without addresses (LLDP, STP, ...)
        if arp:
            lengths = _LENGTH.findall(rest)
            row["length"] = int(lengths[-1]) if lengths else None
        rows.append(row)
    return frame(rows, TCPDUMP_COLUMNS)


# ---------------------------------------------------------------------------------------------
# ngrep

NGREP_COLUMNS = {
    "time": "str",
    "protocol": "str",
    "src_ip": "str",
    "src_port": "int",
    "dst_ip": "str",
    "dst_port": "int",
    "tcp_flags": "str",
    "icmp_type": "int",
    "icmp_code": "int",
    "packet_number": "int",
    "payload": "str",
    "http_request_line": "str",
    "http_host": "str",
}

_NGREP_HEADER = re.compile(
    r"^(?P<protocol>[A-Z?]) "
    r"(?:(?P<time>\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}\.\d+|\+\d+\.\d+) )?"
    r"(?P<src>\S+) -> (?P<dst>\S+)"
    r"(?: (?P<icmp_type>\d+):(?P<icmp_code>\d+))?(?: \[(?P<flags>[A-Z]*)\])?(?: #(?P<number>\d+))?$"
)
_NGREP_KNOWN = re.compile(
    r"^(?:interface: .*|filter: .*|match: .*|input: .*|output: .*|#+|#*exit"
    r"|\d+ received, \d+ matched|\d+ received, \d+ dropped.*)$"
)
_REQUEST_LINE = re.compile(r"^([A-Z]+ \S+ HTTP/\d(?:\.\d)?)")
_HOST = re.compile(r"(?:^|\n|\.\.)Host: (.*?)(?:\n|\.\.|$)", re.IGNORECASE)


def _ngrep_endpoint(text: str, with_port: bool) -> tuple[str, int | None]:
    if with_port and ":" in text:
        host, _, port = text.rpartition(":")
        if port.isdigit():
            return host.strip("[]"), int(port)
    return text, None


def _payload(raw: list[str]) -> str:
    """The payload of one packet from its printed lines, both ngrep layouts.

    Default layout: lines indented by two spaces and padded to one width, wrapped: joined back
    without separators (non-printable bytes stay ``.``). ``-W byline``: one line per line of the
    payload; when every line ends in ``.`` (the ``\\r`` of CRLF), that ``.`` is dropped.
    """
    while raw and not raw[-1].strip():
        raw = raw[:-1]
    if not raw:
        return ""
    width = len(raw[0])
    wrapped = len(raw) > 0 and all(r.startswith("  ") and len(r) == width for r in raw)
    if wrapped and (len(raw) > 1 or raw[0].endswith(" ")):
        return "".join(r[2:] for r in raw).rstrip()
    body = [r.rstrip("\r") for r in raw]
    if all(r.endswith(".") for r in body if r):
        body = [r[:-1] for r in body]
    return "\n".join(body)


@parser("ngrep")
def ngrep(output: str) -> pd.DataFrame:
    """``ngrep`` packets (``-W byline`` or the default layout, with or without ``-t``).

    One row per packet: ``time`` (``-t``, as printed), ``protocol`` (T tcp, U udp, I icmp, as
    ngrep prints it), ``src_ip``, ``src_port``, ``dst_ip``, ``dst_port``, ``tcp_flags``
    (``AP``), ``icmp_type``/``icmp_code``, ``packet_number`` (``#34``), ``payload`` (text;
    in byline mode the ``.`` that stands for each ``\\r`` is removed), and for HTTP
    ``http_request_line`` (``GET / HTTP/1.1``) and ``http_host`` (the Host header: chapter 07
    sees the service address there). ``interface:``, ``filter:``, ``#`` and closing lines are
    known lines.
    """
    rows: list[dict] = []
    current: dict | None = None
    payload: list[str] = []

    def close() -> None:
        if current is None:
            return
        text = _payload(payload)
        request, host = _REQUEST_LINE.match(text), _HOST.search(text)
        current.update(payload=text, http_request_line=request[1] if request else None,
                       http_host=host[1].strip() if host else None)

    for number, line in enumerate(output.splitlines(), start=1):
        header = _NGREP_HEADER.match(line.rstrip())
        if header:
            close()
            payload = []
            with_port = header["protocol"] in ("T", "U")
            current = {"time": header["time"], "protocol": header["protocol"],
                       "tcp_flags": header["flags"],
                       "packet_number": int(header["number"]) if header["number"] else None,
                       "icmp_type": int(header["icmp_type"]) if header["icmp_type"] else None,
                       "icmp_code": int(header["icmp_code"]) if header["icmp_code"] else None}
            current["src_ip"], current["src_port"] = _ngrep_endpoint(header["src"], with_port)
            current["dst_ip"], current["dst_port"] = _ngrep_endpoint(header["dst"], with_port)
            rows.append(current)
            continue
        if _NGREP_KNOWN.match(line.strip()):
            close()
            current = None
            payload = []
            continue
        if current is not None:
            payload.append(line)
            continue
        if not line.strip() or line.strip() in ("...", "[...]", "…"):
            continue
        raise fail("not an ngrep line (a packet header 'T src:port -> dst:port' or its "
                   "payload)", number, line)
    close()
    return frame(rows, NGREP_COLUMNS)
