"""Parsers for iproute2 (``ip addr``, ``ip link``, ``ip route``, ``ip neigh``) and ``route -n``.

Chapters 01, 03 and 05 look at a node's and a pod's interfaces: cilium_net and cilium_host
are a veth pair (``cilium_net@cilium_host``), cilium_host holds the pods' gateway as a /32,
each pod's eth0 is a veth whose peer lives in another namespace (``eth0@if12``), the pod's
routes all go via that gateway, and the gateway's MAC in ``ip neigh`` is the lxc's.
Every spelling is read: the full text form (also tab-indented, with ``...`` elisions and the
escape codes of ``ip -c``), the brief form (``ip -br``) and the JSON form (``ip -j``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

import pandas as pd

from labkit.parsers._registry import parser
from labkit.parsers._text import fail, frame, json_array, lines

__all__ = ["ip_addr", "ip_addr_json", "ip_link", "ip_link_json", "ip_route", "ip_route_json",
           "route_table", "ip_neigh", "ip_neigh_json"]

# `ip -c` colours names, addresses and states with ANSI escape codes.
_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


def _numbered(output: str) -> Iterator[tuple[int, str]]:
    """Numbered lines without colour codes, leading space kept."""
    yield from lines(_COLOUR.sub("", output))


def _int(text: str, number: int, line: str) -> int:
    if not re.fullmatch(r"-?\d+", text):
        raise fail(f"expected a number, found {text!r}", number, line)
    return int(text)


def _family(address: str | None) -> str | None:
    if not address:
        return None
    return "inet6" if ":" in address else "inet"


def _name_and_peer(text: str) -> tuple[str, str | None]:
    """``cilium_net@cilium_host`` -> ("cilium_net", "cilium_host"); ``eth0@if12`` -> peer if12."""
    name, _, peer = text.partition("@")
    return name, peer or None


# ---------------------------------------------------------------------------------------------
# ip addr / ip link: the full text form

# `5: cilium_net@cilium_host: <BROADCAST,...,LOWER_UP> mtu 1500 qdisc noqueue state UP ...`
_HEADER = re.compile(
    r"^\s*(?P<ifindex>\d+):\s+(?P<name>[^\s:]+):\s+<(?P<flags>[^>]*)>(?P<rest>.*)$")
_ADDRESS = re.compile(r"^(?P<family>inet6?)\s+(?P<address>[^\s/]+)(?:/(?P<prefix_len>\d+))?"
                      r"(?P<rest>(?:\s.*)?)$")
_XDP = re.compile(r"^(?P<mode>xdp(?:generic|drv|offload|multi)?)(?:/id:(?P<id>\d+))?$")
# Words a details line of `ip -d` starts with when the interface has no kind (lo, a NIC).
_NOT_KINDS = {"addrgenmode", "numtxqueues", "numrxqueues", "promiscuity", "gso_max_size"}
_STATS = re.compile(r"^(RX|TX)(:|\s)|^\s*\d+(\s+\d+)+\s*$|^(RX|TX) errors")

INTERFACE_COLUMNS = {
    "ifindex": "int",
    "ifname": "str",
    "peer": "str",
    "flags": "list",
    "mtu": "int",
    "qdisc": "str",
    "state": "str",
    "mac": "str",
    "link_netnsid": "int",
    "link_netns": "str",
}

ADDR_COLUMNS = {
    **{k: v for k, v in INTERFACE_COLUMNS.items() if k != "qdisc"},
    "family": "str",
    "address": "str",
    "prefix_len": "int",
    "broadcast": "str",
    "scope": "str",
}

LINK_COLUMNS = {**INTERFACE_COLUMNS, "master": "str", "kind": "str", "xdp": "str",
                "altnames": "list"}


def _read_header(m: re.Match, number: int, line: str) -> dict:
    name, peer = _name_and_peer(m["name"])
    iface: dict = {
        "ifindex": int(m["ifindex"]), "ifname": name, "peer": peer,
        "flags": [f for f in m["flags"].split(",") if f], "addrs": [], "altnames": [],
        "details": 0,
    }
    words = m["rest"].split()
    i = 0
    while i < len(words):
        word = words[i]
        xdp = _XDP.match(word)
        if xdp:
            iface["xdp"] = xdp["mode"]
            i += 1
            continue
        if i + 1 >= len(words):
            raise fail(f"{word!r} has no value in this interface line", number, line)
        value = words[i + 1]
        if word in ("mtu", "qlen"):
            iface[word] = _int(value, number, line)
        elif word == "link-netnsid":
            iface["link_netnsid"] = _int(value, number, line)
        elif word == "link-netns":
            iface["link_netns"] = value
        elif word in ("qdisc", "state", "master", "mode", "group"):
            iface[word] = value
        i += 2
    return iface


def _read_link_line(iface: dict, text: str, number: int, line: str) -> None:
    """``link/ether MAC brd MAC [link-netns X | link-netnsid N] [promiscuity 0 ...]``."""
    words = text.split()
    if len(words) > 1 and words[1] not in ("brd", "peer", "link-netns", "link-netnsid"):
        iface["mac"] = words[1]
    for key, value in zip(words, words[1:], strict=False):
        if key == "link-netnsid":
            iface["link_netnsid"] = _int(value, number, line)
        elif key == "link-netns":
            iface["link_netns"] = value


def _read_address(m: re.Match, number: int, line: str) -> dict:
    rest = m["rest"].split()
    addr = {"family": m["family"], "address": m["address"],
            "prefix_len": int(m["prefix_len"]) if m["prefix_len"] else None}
    for key, value in zip(rest, rest[1:], strict=False):
        if key == "scope":
            addr["scope"] = value
        elif key == "brd":
            addr["broadcast"] = value
    # An IPv4 line ends with its label, the interface's name (or name:alias).
    flag_words = ("dynamic", "noprefixroute", "secondary", "deprecated")
    if (m["family"] == "inet" and rest and rest[-1] not in flag_words
            and (len(rest) < 2 or rest[-2] not in ("scope", "brd", "peer", "metric"))):
        addr["label"] = rest[-1]
    if "scope" not in addr:
        raise fail("an address line without a scope", number, line)
    return addr


def _interfaces(output: str) -> list[dict]:
    """The interfaces of a full-form ``ip addr`` / ``ip link`` output, with their addresses.

    Address lines before any interface line (``ip addr | grep inet``) come back on
    interfaces of their own that know only the label.
    """
    ifaces: list[dict] = []
    current: dict | None = None
    for number, line in _numbered(output):
        text = line.strip()
        m = _HEADER.match(line)
        if m:
            current = _read_header(m, number, line)
            ifaces.append(current)
            continue
        a = _ADDRESS.match(text)
        if a:
            addr = _read_address(a, number, line)
            if current is None:
                label = addr.get("label")
                ifaces.append({"ifname": label.split(":")[0] if label else None,
                               "addrs": [addr], "flags": None, "altnames": [], "loose": True})
            else:
                current["addrs"].append(addr)
            continue
        if re.match(r"^valid_lft \S+ preferred_lft \S+$", text):
            continue
        if _STATS.match(text):
            raise fail("interface statistics (ip -s) are not read; run the command without -s",
                       number, line)
        if current is None:
            raise fail("expected an interface line (`N: name: <FLAGS> mtu ...`)", number, line)
        if text.startswith("link/"):
            _read_link_line(current, text, number, line)
            current["link_seen"] = True
        elif text.startswith("altname "):
            current["altnames"].append(text.split()[1])
        elif text.startswith("prog/xdp"):
            continue
        elif current.get("link_seen") and re.match(r"^[a-z][a-z0-9_]*(\s|$)", text):
            # `ip -d`: the details line after link/...: the kind comes first (veth, vxlan...)
            word = text.split()[0]
            if current["details"] == 0 and word not in _NOT_KINDS:
                current["kind"] = word
            current["details"] += 1
        else:
            raise fail("expected a link/..., inet or inet6 line", number, line)
    return ifaces


# ---------------------------------------------------------------------------------------------
# the brief form (ip -br)

_STATES = {"UP", "DOWN", "UNKNOWN", "LOWERLAYERDOWN", "DORMANT", "NOTPRESENT", "TESTING"}


def _brief_rows(output: str, link: bool) -> list[dict]:
    rows = []
    for number, line in _numbered(output):
        words = line.split()
        if len(words) < 2 or words[1] not in _STATES:
            raise fail("expected a brief line (`name  STATE  ...`)", number, line)
        name, peer = _name_and_peer(words[0])
        row = {"ifname": name, "peer": peer, "state": words[1]}
        rest = words[2:]
        if link:
            if rest and not rest[0].startswith("<"):
                row["mac"] = rest.pop(0)
            if len(rest) != 1 or not re.fullmatch(r"<[^>]*>", rest[0]):
                raise fail("expected `name  STATE  MAC  <FLAGS>`", number, line)
            row["flags"] = [f for f in rest[0][1:-1].split(",") if f]
            rows.append(row)
            continue
        if not rest:
            rows.append(row)
        for cidr in rest:
            address, _, length = cidr.partition("/")
            if not length.isdigit():
                raise fail(f"expected address/prefix, found {cidr!r}", number, line)
            rows.append({**row, "family": _family(address), "address": address,
                         "prefix_len": int(length)})
    return rows


def _is_full(output: str) -> bool:
    for _, line in _numbered(output):
        if _HEADER.match(line) or re.match(r"^\s+(inet6?\s|link/)", line):
            return True
    return False


# ---------------------------------------------------------------------------------------------
# ip addr


@parser("ip addr", form="text")
def ip_addr(output: str) -> pd.DataFrame:
    """``ip addr`` (``ip a``, ``ip -c addr``, ``ip -4 addr``, ``ip addr show dev X``, ``ip -br
    addr``): the addresses of each interface.

    One row per address; an interface without an address still comes once, its address
    columns empty. Columns: ``ifindex``, ``ifname``, ``peer`` (the other end of a veth:
    ``cilium_host`` in ``cilium_net@cilium_host``, ``if12`` in ``eth0@if12``), ``flags``
    (list), ``mtu``, ``state``, ``mac``, ``link_netnsid`` / ``link_netns`` (the peer's
    namespace, by id or by name), ``family`` (inet/inet6), ``address``, ``prefix_len``,
    ``broadcast``, ``scope``. The brief form fills only name, peer, state and the addresses.
    """
    if not _is_full(output):
        return frame(_brief_rows(output, link=False), ADDR_COLUMNS)
    rows = []
    for iface in _interfaces(output):
        facts = {k: iface.get(k) for k in INTERFACE_COLUMNS}
        if not iface["addrs"]:
            rows.append(facts)
        for addr in iface["addrs"]:
            rows.append({**facts, **addr})
    return frame(rows, ADDR_COLUMNS)


def _json_interfaces(output: str) -> list[dict]:
    data = json_array(output, "expected the JSON array of interfaces that `ip -j` prints", dict)
    return [x for x in data if x]  # `ip -j -4 addr` leaves {} for filtered-out interfaces


def _json_facts(item: dict) -> dict:
    peer = item.get("link")
    if peer is None and item.get("link_index") is not None:
        peer = f"if{item['link_index']}"
    flags = item.get("flags")
    return {
        "ifindex": item.get("ifindex"), "ifname": item.get("ifname"), "peer": peer,
        "flags": list(flags) if isinstance(flags, list) else None, "mtu": item.get("mtu"),
        "qdisc": item.get("qdisc"), "state": item.get("operstate"), "mac": item.get("address"),
        "link_netnsid": item.get("link_netnsid"), "link_netns": item.get("link_netns"),
    }


def _checked(build, item):
    try:
        return build(item)
    except (TypeError, ValueError, AttributeError, KeyError) as e:
        raise fail(f"unexpected JSON entry ({e})", None, str(item)[:200]) from None


@parser("ip addr", form="json")
def ip_addr_json(output: str) -> pd.DataFrame:
    """``ip -j addr``: the same rows and columns as :func:`ip_addr`, from the JSON form.

    Each interface's ``addr_info`` entries become rows (``local`` -> ``address``,
    ``prefixlen`` -> ``prefix_len``); ``link`` or ``link_index`` gives ``peer``.
    """
    rows = []

    def build(item):
        facts = _json_facts(item)
        infos = item.get("addr_info") or []
        out = [] if infos else [facts]
        for info in infos:
            address = info.get("local")
            out.append({**facts, "family": info.get("family") or _family(address),
                        "address": address, "prefix_len": info.get("prefixlen"),
                        "broadcast": info.get("broadcast"), "scope": info.get("scope")})
        return out

    for item in _json_interfaces(output):
        rows.extend(_checked(build, item))
    return frame(rows, ADDR_COLUMNS)


# ---------------------------------------------------------------------------------------------
# ip link


@parser("ip link", form="text")
def ip_link(output: str) -> pd.DataFrame:
    """``ip link`` (``ip -d link``, ``ip -br link``, ``ip -c link``): one row per interface.

    Columns: ``ifindex``, ``ifname``, ``peer`` (veth peer: a name, or ``ifN`` when it lives in
    another namespace), ``flags`` (list), ``mtu``, ``qdisc``, ``state``, ``mac``,
    ``link_netnsid`` / ``link_netns`` (the peer's namespace), ``master`` (the bridge or bond
    it belongs to), ``kind`` (veth, vxlan, bridge...: only with ``-d``), ``xdp`` (the XDP
    mode when a program is attached: xdp, xdpgeneric, xdpoffload), ``altnames`` (list).
    """
    if not _is_full(output):
        return frame(_brief_rows(output, link=True), LINK_COLUMNS)
    rows = []
    for iface in _interfaces(output):
        if iface.get("loose"):
            raise fail("an address line without its interface; is this `ip addr` output?",
                       None, None)
        rows.append({k: iface.get(k) for k in LINK_COLUMNS})
    return frame(rows, LINK_COLUMNS)


_XDP_MODES = {1: "xdp", 2: "xdpgeneric", 3: "xdpoffload", 4: "xdpmulti"}


@parser("ip link", form="json")
def ip_link_json(output: str) -> pd.DataFrame:
    """``ip -j link`` (and ``ip -j -d link``): the same columns as :func:`ip_link`.

    ``kind`` comes from ``linkinfo.info_kind`` (present with ``-d``), ``xdp`` from
    ``xdp.mode``.
    """

    def build(item):
        row = _json_facts(item)
        info = item.get("linkinfo") or {}
        xdp = item.get("xdp") or {}
        row.update(master=item.get("master"), kind=info.get("info_kind"),
                   xdp=_XDP_MODES.get(xdp.get("mode")), altnames=list(item.get("altnames") or []))
        return row

    rows = [_checked(build, item) for item in _json_interfaces(output)]
    return frame(rows, LINK_COLUMNS)


# ---------------------------------------------------------------------------------------------
# ip route

ROUTE_COLUMNS = {
    "dst": "str",
    "prefix_len": "int",
    "gateway": "str",
    "dev": "str",
    "protocol": "str",
    "scope": "str",
    "src": "str",
    "metric": "int",
    "table": "str",
    "type": "str",
    "mtu": "int",
    "flags": "list",
}

_ROUTE_TYPES = {"unicast", "local", "broadcast", "multicast", "blackhole", "unreachable",
                "prohibit", "throw", "nat", "anycast"}
_ROUTE_FLAGS = {"onlink", "linkdown", "dead", "pervasive", "offload", "trap", "notify",
                "rt_offload", "rt_trap", "rt_offload_failed", "cache"}
# Words followed by one value; the ones labkit keeps are mapped to a column.
_ROUTE_KEYS = {"via": "gateway", "dev": "dev", "table": "table", "proto": "protocol",
               "scope": "scope", "src": "src", "metric": "metric", "mtu": "mtu"}
_ROUTE_OTHER = {"pref", "expires", "error", "advmss", "rtt", "rttvar", "window", "cwnd",
                "initcwnd", "initrwnd", "quickack", "hoplimit", "realm", "realms", "nhid",
                "weight", "from", "tos", "dsfield", "congctl", "features", "ssthresh",
                "reordering", "fastopen_no_cookie", "rto_min", "ttl-propagate", "uid", "iif",
                "oif", "mark", "ipid", "used", "age", "users", "cache"}


def _dst(text: str) -> tuple[str, int | None]:
    if text == "default":
        return "default", 0
    address, _, length = text.partition("/")
    if length:
        if not length.isdigit():
            raise ValueError(f"prefix {length!r} is not a number")
        return address, int(length)
    return address, 128 if ":" in address else 32


def _route_words(words: list[str], row: dict, number: int, line: str) -> None:
    i = 0
    while i < len(words):
        word = words[i]
        if word in _ROUTE_FLAGS:
            row["flags"].append(word)
            i += 1
            continue
        if word == "encap":  # lwtunnel encapsulation: the rest of the route is its options
            row["flags"].append("encap " + " ".join(words[i + 1:]))
            return
        if word not in _ROUTE_KEYS and word not in _ROUTE_OTHER:
            raise fail(f"unexpected word {word!r} in a route", number, line)
        if i + 1 >= len(words):
            raise fail(f"{word!r} has no value in this route", number, line)
        value = words[i + 1]
        if word == "via" and value in ("inet", "inet6") and i + 2 < len(words):
            i += 1
            value = words[i + 1]
        if word == "mtu" and value == "lock" and i + 2 < len(words):
            i += 1
            value = words[i + 1]
        column = _ROUTE_KEYS.get(word)
        if column in ("metric", "mtu"):
            row[column] = _int(value, number, line)
        elif column:
            row[column] = value
        i += 2


def _route_defaults(row: dict) -> dict:
    # What iproute2 leaves out: unicast type, main table, boot protocol, global scope, metric 0.
    row.setdefault("type", "unicast")
    row["table"] = row.get("table") or "main"
    row.setdefault("protocol", "boot")
    row.setdefault("scope", "global")
    row.setdefault("metric", 0)
    return row


@parser("ip route", form="text")
def ip_route(output: str) -> pd.DataFrame:
    """``ip route`` (``ip r``, ``ip -6 route``, ``ip route show table all``): the routing table.

    One row per route (an ECMP route gives one row per ``nexthop``). Columns: ``dst`` (an
    address, or ``default``), ``prefix_len`` (32/128 for a host route, 0 for default),
    ``gateway`` (``via``), ``dev``, ``protocol``, ``scope``, ``src``, ``metric``, ``table``,
    ``type`` (unicast, local, broadcast, blackhole...), ``mtu``, ``flags`` (onlink,
    linkdown...). What iproute2 leaves out is filled in: type unicast, table main, protocol
    boot, scope global, metric 0.
    """
    rows: list[dict] = []
    for number, line in _numbered(output):
        words = line.split()
        if words[0] == "nexthop":
            if not rows:
                raise fail("a nexthop line without its route", number, line)
            base = rows[-1]
            hop = {k: v for k, v in base.items() if k not in ("gateway", "dev", "flags")}
            hop["flags"] = []
            _route_words(words[1:], hop, number, line)
            if base.get("gateway") is None and base.get("dev") is None:
                rows.pop()
            rows.append(hop)
            continue
        row: dict = {"flags": []}
        if words[0] in _ROUTE_TYPES:
            row["type"] = words.pop(0)
        if not words:
            raise fail("a route without a destination", number, line)
        try:
            row["dst"], row["prefix_len"] = _dst(words[0])
        except ValueError as e:
            raise fail(str(e), number, line) from None
        _route_words(words[1:], row, number, line)
        rows.append(row)
    return frame([_route_defaults(r) for r in rows], ROUTE_COLUMNS)


@parser("ip route", form="json")
def ip_route_json(output: str) -> pd.DataFrame:
    """``ip -j route``: the same columns as :func:`ip_route` (``prefsrc`` -> ``src``, the
    ``mtu`` from ``metrics``), one row per nexthop of an ECMP route."""
    data = json_array(output, "expected the JSON array of routes that `ip -j route` prints")

    def via(item):
        gateway = item.get("gateway")
        if gateway is None and isinstance(item.get("via"), dict):
            gateway = item["via"].get("host")
        return gateway

    def build(item):
        dst, prefix_len = _dst(str(item.get("dst", "default")))
        mtu = None
        for metric in item.get("metrics") or []:
            if isinstance(metric, dict) and "mtu" in metric:
                mtu = metric["mtu"]
        row = {"dst": dst, "prefix_len": prefix_len, "gateway": via(item),
               "dev": item.get("dev"), "src": item.get("prefsrc"), "mtu": mtu,
               "flags": list(item.get("flags") or [])}
        for key, column in (("type", "type"), ("table", "table"), ("protocol", "protocol"),
                            ("scope", "scope"), ("metric", "metric")):
            if item.get(key) is not None:
                row[column] = item[key] if column == "metric" else str(item[key])
        hops = item.get("nexthops") or []
        out = [_route_defaults({**row, "gateway": via(h), "dev": h.get("dev"),
                                "flags": list(h.get("flags") or [])}) for h in hops]
        return out or [_route_defaults(row)]

    rows = []
    for item in data:
        if not isinstance(item, dict):
            raise fail("expected a route object", None, str(item)[:200])
        rows.extend(_checked(build, item))
    return frame(rows, ROUTE_COLUMNS)


# ---------------------------------------------------------------------------------------------
# route -n (net-tools)

_ROUTE_N_TITLE = re.compile(r"^Kernel IP(v6)? routing table$")
_ROUTE_N_HEADER = re.compile(r"^Destination\s+(Gateway\s+Genmask|Next Hop)\s+Flags?\s+Met")


@parser("route")
def route_table(output: str) -> pd.DataFrame:
    """``route -n`` (net-tools, as run in the seed's netpod): the routing table.

    The same columns as :func:`ip_route`: ``dst`` (``default`` for 0.0.0.0/0),
    ``prefix_len`` (from Genmask), ``gateway`` (empty for 0.0.0.0), ``dev`` (Iface),
    ``metric``, ``flags`` (the letters U, G, H...), ``table`` main, ``type`` unicast (or
    unreachable for ``!``). route -n does not show protocol, scope, src or mtu; its Ref and
    Use columns are always 0 on Linux and are not kept. ``route -n -6`` is read too.
    """
    rows = []
    for number, line in _numbered(output):
        text = line.strip()
        if _ROUTE_N_TITLE.match(text) or _ROUTE_N_HEADER.match(text):
            continue
        words = text.split()
        try:
            if len(words) == 8:  # IPv4: Destination Gateway Genmask Flags Metric Ref Use Iface
                dst, gateway, mask, flags, metric, _, _, dev = words
                prefix_len = ipaddress.IPv4Network(f"0.0.0.0/{mask}").prefixlen
                idle = "0.0.0.0"
            elif len(words) == 7:  # IPv6: Destination Next-Hop Flag Met Ref Use If
                cidr, gateway, flags, metric, _, _, dev = words
                dst, prefix_len = _dst(cidr)
                idle = "::"
            else:
                raise ValueError("wrong number of columns")
            metric = int(metric)
        except ValueError:
            raise fail("expected a route -n row (Destination Gateway Genmask Flags Metric Ref "
                       "Use Iface)", number, line) from None
        if prefix_len == 0 and dst in ("0.0.0.0", "::", "default"):
            dst = "default"
        rows.append({"dst": dst, "prefix_len": prefix_len,
                     "gateway": None if gateway in (idle, "*") else gateway,
                     "dev": None if dev == "*" else dev, "metric": metric,
                     "flags": list(flags), "table": "main",
                     "type": "unreachable" if "!" in flags else "unicast"})
    return frame(rows, ROUTE_COLUMNS)


# ---------------------------------------------------------------------------------------------
# ip neigh

NEIGH_COLUMNS = {
    "ip": "str",
    "dev": "str",
    "mac": "str",
    "state": "str",
    "router": "bool",
    "flags": "list",
}

_NEIGH_STATES = {"INCOMPLETE", "REACHABLE", "STALE", "DELAY", "PROBE", "FAILED", "NOARP",
                 "PERMANENT", "NONE"}
_NEIGH_FLAGS = {"router", "proxy", "extern_learn", "offload", "managed", "use", "extern_valid",
                "sticky", "self", "master", "permanent"}
_NEIGH_KEYS = {"dev", "lladdr", "ref", "used", "probes", "proto", "protocol", "vni", "port",
               "vlan", "via", "src_vni", "nhid"}


@parser("ip neigh", form="text")
def ip_neigh(output: str) -> pd.DataFrame:
    """``ip neigh`` (``ip -c neigh``, ``ip -br neigh``): the ARP / NDP table.

    Chapter 05 compares the pod's gateway entry with the MAC of the host-side lxc veth.
    Columns: ``ip``, ``dev``, ``mac`` (lladdr, empty while unresolved), ``state`` (REACHABLE,
    STALE, PERMANENT, FAILED...; several words joined by a space; empty in the brief form,
    which does not print it), ``router`` (an IPv6 router), ``flags`` (proxy, extern_learn...).
    """
    rows = []
    for number, line in _numbered(output):
        words = line.split()
        row: dict = {"ip": words[0], "router": False, "flags": []}
        if "dev" not in words and len(words) in (2, 3):  # ip -br neigh: ip dev [mac]
            row.update(dev=words[1], mac=words[2] if len(words) == 3 else None)
            rows.append(row)
            continue
        states = []
        i = 1
        while i < len(words):
            word = words[i]
            if word in _NEIGH_STATES:
                states.append(word)
                i += 1
            elif word in _NEIGH_FLAGS:
                row["flags"].append(word)
                i += 1
            elif word in _NEIGH_KEYS and i + 1 < len(words):
                if word == "dev":
                    row["dev"] = words[i + 1]
                elif word == "lladdr":
                    row["mac"] = words[i + 1]
                i += 2
            else:
                raise fail(f"unexpected word {word!r} in a neighbour entry "
                           "(`IP dev DEV lladdr MAC STATE`)", number, line)
        if "dev" not in row and "proxy" not in row["flags"]:
            raise fail("a neighbour entry without `dev`", number, line)
        row["router"] = "router" in row["flags"]
        row["flags"] = [f for f in row["flags"] if f != "router"]
        row["state"] = " ".join(states) or None
        rows.append(row)
    return frame(rows, NEIGH_COLUMNS)


@parser("ip neigh", form="json")
def ip_neigh_json(output: str) -> pd.DataFrame:
    """``ip -j neigh``: the same columns as :func:`ip_neigh` (``dst`` -> ``ip``, ``lladdr`` ->
    ``mac``; ``router`` is a key with a null value when set)."""
    data = json_array(output, "expected the JSON array of neighbours that `ip -j neigh` prints")

    def build(item):
        state = item.get("state") or []
        if isinstance(state, str):
            state = [state]
        return {"ip": item.get("dst"), "dev": item.get("dev"), "mac": item.get("lladdr"),
                "state": " ".join(state) or None, "router": "router" in item,
                "flags": sorted(f for f in _NEIGH_FLAGS - {"router"} if f in item)}

    rows = []
    for item in data:
        if not isinstance(item, dict):
            raise fail("expected a neighbour object", None, str(item)[:200])
        rows.append(_checked(build, item))
    return frame(rows, NEIGH_COLUMNS)

