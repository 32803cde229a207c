"""Parsers for bpftool: attachments (``net``), programs, maps, map contents, cgroup hooks.

Every command has a text parser and a JSON parser (``-j``/``-p``) with the same columns.
Formats follow libbpf/bpftool ``src/net.c``, ``netlink_dumper.c``, ``prog.c``, ``map.c`` and
``cgroup.c`` (see ../shared/FORMATS.md sections 7-11). Text rows are read line by line with
regular expressions, never by column positions, so outputs cut by ``grep`` or ``head`` parse
too. When bpftool itself reports an error (``Error: ...`` on the terminal, or
``{"error": "..."}`` in JSON) the parser raises a ParseError that quotes it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pandas as pd

from labkit.errors import ParseError
from labkit.parsers._registry import parser
from labkit.parsers._text import fail, frame, lines, load_json

__all__ = [
    "bpftool_net_show",
    "bpftool_net_show_json",
    "bpftool_prog_show",
    "bpftool_prog_show_json",
    "bpftool_map_show",
    "bpftool_map_show_json",
    "bpftool_map_dump",
    "bpftool_map_dump_json",
    "bpftool_cgroup_tree",
    "bpftool_cgroup_tree_json",
    "cgroup_hook",
]


_ERROR = re.compile(r"^Error: (.*)$")
_GREP_SEPARATOR = "--"  # what `grep -A/-B/-C` prints between groups of lines


def _bpftool_error(number: int, line: str) -> None:
    """Raises a ParseError when a line is bpftool's own error message (stderr pasted in)."""
    m = _ERROR.match(line.strip())
    if m:
        raise fail(f"bpftool reported an error ({m.group(1)}), not a listing", number, line)


# --- JSON helpers ------------------------------------------------------------------------------


def _json_items(output: str, what: str) -> list:
    """The objects of a bpftool JSON answer: an array, one object (``show id N``), or a stream
    of objects (``| jq '.[]'``). ``{"error": ...}`` becomes a ParseError."""
    data = load_json(output)
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise ParseError(f"expected a JSON array of {what}, got {type(data).__name__}")
    items: list = []
    for value in data:  # a stream of arrays (several `bpftool -j` runs) is flattened
        items.extend(value if isinstance(value, list) else [value])
    for item in items:
        if not isinstance(item, dict):
            raise ParseError(f"expected JSON objects ({what}), got {item!r:.60}")
        if set(item) == {"error"}:
            raise ParseError(f"bpftool reported an error ({item['error']}), not a listing")
    return items


def _jint(obj: dict, key: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParseError(f"expected a whole number for {key!r}, got {value!r:.60}")
    return value


def _jstr(obj: dict, key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ParseError(f"expected text for {key!r}, got {value!r:.60}")
    return str(value)


def _jbool(obj: dict, key: str) -> bool | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, bool | int):
        raise ParseError(f"expected true/false for {key!r}, got {value!r:.60}")
    return bool(value)


def _jlist(obj: dict, key: str) -> list:
    value = obj.get(key, [])
    if not isinstance(value, list):
        raise ParseError(f"expected a list for {key!r}, got {value!r:.60}")
    return value


def _jints(obj: dict, key: str) -> list[int]:
    values = _jlist(obj, key)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise ParseError(f"expected a list of whole numbers for {key!r}, got {values!r:.60}")
    return values


def _jpids(obj: dict) -> list[dict]:
    pids = []
    for ref in _jlist(obj, "pids"):
        if not isinstance(ref, dict):
            raise ParseError(f"expected {{pid, comm}} objects in 'pids', got {ref!r:.60}")
        pids.append({"pid": _jint(ref, "pid"), "comm": _jstr(ref, "comm")})
    return pids


# --- text helpers ------------------------------------------------------------------------------

_PID = re.compile(r"(.+?)\((\d+)\)")


def _text_pids(text: str, number: int, line: str) -> list[dict]:
    """``systemd(1), cilium-agent(712)`` -> [{"pid": 1, "comm": "systemd"}, ...]."""
    pids = []
    for part in text.split(", "):
        m = _PID.fullmatch(part.strip())
        if not m:
            raise fail("expected 'pids comm(pid), ...'", number, line)
        pids.append({"pid": int(m.group(2)), "comm": m.group(1)})
    return pids


def _items(line: str) -> list[str]:
    """The facts of a TAB-indented detail line; bpftool separates them by two spaces."""
    return [item for item in re.split(r"\s{2,}|\t", line.strip()) if item]


# --- bpftool net -------------------------------------------------------------------------------

_NET_COLUMNS = {
    "section": "str",
    "devname": "str",
    "ifindex": "int",
    "kind": "str",
    "prog_name": "str",
    "prog_id": "int",
    "link_id": "int",
    "priority": "int",
}
_NET_SECTION = re.compile(r"^(xdp|tc|flow_dissector|netfilter):$")
_XDP_MODES = ("generic", "driver", "offload")
_DEV = r"(?P<devname>\S*?)\((?P<ifindex>\d+)\)"
# eth0(2) driver id 198 | eth0(2) generic id 1 driver id 2 (several XDP modes at once)
_NET_XDP = re.compile(rf"^{_DEV}(?P<modes>(?:\s+(?:{'|'.join(_XDP_MODES)})\s+id\s+\d+)+)\s*$")
# lxc1(17) clsact/ingress bpf_lxc.o:[from-container] id 2806 [act [...]]; the man page also
# shows 'htb name NAME id N'
_NET_TC = re.compile(
    rf"^{_DEV}\s+(?P<kind>\S+)(?:\s+(?:name\s+)?(?P<name>\S+))?\s+id\s+(?P<id>\d+)"
    r"(?:\s+act\s+\[[^\]]*\])?\s*$"
)
# lxc1(14) tcx/ingress cil_from_container prog_id 1595 [prog_flags N ..]
#     [link_id 24 [link_flags ..]]
_NET_TCX = re.compile(
    rf"^{_DEV}\s+(?P<kind>\S+)(?:\s+(?P<name>\S+))?\s+prog_id\s+(?P<id>\d+)"
    r"(?:\s+prog_flags(?:\s+\d+)*)?(?:\s+link_id\s+(?P<link>\d+)(?:\s+link_flags(?:\s+\d+)*)?)?\s*$"
)
# flow_dissector section: "id 12"
_NET_FLOW = re.compile(r"^\s*id\s+(?P<id>\d+)\s*$")
# netfilter section: "\tipv4 prerouting prio -128 prog_id 10" or "\tpf: 9, hook 2, prio 0 ..."
_NET_NF = re.compile(
    r"^\s*(?P<pf>pf: \d+|\w+)(?P<hook>,? hook \d+,| \w+) prio (?P<prio>-?\d+)"
    r"(?: flags 0x[0-9a-f]+)? prog_id (?P<id>\d+)\s*$"
)
# NFPROTO_* and NF_INET_* numbers as bpftool names them (src/link.c pf2name, inethook2name).
_NF_PF = {1: "inet", 2: "ipv4", 3: "arp", 5: "netdev", 7: "bridge", 10: "ipv6"}
_NF_HOOK = {0: "prerouting", 1: "input", 2: "forward", 3: "output", 4: "postrouting"}


def _net_row(number: int, line: str, section: str | None) -> list[dict]:
    m = _NET_XDP.match(line)
    if m and section in (None, "xdp"):
        return [
            {"section": "xdp", "devname": m["devname"] or None, "ifindex": int(m["ifindex"]),
             "kind": mode, "prog_id": int(prog_id)}
            for mode, prog_id in re.findall(r"(\w+)\s+id\s+(\d+)", m["modes"])
        ]
    for pattern in (_NET_TCX, _NET_TC):
        m = pattern.match(line)
        if m and section in (None, "tc"):
            link = m.groupdict().get("link")
            return [{"section": "tc", "devname": m["devname"] or None,
                     "ifindex": int(m["ifindex"]), "kind": m["kind"], "prog_name": m["name"],
                     "prog_id": int(m["id"]), "link_id": int(link) if link else None}]
    m = _NET_FLOW.match(line)
    if m and section == "flow_dissector":
        return [{"section": "flow_dissector", "prog_id": int(m["id"])}]
    m = _NET_NF.match(line)
    if m and section in (None, "netfilter"):
        hook = m["hook"].strip(" ,")
        return [{"section": "netfilter", "kind": f"{m['pf']} {hook}".replace(",", ""),
                 "prog_id": int(m["id"]), "priority": int(m["prio"])}]
    raise fail("expected an attachment line like 'eth0(2) tcx/ingress NAME prog_id N' "
               "or a section header (xdp:, tc:, flow_dissector:, netfilter:)", number, line)


@parser("bpftool net", form="text")
def bpftool_net_show(output: str) -> pd.DataFrame:
    """``bpftool net show`` (also ``bpftool net``, ``net list``): the BPF programs attached to
    network devices, one row per attachment. Columns: ``section`` (xdp, tc, flow_dissector,
    netfilter), ``devname``, ``ifindex``, ``kind`` (the attach point: ``tcx/ingress``,
    ``clsact/egress``, an XDP mode such as ``driver``, or a netfilter hook), ``prog_name``,
    ``prog_id``, ``link_id`` (tcx links, Cilium 1.16+ on kernels >= 6.6) and ``priority``
    (netfilter only). Both the legacy ``... id N`` and the tcx ``... prog_id N link_id N``
    forms are read; grep-filtered lines without section headers work too. A legacy entry's
    tc actions (``act [...]``, rare) are accepted but not made into columns.
    """
    rows: list[dict] = []
    section = None
    for number, line in lines(output):
        _bpftool_error(number, line)
        m = _NET_SECTION.match(line.strip())
        if m:
            section = m.group(1)
            continue
        rows.extend(_net_row(number, line, section))
    return frame(rows, _NET_COLUMNS)


def _net_json_rows(section: str, entry: dict) -> list[dict]:
    base = {"section": section, "devname": _jstr(entry, "devname"),
            "ifindex": _jint(entry, "ifindex")}
    if section == "xdp":
        modes = [entry, *_jlist(entry, "multi_attachments")]
        return [{**base, "kind": _jstr(m, "mode"), "prog_id": _jint(m, "id")}
                for m in modes if isinstance(m, dict) and "mode" in m]
    if section == "tc":
        prog_id = _jint(entry, "prog_id")
        return [{**base, "kind": _jstr(entry, "kind"), "prog_name": _jstr(entry, "name"),
                 "prog_id": prog_id if prog_id is not None else _jint(entry, "id"),
                 "link_id": _jint(entry, "link_id") or None}]
    if section == "netfilter":
        pf, hook = _jint(entry, "pf"), _jint(entry, "hook")
        kind = f"{_NF_PF.get(pf, f'pf: {pf}')} {_NF_HOOK.get(hook, f'hook {hook}')}"
        return [{**base, "kind": kind, "prog_id": _jint(entry, "id"),
                 "priority": _jint(entry, "prio")}]
    return [{**base, "prog_id": _jint(entry, "id")}]


@parser("bpftool net", form="json")
def bpftool_net_show_json(output: str) -> pd.DataFrame:
    """``bpftool -j net show``: the same rows and columns as :func:`bpftool_net_show`, from
    bpftool's ``[{"xdp": [...], "tc": [...], "flow_dissector": [...], "netfilter": [...]}]``.
    A tcx entry's ``prog_id`` and a legacy entry's ``id`` both land in ``prog_id``; a
    ``link_id`` of 0 (no link) is left empty as in the text form.
    """
    rows: list[dict] = []
    for query in _json_items(output, "network attachments"):
        for section, entries in query.items():
            if section not in ("xdp", "tc", "flow_dissector", "netfilter"):
                raise ParseError(f"unexpected section {section!r} in bpftool net JSON")
            if not isinstance(entries, list):
                raise ParseError(f"expected a list under {section!r}, got {entries!r:.60}")
            for entry in entries:
                if not isinstance(entry, dict):
                    raise ParseError(f"expected an object in {section!r}, got {entry!r:.60}")
                rows.extend(_net_json_rows(section, entry))
    return frame(rows, _NET_COLUMNS)


# --- bpftool prog show -------------------------------------------------------------------------

_PROG_COLUMNS = {
    "id": "int",
    "type": "str",
    "name": "str",
    "tag": "str",
    "gpl": "bool",
    "loaded_at": "time",
    "uid": "int",
    "bytes_xlated": "int",
    "jited": "bool",
    "bytes_jited": "int",
    "bytes_memlock": "int",
    "map_ids": "list",
    "btf_id": "int",
    "pinned": "list",
    "pids": "list",
    "run_time_ns": "int",
    "run_cnt": "int",
    "metadata": "object",
}
_PROG_HEAD = re.compile(
    r"^(?P<id>\d+):\s+(?P<type>type \d+|\S+)(?:\s+name\s+(?P<name>\S+))?"
    r"\s+tag\s+(?P<tag>[0-9a-f]+)(?:\s+offloaded_to\s+.+?)?(?P<gpl>\s+gpl)?"
    r"(?:\s+run_time_ns\s+(?P<ns>\d+)\s+run_cnt\s+(?P<cnt>\d+))?"
    r"(?:\s+recursion_misses\s+\d+)?\s*$"
)
_PROG_ITEMS = [
    (re.compile(r"loaded_at (\S+)"), "loaded_at"),
    (re.compile(r"uid (\d+)"), "uid"),
    (re.compile(r"xlated (\d+)B"), "bytes_xlated"),
    (re.compile(r"jited (\d+)B"), "bytes_jited"),
    (re.compile(r"not jited"), "not_jited"),
    (re.compile(r"memlock (\d+)B"), "bytes_memlock"),
    (re.compile(r"map_ids (\d+(?:,\d+)*)"), "map_ids"),
    (re.compile(r"btf_id (\d+)"), "btf_id"),
    (re.compile(r"orphaned"), "orphaned"),
    (re.compile(r"bpf_cookie (\d+)"), "bpf_cookie"),
]


def _timestamp(text: str, number: int, line: str) -> pd.Timestamp:
    try:
        return pd.Timestamp(text).tz_convert("UTC")
    except (ValueError, TypeError):
        raise fail(f"expected a time like 2024-10-20T07:47:27+0000, got {text!r}",
                   number, line) from None


def _prog_detail(row: dict, number: int, line: str) -> None:
    """Reads one TAB-indented line under a program into its row."""
    body = line.strip()
    for key in ("pids", "pinned"):
        if body.startswith(key + " "):
            value = body[len(key) + 1:].strip()
            if key == "pids":
                row["pids"] = _text_pids(value, number, line)
            else:
                row["pinned"].append(value)
            return
    for item in _items(line):
        for pattern, key in _PROG_ITEMS:
            m = pattern.fullmatch(item)
            if not m:
                continue
            if key == "loaded_at":
                row[key] = _timestamp(m.group(1), number, line)
            elif key == "map_ids":
                row[key] = [int(v) for v in m.group(1).split(",")]
            elif key == "not_jited":
                row["jited"] = False
            elif key in ("orphaned", "bpf_cookie"):
                pass  # facts bpftool adds for some programs; not columns here
            else:
                row[key] = int(m.group(1))
                if key == "bytes_jited":
                    row["jited"] = True
            break
        else:
            raise fail(f"unknown program detail {item!r}", number, line)


@parser("bpftool prog show", "bpftool prog list", form="text")
def bpftool_prog_show(output: str) -> pd.DataFrame:
    """``bpftool prog show`` (``prog list``, ``prog show id N``): the BPF programs loaded in
    the kernel, one row per program. Columns: ``id``, ``type`` (``sched_cls``, ``xdp``...),
    ``name`` (empty for old unnamed programs), ``tag``, ``gpl``, ``loaded_at`` (UTC time),
    ``uid``, ``bytes_xlated``, ``jited``, ``bytes_jited``, ``bytes_memlock``, ``map_ids``
    (list of map ids), ``btf_id``, ``pinned`` (paths, with ``--bpffs``), ``pids`` (list of
    ``{pid, comm}`` holding it open), ``run_time_ns`` and ``run_cnt`` (only when BPF stats are
    enabled) and ``metadata`` (the program's ``metadata:`` block as a dict, if any).
    """
    rows: list[dict] = []
    in_metadata = False
    for number, line in lines(output):
        _bpftool_error(number, line)
        m = _PROG_HEAD.match(line)
        if m:
            rows.append({
                "id": int(m["id"]), "type": m["type"], "name": m["name"], "tag": m["tag"],
                "gpl": bool(m["gpl"]), "run_time_ns": m["ns"] and int(m["ns"]),
                "run_cnt": m["cnt"] and int(m["cnt"]), "map_ids": [], "pinned": [], "pids": [],
                "metadata": None,
            })
            in_metadata = False
            continue
        if line.strip() == _GREP_SEPARATOR:
            continue
        if not line[:1].isspace():
            raise fail("expected a program line 'ID: TYPE  name NAME  tag HEX  gpl'",
                       number, line)
        if not rows:
            raise fail("a detail line before any 'ID: TYPE ...' program line", number, line)
        if line.strip() == "metadata:":
            rows[-1]["metadata"] = {}
            in_metadata = True
            continue
        if in_metadata and " = " in line:
            key, _, value = line.strip().partition(" = ")
            rows[-1]["metadata"][key] = value
            continue
        _prog_detail(rows[-1], number, line)
    return frame(rows, _PROG_COLUMNS)


@parser("bpftool prog show", "bpftool prog list", form="json")
def bpftool_prog_show_json(output: str) -> pd.DataFrame:
    """``bpftool -j prog show``: the same columns as :func:`bpftool_prog_show`, from
    bpftool's array of program objects (``gpl_compatible`` becomes ``gpl``; ``loaded_at``,
    epoch seconds in JSON, becomes a UTC time). ``show id N`` prints one object, also read.
    """
    rows = []
    for prog in _json_items(output, "programs"):
        loaded_at = _jint(prog, "loaded_at")
        metadata = prog.get("metadata")
        rows.append({
            "id": _jint(prog, "id"), "type": _jstr(prog, "type"), "name": _jstr(prog, "name"),
            "tag": _jstr(prog, "tag"), "gpl": _jbool(prog, "gpl_compatible"),
            "loaded_at": None if loaded_at is None else pd.Timestamp(loaded_at, unit="s",
                                                                      tz="UTC"),
            "uid": _jint(prog, "uid"), "bytes_xlated": _jint(prog, "bytes_xlated"),
            "jited": _jbool(prog, "jited"), "bytes_jited": _jint(prog, "bytes_jited"),
            "bytes_memlock": _jint(prog, "bytes_memlock"), "map_ids": _jints(prog, "map_ids"),
            "btf_id": _jint(prog, "btf_id"), "pinned": _jlist(prog, "pinned"),
            "pids": _jpids(prog), "run_time_ns": _jint(prog, "run_time_ns"),
            "run_cnt": _jint(prog, "run_cnt"),
            "metadata": metadata if isinstance(metadata, dict) else None,
        })
    return frame(rows, _PROG_COLUMNS)


# --- bpftool map show --------------------------------------------------------------------------

_MAP_COLUMNS = {
    "id": "int",
    "type": "str",
    "name": "str",
    "flags": "int",
    "bytes_key": "int",
    "bytes_value": "int",
    "max_entries": "int",
    "bytes_memlock": "int",
    "btf_id": "int",
    "frozen": "bool",
    "owner_prog_type": "str",
    "owner_jited": "bool",
    "pinned": "list",
    "pids": "list",
}
_MAP_HEAD = re.compile(
    r"^(?P<id>\d+):\s+(?P<type>type \d+|\S+)(?:\s+name\s+(?P<name>\S+))?"
    r"\s+flags\s+0x(?P<flags>[0-9a-f]+)(?:\s+offloaded_to\s+.+)?\s*$"
)
_MAP_ITEMS = [
    (re.compile(r"key (\d+)B"), "bytes_key"),
    (re.compile(r"value (\d+)B"), "bytes_value"),
    (re.compile(r"max_entries (\d+)"), "max_entries"),
    (re.compile(r"memlock (\d+)B"), "bytes_memlock"),
    (re.compile(r"btf_id (\d+)"), "btf_id"),
    (re.compile(r"frozen"), "frozen"),
    (re.compile(r"owner_prog_type (\S+)"), "owner_prog_type"),
    (re.compile(r"owner( not)? jited"), "owner_jited"),
]


def _map_detail(row: dict, number: int, line: str) -> None:
    body = line.strip()
    if body.startswith("pids "):
        row["pids"] = _text_pids(body[5:], number, line)
        return
    if body.startswith("pinned "):
        row["pinned"].append(body[7:].strip())
        return
    for item in _items(line):
        for pattern, key in _MAP_ITEMS:
            m = pattern.fullmatch(item)
            if not m:
                continue
            if key == "frozen":
                row[key] = True
            elif key == "owner_jited":
                row[key] = m.group(1) is None
            elif key == "owner_prog_type":
                row[key] = m.group(1)
            else:
                row[key] = int(m.group(1))
            break
        else:
            raise fail(f"unknown map detail {item!r}", number, line)


@parser("bpftool map show", "bpftool map list", "bpftool map", form="text")
def bpftool_map_show(output: str) -> pd.DataFrame:
    """``bpftool map list`` (``map show``, ``map show id N``): the BPF maps in the kernel,
    one row per map. Columns: ``id``, ``type`` (``hash``, ``lpm_trie``, ``prog_array``,
    ``percpu_hash``...), ``name``, ``flags`` (an int; printed in hex), ``bytes_key``,
    ``bytes_value``, ``max_entries``, ``bytes_memlock``, ``btf_id``, ``frozen``,
    ``owner_prog_type`` and ``owner_jited`` (prog_array maps: the program type allowed to
    tail-call through it), ``pinned`` (paths, with ``--bpffs``) and ``pids`` (list of
    ``{pid, comm}``). ``frozen`` is False when bpftool does not print the word.
    """
    rows: list[dict] = []
    for number, line in lines(output):
        _bpftool_error(number, line)
        m = _MAP_HEAD.match(line)
        if m:
            rows.append({"id": int(m["id"]), "type": m["type"], "name": m["name"],
                         "flags": int(m["flags"], 16), "frozen": False, "pinned": [],
                         "pids": []})
            continue
        if line.strip() == _GREP_SEPARATOR:
            continue
        if not line[:1].isspace():
            raise fail("expected a map line 'ID: TYPE  name NAME  flags 0xN'", number, line)
        if not rows:
            raise fail("a detail line before any 'ID: TYPE ...' map line", number, line)
        _map_detail(rows[-1], number, line)
    return frame(rows, _MAP_COLUMNS)


@parser("bpftool map show", "bpftool map list", "bpftool map", form="json")
def bpftool_map_show_json(output: str) -> pd.DataFrame:
    """``bpftool -j map list``: the same columns as :func:`bpftool_map_show`, from bpftool's
    array of map objects; also reads one object (``show id N``) and the stream of objects
    ``| jq '.[] | select(...)'`` prints. ``frozen`` (0/1 in JSON) becomes a boolean.
    """
    rows = []
    for m in _json_items(output, "maps"):
        rows.append({
            "id": _jint(m, "id"), "type": _jstr(m, "type"), "name": _jstr(m, "name"),
            "flags": _jint(m, "flags"), "bytes_key": _jint(m, "bytes_key"),
            "bytes_value": _jint(m, "bytes_value"), "max_entries": _jint(m, "max_entries"),
            "bytes_memlock": _jint(m, "bytes_memlock"), "btf_id": _jint(m, "btf_id"),
            "frozen": _jbool(m, "frozen"), "owner_prog_type": _jstr(m, "owner_prog_type"),
            "owner_jited": _jbool(m, "owner_jited"), "pinned": _jlist(m, "pinned"),
            "pids": _jpids(m),
        })
    return frame(rows, _MAP_COLUMNS)


# --- bpftool map dump --------------------------------------------------------------------------

_DUMP_COLUMNS = {
    "key": "str",
    "value": "str",
    "values": "list",
    "inner_map_id": "int",
    "formatted_key": "object",
    "formatted_value": "object",
    "error": "str",
}
_FOUND = re.compile(r"^Found (\d+) elements?$")
_LABEL = re.compile(r"(key|value|value \(CPU (\d+)\)|inner_map_id):")
_HEX = re.compile(r"[0-9a-f]{2}(?: +[0-9a-f]{2})*")


def _dump_segments(number: int, line: str) -> Iterator[tuple[str | None, str]]:
    """A dump line as (label, content) pieces: ``key: 0a 00  value: 01`` gives two pieces;
    a bare continuation line of hex bytes gives (None, bytes). bpftool puts two spaces
    after every 8th byte; the content comes back with single spaces."""
    body = line.strip()
    marks = list(_LABEL.finditer(body))
    if not marks or marks[0].start() != 0:
        if not _HEX.fullmatch(body):
            raise fail("expected 'key: ..', 'value: ..' or a line of hex bytes", number, line)
        yield None, " ".join(body.split())
        return
    for mark, after in zip(marks, [*marks[1:], None], strict=True):
        end = after.start() if after else len(body)
        yield mark.group(1), " ".join(body[mark.end():end].split())


def _hex_join(parts: list[str]) -> str:
    return " ".join(p for p in parts if p)


def _dump_text(output: str) -> list[dict]:
    rows: list[dict] = []
    field: str | None = None  # where continuation bytes go: key, value, or values
    for number, line in lines(output):
        _bpftool_error(number, line)
        if _FOUND.match(line.strip()):
            field = None
            continue
        for label, content in _dump_segments(number, line):
            if label is None:
                if field is None or not rows:
                    raise fail("hex bytes outside a 'key:' or 'value:' block", number, line)
                if field == "values":
                    rows[-1]["values"][-1] = _hex_join([rows[-1]["values"][-1], content])
                else:
                    rows[-1][field] = _hex_join([rows[-1][field] or "", content])
                continue
            if label == "key":
                rows.append({"key": content, "values": None})
                field = "key"
            elif not rows:
                raise fail("a value before any 'key:'", number, line)
            elif label == "inner_map_id":
                if not content.isdigit():
                    raise fail("expected 'inner_map_id: N'", number, line)
                rows[-1]["inner_map_id"] = int(content)
                field = None
            elif label.startswith("value ("):
                if rows[-1]["values"] is None:
                    rows[-1]["values"] = []
                rows[-1]["values"].append(content)
                field = "values"
                if content and not _HEX.fullmatch(content):
                    raise fail("expected hex bytes after 'value (CPU nn):'", number, line)
            elif content and not _HEX.fullmatch(content):
                rows[-1]["error"] = content  # <no entry>, or the lookup's error message
                field = None
            else:
                rows[-1]["value"] = content
                field = "value"
            if field == "key" and content and not _HEX.fullmatch(content):
                raise fail("expected hex bytes after 'key:'", number, line)
    for row in rows:
        row["values"] = row["values"] or []
    return rows


# A BTF dump in text mode is JSON, except that bitfields print as bare hex (0x1f).
_JSON_STRING_OR_HEX = re.compile(r'"(?:\\.|[^"\\])*"|\b0x[0-9a-fA-F]+\b')


def _btf_text(output: str) -> list[dict]:
    fixed = _JSON_STRING_OR_HEX.sub(
        lambda m: m.group(0) if m.group(0).startswith('"') else str(int(m.group(0), 16)),
        output)
    entries = _json_items(fixed, "map entries")
    return [_dump_row(entry, formatted_only=True) for entry in entries]


def _hex_bytes(value: object) -> str:
    if not isinstance(value, list) or not all(isinstance(b, str) for b in value):
        raise ParseError(f"expected a list of hex byte strings, got {value!r:.60}")
    return " ".join(b.removeprefix("0x") for b in value)


def _dump_row(entry: dict, formatted_only: bool = False) -> dict:
    """One entry of a JSON dump: hex ``key``/``value``/``values`` and, with BTF, the
    typed ``formatted`` object (which is the whole entry in a text-mode BTF dump)."""
    formatted = entry if formatted_only else entry.get("formatted")
    row: dict = {"values": []}
    if not formatted_only:
        row["key"] = _hex_bytes(entry["key"]) if "key" in entry else None
        value = entry.get("value")
        if isinstance(value, dict) and "error" in value:
            row["error"] = _jstr(value, "error")
        elif value is not None:
            row["value"] = _hex_bytes(value)
        for per_cpu in _jlist(entry, "values"):
            if not isinstance(per_cpu, dict):
                raise ParseError(f"expected {{cpu, value}} objects, got {per_cpu!r:.60}")
            row["values"].append(_hex_bytes(per_cpu.get("value")))
        row["inner_map_id"] = _jint(entry, "inner_map_id")
    if isinstance(formatted, dict):
        row["formatted_key"] = formatted.get("key")
        if "values" in formatted:
            per_cpu = formatted["values"]
            if not isinstance(per_cpu, list):
                raise ParseError(f"expected a list of per-CPU values, got {per_cpu!r:.60}")
            row["formatted_value"] = [v.get("value") if isinstance(v, dict) else v
                                      for v in per_cpu]
        else:
            row["formatted_value"] = formatted.get("value")
    return row


@parser("bpftool map dump", "bpftool map lookup", form="text")
def bpftool_map_dump(output: str) -> pd.DataFrame:
    """``bpftool map dump`` (``id N``, ``pinned PATH``, ``name X``; also ``map lookup``): the
    entries of one BPF map, one row per entry. Columns: ``key`` and ``value`` (hex bytes,
    space separated, as bpftool prints them), ``values`` (per-CPU maps: one hex string per
    CPU, in CPU order), ``inner_map_id`` (maps of maps), ``formatted_key`` and
    ``formatted_value`` (typed objects when the map has BTF: bpftool then prints JSON-like
    text even without ``-j``) and ``error`` (``<no entry>`` or the lookup error bpftool
    printed in place of a value). The ``Found N elements`` trailer is known and skipped.
    """
    if output.lstrip().startswith(("[", "{")):
        return frame(_btf_text(output), _DUMP_COLUMNS)
    return frame(_dump_text(output), _DUMP_COLUMNS)


@parser("bpftool map dump", "bpftool map lookup", form="json")
def bpftool_map_dump_json(output: str) -> pd.DataFrame:
    """``bpftool -j map dump``: the same columns as :func:`bpftool_map_dump`, from bpftool's
    array of ``{"key": ["0x0a", ...], "value": [...]}`` objects (per-CPU maps: ``values``;
    with BTF: ``formatted``). A dump of several maps at once (``{"name": .., "elements":
    [..]}`` per map) is flattened into one table.
    """
    rows = []
    for entry in _json_items(output, "map entries"):
        if "elements" in entry:
            for element in _jlist(entry, "elements"):
                if not isinstance(element, dict):
                    raise ParseError(f"expected map entry objects, got {element!r:.60}")
                rows.append(_dump_row(element))
        else:
            rows.append(_dump_row(entry))
    return frame(rows, _DUMP_COLUMNS)


# --- bpftool cgroup tree / list ----------------------------------------------------------------

_CGROUP_COLUMNS = {
    "cgroup": "str",
    "id": "int",
    "attach_type": "str",
    "hook": "str",
    "attach_flags": "str",
    "name": "str",
    "attach_btf_name": "str",
}
_CGROUP_HEADER = re.compile(r"^(CgroupPath|ID\s+AttachType(\s+AttachFlags)?\s+Name)$")
_ATTACH_FLAGS = r"multi|override|allow_multi|allow_override|unknown\([0-9a-f]+\)"
_CGROUP_ROW = re.compile(
    rf"^\s*(?P<id>\d+)\s+(?P<type>type \d+|\S+)(?:\s+(?P<flags>{_ATTACH_FLAGS})(?=\s|$))?"
    r"(?:\s+(?P<name>\S+))?(?:\s+(?P<btf>attach_btf_obj_id=\d+ attach_btf_id=\d+|\S+))?\s*$"
)
# Newer bpftool prints libbpf's attach type names, older bpftool its own short names.
_HOOKS = {
    "cgroup_inet_ingress": "ingress",
    "cgroup_inet_egress": "egress",
    "cgroup_inet_sock_create": "sock_create",
    "cgroup_inet_sock_release": "sock_release",
    "cgroup_sock_ops": "sock_ops",
    "cgroup_device": "device",
    "cgroup_sysctl": "sysctl",
    "cgroup_getsockopt": "getsockopt",
    "cgroup_setsockopt": "setsockopt",
}


def cgroup_hook(attach_type: str | None) -> str | None:
    """One name for a cgroup hook across bpftool versions: ``cgroup_inet4_connect`` (newer)
    and ``connect4`` (older) both give ``connect4``; ``cgroup_udp6_sendmsg`` gives
    ``sendmsg6``; ``cgroup_unix_connect`` gives ``unix_connect``. Other names are kept."""
    if attach_type is None:
        return None
    if attach_type in _HOOKS:
        return _HOOKS[attach_type]
    m = re.fullmatch(r"cgroup_(?:inet|udp)([46])_(\w+)", attach_type)
    if m:
        return f"{m.group(2)}{m.group(1)}"
    return attach_type.removeprefix("cgroup_")


@parser("bpftool cgroup tree", "bpftool cgroup list", "bpftool cgroup show", form="text")
def bpftool_cgroup_tree(output: str) -> pd.DataFrame:
    """``bpftool cgroup tree`` (and ``cgroup list|show PATH``): the BPF programs attached to
    cgroups, one row per attachment. Columns: ``cgroup`` (the path; empty for ``list``, which
    names no path), ``id`` (program id), ``attach_type`` as printed (``connect4`` on older
    bpftool, ``cgroup_inet4_connect`` on newer), ``hook`` (one name across versions:
    ``connect4``), ``attach_flags`` (``multi``, ``override``, or empty), ``name`` (program
    name; empty on old bpftool) and ``attach_btf_name``. Flags are recognised by their
    words, not by column position, since an empty AttachFlags cell leaves only spaces.
    """
    rows: list[dict] = []
    cgroup = None
    for number, line in lines(output):
        _bpftool_error(number, line)
        body = line.strip()
        if _CGROUP_HEADER.match(body):
            continue
        if body.startswith(("/", "./")) and " " not in body:
            cgroup = body
            continue
        m = _CGROUP_ROW.match(line)
        if not m:
            raise fail("expected a cgroup path, a header, or 'ID  ATTACH_TYPE  [FLAGS]  NAME'",
                       number, line)
        rows.append({"cgroup": cgroup, "id": int(m["id"]), "attach_type": m["type"],
                     "hook": cgroup_hook(m["type"]), "attach_flags": m["flags"] or "",
                     "name": m["name"], "attach_btf_name": m["btf"]})
    return frame(rows, _CGROUP_COLUMNS)


def _cgroup_json_row(prog: dict, cgroup: str | None) -> dict:
    attach_type = _jstr(prog, "attach_type")
    if isinstance(prog.get("attach_type"), int):
        attach_type = f"type {attach_type}"
    return {"cgroup": cgroup, "id": _jint(prog, "id"), "attach_type": attach_type,
            "hook": cgroup_hook(attach_type), "attach_flags": _jstr(prog, "attach_flags"),
            "name": _jstr(prog, "name") or None,
            "attach_btf_name": _jstr(prog, "attach_btf_name")}


@parser("bpftool cgroup tree", "bpftool cgroup list", "bpftool cgroup show", form="json")
def bpftool_cgroup_tree_json(output: str) -> pd.DataFrame:
    """``bpftool -j cgroup tree`` (``[{"cgroup": PATH, "programs": [...]}]``) and
    ``bpftool -j cgroup list PATH`` (a plain array of programs): the same columns as
    :func:`bpftool_cgroup_tree`.
    """
    rows = []
    for item in _json_items(output, "cgroups or programs"):
        if "programs" in item:
            cgroup = _jstr(item, "cgroup")
            for prog in _jlist(item, "programs"):
                if not isinstance(prog, dict):
                    raise ParseError(f"expected program objects, got {prog!r:.60}")
                rows.append(_cgroup_json_row(prog, cgroup))
        else:
            rows.append(_cgroup_json_row(item, None))
    return frame(rows, _CGROUP_COLUMNS)
