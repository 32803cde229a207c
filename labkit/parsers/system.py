"""Parsers for system facts: ``uname -a``, ``ethtool -i DEV`` and ``lsns``.

Chapter 00 checks that the kernel is 5.8 or newer (``uname -a``); chapter 01 looks up the
uplink's driver for native XDP (``ethtool -i ens5``); chapter 03 finds the cilium-health
namespace behind lxc_health (``lsns -t net``).
"""

from __future__ import annotations

import re

import pandas as pd

from labkit.parsers._registry import parser
from labkit.parsers._text import fail, frame, lines, load_json

__all__ = ["uname", "ethtool_driver", "lsns"]

# ---------------------------------------------------------------------------------------------
# uname -a

UNAME_COLUMNS = {
    "kernel_name": "str",
    "hostname": "str",
    "kernel_release": "str",
    "kernel_version": "str",
    "machine": "str",
    "os": "str",
    "kernel_major": "int",
    "kernel_minor": "int",
}

_ARCHES = {"x86_64", "aarch64", "arm64", "armv7l", "armv6l", "armv8l", "i386", "i686",
           "ppc64le", "ppc64", "s390x", "riscv64", "mips64", "loongarch64", "amd64"}
_RELEASE = re.compile(r"^(\d+)\.(\d+)")


@parser("uname")
def uname(output: str) -> pd.DataFrame:
    """``uname -a`` (or ``uname -r``): the kernel a node runs, as one row.

    Columns: ``kernel_name`` (Linux), ``hostname``, ``kernel_release`` (6.8.0-1015-aws),
    ``kernel_version`` (the build string, ``#16~204.1-Ubuntu SMP ...``), ``machine``
    (x86_64, aarch64), ``os`` (GNU/Linux), and ``kernel_major`` / ``kernel_minor`` as numbers
    so that a check reads ``(major, minor) >= (5, 8)``. ``uname -r`` fills only the release
    and the numbers.
    """
    rows = []
    for number, line in lines(output):
        words = line.split()
        if len(words) == 1 and _RELEASE.match(words[0]):  # uname -r
            row = {"kernel_release": words[0]}
        else:
            end = len(words)
            os_name = None
            if end > 4 and ("Linux" in words[-1] or words[-1] == "Android"):
                os_name = words[-1]
                end -= 1
            # machine [processor] [hardware platform] come last; each is an arch or "unknown"
            tail = end
            while tail > 4 and end - tail < 3 and (words[tail - 1] in _ARCHES
                                                   or words[tail - 1] == "unknown"):
                tail -= 1
            if tail == end or words[tail] not in _ARCHES or not _RELEASE.match(words[2]):
                raise fail("expected `uname -a` output (Linux HOST RELEASE #VERSION ... MACHINE "
                           "GNU/Linux)", number, line)
            row = {"kernel_name": words[0], "hostname": words[1], "kernel_release": words[2],
                   "kernel_version": " ".join(words[3:tail]), "machine": words[tail],
                   "os": os_name}
        m = _RELEASE.match(row["kernel_release"])
        row.update(kernel_major=int(m[1]), kernel_minor=int(m[2]))
        rows.append(row)
    return frame(rows, UNAME_COLUMNS)


# ---------------------------------------------------------------------------------------------
# ethtool -i

ETHTOOL_COLUMNS = {"section": "str", "key": "str", "value": "str"}
_ETHTOOL_LINE = re.compile(r"^(?P<key>[a-z][a-z0-9-]*):(?:\s+(?P<value>.*))?$")


@parser("ethtool", flags=("-i|--driver",))
def ethtool_driver(output: str) -> pd.DataFrame:
    """``ethtool -i DEV``: the driver behind an interface (ena, virtio_net, veth...).

    Chapter 01 asks whether the uplink's driver supports native XDP. A status-like output, so
    the rows are ``section, key, value`` (section is empty; ``labkit.parsers.nested(df)``
    gives a dict): keys driver, version, firmware-version, expansion-rom-version, bus-info,
    supports-statistics, supports-test, supports-eeprom-access, supports-register-dump,
    supports-priv-flags. An empty value stays empty (None); ``N/A`` is kept as printed.
    """
    rows = []
    for number, line in lines(output):
        m = _ETHTOOL_LINE.match(line.strip())
        if not m:
            raise fail("expected a `key: value` line of ethtool -i", number, line)
        rows.append({"section": "", "key": m["key"], "value": m["value"] or None})
    return frame(rows, ETHTOOL_COLUMNS)


# ---------------------------------------------------------------------------------------------
# lsns

LSNS_COLUMNS = {
    "ns": "int",
    "type": "str",
    "nprocs": "int",
    "pid": "int",
    "user": "str",
    "netnsid": "int",
    "nsfs": "str",
    "command": "str",
}

_LSNS_HEADER = re.compile(r"^\s*NS\s+TYPE\s+NPROCS\s+PID\s+USER\s")
_LSNS_ROW = re.compile(r"^\s*(?P<ns>\d+)\s+(?P<type>[a-z]+)\s+(?P<nprocs>\d+)\s+(?P<pid>\d+)"
                       r"\s+(?P<user>\S+)(?:\s+(?P<rest>.*))?$")
_NETNSID = re.compile(r"^(?P<netnsid>\d+|unassigned)(?:\s+(?P<rest>.*))?$")


def _netnsid(value) -> int | None:
    text = str(value).strip() if value is not None else ""
    return int(text) if text.isdigit() else None


def _lsns_json(output: str) -> pd.DataFrame:
    data = load_json(output)
    items = data.get("namespaces") if isinstance(data, dict) else None
    if not isinstance(items, list) or not all(isinstance(x, dict) for x in items):
        raise fail("expected the JSON that `lsns -J` prints ({\"namespaces\": [...]})")
    rows = []
    for item in items:
        row = {"type": item.get("type"), "user": item.get("user"), "nsfs": item.get("nsfs"),
               "command": item.get("command"), "netnsid": _netnsid(item.get("netnsid"))}
        for key in ("ns", "nprocs", "pid"):
            value = str(item.get(key, "")).strip()  # old lsns printed numbers as strings
            if value and not value.isdigit():
                raise fail(f"{key} is not a number", None, str(item)[:200])
            row[key] = int(value) if value else None
        rows.append(row)
    return frame(rows, LSNS_COLUMNS)


@parser("lsns", form="text")
def lsns(output: str) -> pd.DataFrame:
    """``lsns`` and ``lsns -t net`` (also ``lsns -J``): the namespaces of the machine.

    One row per namespace. Columns: ``ns`` (the inode number), ``type`` (net, mnt, pid...),
    ``nprocs``, ``pid`` (the lowest PID in it), ``user``, ``netnsid`` (the id the current
    namespace gives it; empty when ``unassigned``), ``nsfs`` (where it is mounted, e.g.
    ``/run/netns/cni-...``; only ``lsns -t net`` prints these two) and ``command``.
    Rows filtered through grep (no header) are read too.
    """
    if output.lstrip().startswith("{"):
        return _lsns_json(output)
    rows = []
    nsfs_at = command_at = None
    has_netnsid = None
    for number, line in lines(output):
        if _LSNS_HEADER.match(line):
            has_netnsid = "NETNSID" in line.split()
            nsfs_at = line.find(" NSFS") + 1 if " NSFS" in line else None
            command_at = line.find("COMMAND")
            continue
        m = _LSNS_ROW.match(line)
        if not m:
            raise fail("expected an lsns row (NS TYPE NPROCS PID USER ... COMMAND)",
                       number, line)
        row = {k: int(m[k]) for k in ("ns", "nprocs", "pid")}
        row.update(type=m["type"], user=m["user"])
        rest = m["rest"] or ""
        n = _NETNSID.match(rest) if m["type"] == "net" and has_netnsid is not False else None
        if n:
            row["netnsid"] = _netnsid(n["netnsid"])
            rest = n["rest"] or ""
            if nsfs_at is not None and command_at and command_at > nsfs_at:
                # with the header, NSFS is the text from its column to COMMAND's
                if len(line) > nsfs_at and line[nsfs_at] != " ":
                    row["nsfs"] = line[nsfs_at:command_at].strip() or None
                row["command"] = line[command_at:].strip() or None
                rows.append(row)
                continue
            first, _, after = rest.partition(" ")
            if "/netns/" in first:
                row["nsfs"], rest = first, after.strip()
        row["command"] = rest or None
        rows.append(row)
    return frame(rows, LSNS_COLUMNS)


# `lsns -J | jq ...` asks for JSON; the same function reads it.
parser("lsns", form="json")(lsns.__wrapped__)
