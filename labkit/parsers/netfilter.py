"""Parsers for netfilter: ``iptables -S`` / ``iptables-save`` rules and ``conntrack -L`` entries.

Chapter 01 shows the ``CT --notrack`` rules Cilium adds to the raw table
(``installNoConntrackIptablesRules``) and the conntrack table; chapter 07 shows that, without
kube-proxy, ``iptables-save | grep KUBE-SVC`` finds nothing while ``| grep CILIUM`` finds
Cilium's own chains.
"""

from __future__ import annotations

import re
import shlex

import pandas as pd

from labkit.parsers._registry import parser
from labkit.parsers._text import fail, frame, lines, passed_over

__all__ = ["iptables_rules", "conntrack_list"]

# ---------------------------------------------------------------------------------------------
# iptables -S / iptables-save

IPTABLES_COLUMNS = {
    "table": "str",
    "action": "str",
    "chain": "str",
    "policy": "str",
    "rule": "str",
    "target": "str",
    "target_options": "str",
    "comment": "str",
    "packets": "int",
    "bytes": "int",
}

_ACTIONS = {"-A": "append", "--append": "append", "-I": "insert", "--insert": "insert",
            "-N": "chain", "--new-chain": "chain", "-P": "policy", "--policy": "policy"}
_COUNTERS = re.compile(r"^\[(\d+):(\d+)\]\s+(.*)$")
# `:CHAIN POLICY [packets:bytes]` declares a chain in iptables-save output.
_SAVE_CHAIN = re.compile(r"^:(\S+)\s+(\S+)(?:\s+\[(\d+):(\d+)\])?$")


def _rule(words: list[str], row: dict, number: int, line: str) -> None:
    """Splits the words after ``-A CHAIN`` into match, target, target options and comment."""
    matches: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word in ("-j", "--jump", "-g", "--goto"):
            if i + 1 >= len(words):
                raise fail(f"{word} without a target", number, line)
            row["target"] = words[i + 1]
            row["target_options"] = _join(words[i + 2:])
            break
        if word == "-m" and words[i + 1:i + 2] == ["comment"]:
            i += 2
            continue
        if word == "--comment" and i + 1 < len(words):
            row["comment"] = words[i + 1]
            i += 2
            continue
        if word == "-c" and i + 2 < len(words) and words[i + 1].isdigit():  # iptables -S -v
            row["packets"], row["bytes"] = int(words[i + 1]), _int(words[i + 2], number, line)
            i += 3
            continue
        matches.append(word)
        i += 1
    row["rule"] = _join(matches)


def _join(words: list[str]) -> str | None:
    """Words back into text, quoted the way iptables prints them (``"a b"``)."""
    quoted = [w if re.fullmatch(r"[\w@%+=:,./!*-]+", w)
              else '"' + w.replace("\\", "\\\\").replace('"', '\\"') + '"' for w in words]
    return " ".join(quoted) or None


def _int(text: str, number: int, line: str) -> int:
    if not text.isdigit():
        raise fail(f"expected a number, found {text!r}", number, line)
    return int(text)


@parser("iptables", flags=("-S|--list-rules",))
def iptables_rules(output: str) -> pd.DataFrame:
    """``iptables -S`` (``-t nat -S``...) and ``iptables-save`` (``-c``, ``| grep CILIUM``).

    One row per policy, chain or rule, in the order printed. Columns: ``table`` (from the
    ``*nat`` lines of iptables-save; empty for ``-S``, whose table is in the command),
    ``action`` (``policy`` for a built-in chain's policy, ``chain`` for a user chain,
    ``append``/``insert`` for a rule), ``chain``, ``policy`` (ACCEPT, DROP; empty for user
    chains), ``rule`` (the match part, e.g. ``-d 192.168.0.0/16``), ``target`` (the ``-j``
    value: ACCEPT, CT, MASQUERADE, a chain), ``target_options`` (``--notrack``...),
    ``comment`` (``-m comment --comment``), ``packets`` and ``bytes`` (the ``[p:b]``
    counters of iptables-save, or ``-c p b`` of ``iptables -S -v``).
    """
    rows: list[dict] = []
    table = None
    for number, line in lines(output):
        text = line.strip()
        if text.startswith("#") or text == "COMMIT":
            continue
        if text.startswith("*"):
            table = text[1:] or None
            continue
        row: dict = {"table": table}
        m = _SAVE_CHAIN.match(text)
        if m:
            builtin = m[2] != "-"
            row.update(action="policy" if builtin else "chain", chain=m[1],
                       policy=m[2] if builtin else None)
            if m[3] is not None:
                row.update(packets=int(m[3]), bytes=int(m[4]))
            rows.append(row)
            continue
        c = _COUNTERS.match(text)
        if c:
            row.update(packets=int(c[1]), bytes=int(c[2]))
            text = c[3]
        try:
            words = shlex.split(text)
        except ValueError:
            raise fail("a rule with unbalanced quotes", number, line) from None
        if len(words) < 2 or words[0] not in _ACTIONS:
            raise fail("expected an iptables rule (-P, -N, -A ...) or an iptables-save line",
                       number, line)
        action, chain, rest = _ACTIONS[words[0]], words[1], words[2:]
        row.update(action=action, chain=chain)
        if action == "policy":
            if len(rest) != 1 and not (len(rest) == 4 and rest[1] == "-c"):
                raise fail("expected `-P CHAIN POLICY`", number, line)
            row["policy"] = rest[0]
            if len(rest) == 4:
                row.update(packets=_int(rest[2], number, line), bytes=_int(rest[3], number, line))
        elif action == "chain":
            if rest:
                raise fail("expected `-N CHAIN`", number, line)
        else:
            if action == "insert" and rest and rest[0].isdigit():
                rest = rest[1:]
            _rule(rest, row, number, line)
        rows.append(row)
    return frame(rows, IPTABLES_COLUMNS)


# iptables-save prints the same lines (plus tables and counters): the same parser reads it.
parser("iptables-save", "ip6tables-save")(iptables_rules.__wrapped__)


# ---------------------------------------------------------------------------------------------
# conntrack -L

CONNTRACK_COLUMNS = {
    "event": "str",
    "family": "str",
    "protocol": "str",
    "protocol_number": "int",
    "timeout": "int",
    "state": "str",
    "src_ip": "str",
    "dst_ip": "str",
    "src_port": "int",
    "dst_port": "int",
    "icmp_type": "int",
    "icmp_code": "int",
    "icmp_id": "int",
    "packets": "int",
    "bytes": "int",
    "reply_src_ip": "str",
    "reply_dst_ip": "str",
    "reply_src_port": "int",
    "reply_dst_port": "int",
    "reply_packets": "int",
    "reply_bytes": "int",
    "flags": "list",
    "mark": "int",
    "use": "int",
    "zone": "int",
    "secctx": "str",
    "labels": "str",
}

_TRAILER = re.compile(r"^conntrack v\S+ \(conntrack-tools\): \d+ flow entr(y|ies) "
                      r"ha(s|ve) been (shown|deleted|updated)\.$")
_ENTRY_START = re.compile(
    r"^(?:\[(?P<event>NEW|UPDATE|DESTROY)\]\s+)?(?:(?P<family>ipv4|ipv6)\s+\d+\s+)?"
    r"(?P<protocol>[a-z][a-z0-9-]*)\s+(?P<number>\d+)\s+(?P<rest>.*)$")
# key=value words of each direction, and the column each goes to.
_TUPLE_KEYS = {"src": "src_ip", "dst": "dst_ip", "sport": "src_port", "dport": "dst_port",
               "type": "icmp_type", "code": "icmp_code", "id": "icmp_id",
               "packets": "packets", "bytes": "bytes"}
_ENTRY_KEYS = {"mark", "use", "zone", "secctx", "labels"}
_IGNORED_KEYS = {"srckey", "dstkey", "helper", "delta-time", "zone-orig", "zone-reply"}


# The usual entry, read by one regular expression: `[NEW] ipv4 2 tcp 6 431999 ESTABLISHED
# src= dst= sport= dport= [packets= bytes=] [UNREPLIED] src= ... [ASSURED] mark= [zone=] use=`.
# Any other entry (more fields, other spacing) goes the word-by-word way below.
_TUPLE = (r"src=(\S+) dst=(\S+) (?:sport=([0-9]+) dport=([0-9]+)|type=([0-9]+) "
          r"code=([0-9]+) id=([0-9]+))(?: packets=([0-9]+) bytes=([0-9]+))?")
_REPLY = (r"src=(\S+) dst=(\S+) (?:sport=([0-9]+) dport=([0-9]+)|type=[0-9]+ "
          r"code=[0-9]+ id=[0-9]+)(?: packets=([0-9]+) bytes=([0-9]+))?")  # no reply_icmp_*
_PLAIN_ENTRY = re.compile(
    r"(?:\[(NEW|UPDATE|DESTROY)\] +)?(?:(ipv4|ipv6) +[0-9]+ +)?([a-z][a-z0-9-]*) +([0-9]+) +"
    r"([0-9]+) +(?:([A-Z_]+) +)?" + _TUPLE + r"((?: \[[A-Z_]+\])*) " + _REPLY
    + r"((?: \[[A-Z_]+\])*) mark=([0-9]+)(?: zone=([0-9]+))? use=([0-9]+)")
_COLUMN_ORDER = tuple(CONNTRACK_COLUMNS)


@parser("conntrack", flags=("-L|--dump|-E|--event|-G|--get",))
def conntrack_list(output: str) -> pd.DataFrame:
    """``conntrack -L`` (``-L -p tcp``, ``-o extended``, ``-E`` events, ``| grep -v 2379``).

    One row per connection-tracking entry. Columns: ``event`` (NEW/UPDATE/DESTROY for
    ``-E``), ``family`` (ipv4/ipv6), ``protocol`` (tcp, udp, icmp...), ``protocol_number``,
    ``timeout`` (seconds left), ``state`` (ESTABLISHED, SYN_SENT...; empty for udp/icmp),
    ``src_ip``, ``dst_ip``, ``src_port``, ``dst_port`` (the original direction),
    ``icmp_type``, ``icmp_code``, ``icmp_id``, ``packets``/``bytes`` (with accounting on),
    the ``reply_*`` counterparts, ``flags`` (list: ASSURED, UNREPLIED, OFFLOAD...), ``mark``,
    ``use``, ``zone``, ``secctx``, ``labels``. The line ``conntrack v1.4.x (conntrack-tools): N
    flow entries have been shown.`` (stderr, often pasted with the rest) is recognised.
    """
    # A tuple per entry (a dict per entry takes twice as long for a big table), the flags as
    # text until the end: 100,000 lists made one by one keep the garbage collector busy.
    rows: list[tuple] = []
    plain = _PLAIN_ENTRY.fullmatch
    for number, line in enumerate(output.splitlines(), start=1):
        p = plain(line.strip())
        if p:
            (event, family, protocol, proto, timeout, state, src, dst, sport, dport, itype,
             icode, iid, packets, nbytes, flags, rsrc, rdst, rsport, rdport, rpackets, rbytes,
             rflags, mark, zone, use) = p.groups()
            rows.append((
                event, family or ("ipv6" if ":" in src else "ipv4"), protocol, int(proto),
                int(timeout), state, src, dst, sport and int(sport), dport and int(dport),
                itype and int(itype), icode and int(icode), iid and int(iid),
                packets and int(packets), nbytes and int(nbytes), rsrc, rdst,
                rsport and int(rsport), rdport and int(rdport), rpackets and int(rpackets),
                rbytes and int(rbytes), flags + rflags, int(mark), int(use), zone and int(zone),
                None, None))
            continue
        line = line.rstrip()
        if passed_over(line):
            continue
        text = line.strip()
        if _TRAILER.match(text):
            continue
        m = _ENTRY_START.match(text)
        if not m:
            raise fail("expected a conntrack entry (`tcp 6 431999 ESTABLISHED src=...`)",
                       number, line)
        row: dict = {"event": m["event"], "family": m["family"], "protocol": m["protocol"],
                     "protocol_number": int(m["number"]), "flags": []}
        words = m["rest"].split()
        if words and words[0].isdigit():
            row["timeout"] = int(words.pop(0))
        if words and re.fullmatch(r"[A-Z_]+", words[0]):
            row["state"] = words.pop(0)
        prefix = ""
        for word in words:
            if re.fullmatch(r"\[[A-Z_]+\]", word):
                row["flags"].append(word[1:-1])
                continue
            key, eq, value = word.partition("=")
            if not eq:
                raise fail(f"unexpected word {word!r} in a conntrack entry", number, line)
            if key == "src" and "src_ip" in row:
                prefix = "reply_"
            if key in _TUPLE_KEYS:
                column = prefix + _TUPLE_KEYS[key]
                if column in row:
                    raise fail(f"{key}= given twice", number, line)
                row[column] = value
                if not column.endswith("_ip"):
                    row[column] = _int(value, number, line)
            elif key in ("mark", "use", "zone"):
                row[key] = _int(value, number, line)
            elif key in _ENTRY_KEYS:
                row[key] = value
            elif key not in _IGNORED_KEYS:
                raise fail(f"unexpected field {key!r} in a conntrack entry", number, line)
        if "src_ip" not in row:
            raise fail("a conntrack entry without src=", number, line)
        row["family"] = row["family"] or ("ipv6" if ":" in row["src_ip"] else "ipv4")
        row["flags"] = " ".join(row["flags"])
        rows.append(tuple(map(row.get, _COLUMN_ORDER)))
    df = frame(rows, CONNTRACK_COLUMNS)
    # The flags, as text (`[UNREPLIED] [ASSURED]`) so far, become lists: a new list per row.
    names = {text: text.replace("[", " ").replace("]", " ").split() for text in set(df["flags"])}
    df["flags"] = pd.Series([[*names[text]] for text in df["flags"]], index=df.index,
                            dtype=object)
    return df
