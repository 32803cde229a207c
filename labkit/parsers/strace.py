"""Parsers for strace: the ``-c`` summary table and the call lines (chapter 08).

Chapter 08 runs ``strace -c curl -s $SVCIP`` (how often each system call ran) and
``strace -s 65535 -f -tt curl -s $SVCIP`` (each call: connect() to the service address,
getsockname() showing the socket's own address). :func:`socket_calls` pulls the socket
addresses out of the call arguments, to put the address a program asked for beside the one
it really got.
"""

from __future__ import annotations

import re

import pandas as pd

from labkit.parsers._registry import parser
from labkit.parsers._text import fail, frame, lines

__all__ = ["strace_summary", "strace_calls", "socket_calls"]

# ---------------------------------------------------------------------------------------------
# strace -c

SUMMARY_COLUMNS = {
    "syscall": "str",
    "percent_time": "float",
    "seconds": "float",
    "usecs_per_call": "int",
    "calls": "int",
    "errors": "int",
}

_SUMMARY_HEADER = re.compile(r"^%\s*time\s+seconds\s+usecs/call\s+calls\s+errors\s+syscall$")
_SUMMARY_RULE = re.compile(r"^-+(?: +-+)+$")
_SUMMARY_ROW = re.compile(
    r"^\s*(?P<percent_time>\d+(?:\.\d+)?)\s+(?P<seconds>\d+\.\d+)\s+(?P<usecs_per_call>\d+)"
    r"\s+(?P<calls>\d+)\s+(?:(?P<errors>\d+)\s+)?(?P<syscall>[A-Za-z_]\w*)$"
)
# strace's own messages, and the title it puts over the table of each personality.
_STRACE_MESSAGE = re.compile(r"^strace: |^\[ Process PID=\d+ runs in .* mode\. \]$")
_PERSONALITY = re.compile(r"^System call usage summary for .* mode:$")


@parser("strace", flags=("-c|-C|--summary-only|--summary",))
def strace_summary(output: str) -> pd.DataFrame:
    """``strace -c``: how many times each system call ran, how long, how often it failed.

    Columns: ``syscall``, ``percent_time``, ``seconds`` (total time in the call),
    ``usecs_per_call``, ``calls``, ``errors`` (0 where strace leaves the cell blank).
    One row per system call, in the order printed (``-S`` sorting is kept). The ``total``
    row is not a system call: it goes to ``df.attrs["total"]`` as a dict with the same keys.
    Lines printed before the table header are not strace's table but the traced program's own
    output (curl's page) or, with ``-C``, the call lines: they are kept as text in
    ``df.attrs["preamble"]`` (``strace_calls`` reads the ``-C`` ones).
    """
    numbered = list(lines(output))
    start = next((i for i, (_, line) in enumerate(numbered)
                  if _SUMMARY_HEADER.match(line.strip())), 0)
    preamble = [line for _, line in numbered[:start]]
    rows: list[dict] = []
    total: dict = {}
    for number, line in numbered[start:]:
        text = line.strip()
        if (_SUMMARY_HEADER.match(text) or _SUMMARY_RULE.match(text)
                or _STRACE_MESSAGE.match(text) or _PERSONALITY.match(text)):
            continue
        m = _SUMMARY_ROW.match(text)
        if not m:
            raise fail("not a row of the strace -c table (% time, seconds, usecs/call, calls, "
                       "errors, syscall)", number, line)
        row = {
            "syscall": m["syscall"],
            "percent_time": float(m["percent_time"]),
            "seconds": float(m["seconds"]),
            "usecs_per_call": int(m["usecs_per_call"]),
            "calls": int(m["calls"]),
            "errors": int(m["errors"] or 0),
        }
        if row["syscall"] == "total":
            total = row
        else:
            rows.append(row)
    df = frame(rows, SUMMARY_COLUMNS)
    df.attrs["total"] = {k: v for k, v in total.items() if k != "syscall"}
    df.attrs["preamble"] = "\n".join(preamble)
    return df


# ---------------------------------------------------------------------------------------------
# strace call lines

CALL_COLUMNS = {
    "line": "int",
    "time": "str",
    "seconds": "float",
    "pid": "int",
    "kind": "str",
    "syscall": "str",
    "arguments": "str",
    "result": "str",
    "return_value": "int",
    "errno": "str",
    "errno_text": "str",
    "duration": "float",
    "signal": "str",
    "split": "bool",
}

# [pid  123] (-f), or a bare pid column (-f -o FILE, -ff), then a time stamp (-t, -tt, -ttt,
# -r), then the rest.
_PREFIX = re.compile(
    r"^\s*(?:\[pid\s+(?P<pid>\d+)\]\s+|(?P<bare_pid>\d+)\s+(?=\D))?"
    r"(?:(?P<time>\d{1,2}:\d{2}:\d{2}(?:\.\d+)?|\d+\.\d+)\s+)?(?P<rest>\S.*)$"
)
_CALL = re.compile(r"^(?P<syscall>[A-Za-z_]\w*|\?+)\((?P<arguments>.*)$")
_RESULT = re.compile(r"^(?P<head>.*)\)\s+= (?P<result>.*?)(?:\s+<(?P<duration>\d+\.\d+)>)?$")
_RESUMED = re.compile(r"^<\.\.\. (?:(?P<syscall>\w+) )?resumed>\s*(?P<arguments>.*)$")
_UNFINISHED = " <unfinished ...>"
_RETURN = re.compile(
    r"^(?P<value>-?\d+|0x[0-9a-fA-F]+|\?)(?:<[^>]*>)?"
    r"(?:\s+(?P<errno>E[A-Z0-9]+)(?:\s+\((?P<errno_text>[^)]*)\))?)?(?:\s.*)?$"
)
_SIGNAL = re.compile(r"^--- (?:(?P<signal>SIG\w+) (?P<info>.*)|(?P<text>.*)) ---$")
_EXIT = re.compile(r"^\+\+\+ (?P<text>(?:exited with (?P<code>\d+)|killed by (?P<signal>SIG\w+)"
                   r"|superseded by execve in pid \d+).*) \+\+\+$")
_ATTACH = re.compile(r"strace: Process (?P<pid>\d+) (?P<what>attached|detached|suspended"
                     r"|resumed)(?: .*)?$")
_INT64_MAX = 2**63 - 1
# The common line in one match: [pid] time name(arguments) = number [errno (text)] [<duration>]
_FAST = re.compile(
    r"^(?:\[pid\s+(?P<pid>\d+)\] )?"
    r"(?:(?P<time>\d{1,2}:\d{2}:\d{2}(?:\.\d+)?|\d+\.\d+) )?"
    r"(?P<syscall>[A-Za-z_]\w*)\((?P<arguments>.*)\)\s+= (?P<result>(?P<value>-?\d+)"
    r"(?: (?P<errno>E[A-Z0-9]+) \((?P<errno_text>[^)]*)\))?)(?: <(?P<duration>\d+\.\d+)>)?$"
)


def _seconds(stamp: str | None) -> float | None:
    if not stamp:
        return None
    if ":" in stamp:
        h, m, s = stamp.split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)
    return float(stamp)


def _result_fields(result: str) -> dict:
    m = _RETURN.match(result)
    if not m:
        return {}
    value = m["value"]
    number = None if value == "?" else int(value, 16) if value.startswith("0x") else int(value)
    if number is not None and not -_INT64_MAX <= number <= _INT64_MAX:
        number = None
    return {"return_value": number, "errno": m["errno"], "errno_text": m["errno_text"]}


@parser("strace")
def strace_calls(output: str) -> pd.DataFrame:
    """Call lines of ``strace`` (``-f``, ``-t``/``-tt``/``-ttt``, ``-T``, ``-e trace=``...).

    One row per line, in order, with ``kind``: ``syscall`` (a call and its result),
    ``signal`` (``--- SIGCHLD {...} ---``), ``exit`` (``+++ exited with 0 +++``: the code is
    in ``return_value``; ``+++ killed by SIGKILL +++``: in ``signal``), ``attached`` /
    ``detached`` (``strace: Process N attached``), ``message`` (other lines of strace's own).
    A call printed in two parts (``connect(5, ... <unfinished ...>`` then
    ``<... connect resumed>, 16) = 0``) becomes one ``syscall`` row at the place of its first
    part, with ``split`` True; a part whose other half is missing (cut by grep or head) stays
    a row of kind ``unfinished`` or ``resumed``. Columns: ``line`` (line number), ``time`` (as
    printed), ``seconds`` (the time as seconds since midnight, or since the epoch with
    ``-ttt``), ``pid`` (``-f``), ``syscall``, ``arguments`` (raw text), ``result`` (raw text),
    ``return_value`` (Int64 when numeric), ``errno``, ``errno_text``, ``duration`` (``-T``,
    seconds), ``signal``, ``split``.
    """
    rows: list[dict] = []
    pending: dict[tuple, dict] = {}  # (pid, syscall) -> row of an unfinished call
    carry = ""  # the start of a call line that "strace: Process N attached" cut in two
    for number, raw in lines(output):
        fast = None if carry else _FAST.match(raw)
        if fast and not fast["arguments"].endswith(_UNFINISHED):
            stamp, duration = fast["time"], fast["duration"]
            rows.append({
                "line": number, "time": stamp, "seconds": _seconds(stamp),
                "pid": int(fast["pid"]) if fast["pid"] else None, "kind": "syscall",
                "syscall": fast["syscall"], "arguments": fast["arguments"],
                "result": fast["result"], "return_value": int(fast["value"]),
                "errno": fast["errno"], "errno_text": fast["errno_text"],
                "duration": float(duration) if duration else None, "split": False})
            continue
        line = carry + raw if carry else raw
        carry = ""
        attach = _ATTACH.search(line) if "strace: Process" in line else None
        if attach and attach.start() > 0 and not line.startswith("strace: "):
            # strace printed its message in the middle of a call line: keep both.
            carry = line[: attach.start()]
            rows.append({"line": number, "kind": "attached", "pid": int(attach["pid"])})
            continue
        m = _PREFIX.match(line)
        if not m:
            raise fail("not an strace line", number, line)
        rest = m["rest"]
        row = {"line": number, "time": m["time"], "seconds": _seconds(m["time"]),
               "pid": int(m["pid"] or m["bare_pid"]) if (m["pid"] or m["bare_pid"]) else None}
        if rest.startswith("strace: ") or rest.startswith("[ Process"):
            attach = _ATTACH.match(rest)
            if attach:
                row.update(kind=attach["what"], pid=int(attach["pid"]))
            else:
                row.update(kind="message", result=rest)
            rows.append(row)
            continue
        if rest.startswith("---"):
            s = _SIGNAL.match(rest)
            if not s:
                raise fail("not a signal line (--- SIGNAME {...} ---)", number, line)
            row.update(kind="signal", signal=s["signal"], arguments=s["info"] or s["text"])
            rows.append(row)
            continue
        if rest.startswith("+++"):
            e = _EXIT.match(rest)
            if not e:
                raise fail("not an exit line (+++ exited with N +++)", number, line)
            row.update(kind="exit", result=e["text"], signal=e["signal"],
                       return_value=int(e["code"]) if e["code"] else None)
            rows.append(row)
            continue
        resumed = _RESUMED.match(rest)
        if resumed:
            r = _RESULT.match(resumed["arguments"])
            if not r:
                raise fail("a resumed call without its result (') = ...')", number, line)
            tail = {"result": r["result"],
                    "duration": float(r["duration"]) if r["duration"] else None,
                    **_result_fields(r["result"])}
            key = next((k for k in pending if k[0] == row["pid"]
                        and (resumed["syscall"] in (None, k[1]))), None)
            if key is not None:
                start = pending.pop(key)
                first, second = start["arguments"].rstrip(), r["head"].strip()
                joint = " " if first.endswith(",") and second else ""
                start.update(kind="syscall", split=True, **tail,
                             arguments=first + joint + second)
                continue
            row.update(kind="resumed", syscall=resumed["syscall"], arguments=r["head"].strip(),
                       **tail)
            rows.append(row)
            continue
        c = _CALL.match(rest)
        if not c:
            raise fail("not an strace call line (name(arguments) = result)", number, line)
        row["syscall"] = c["syscall"]
        arguments = c["arguments"]
        if arguments.endswith(_UNFINISHED):
            row.update(kind="unfinished", arguments=arguments[: -len(_UNFINISHED)], split=False)
            pending[(row["pid"], row["syscall"])] = row
            rows.append(row)
            continue
        r = _RESULT.match(arguments)
        if not r:
            raise fail("a call line without its result (') = ...')", number, line)
        head = r["head"]
        if head.endswith(_UNFINISHED):  # the process died in the call: `<unfinished ...>) = ?`
            head = head[: -len(_UNFINISHED)]
        row.update(kind="syscall", arguments=head, result=r["result"], split=False,
                   duration=float(r["duration"]) if r["duration"] else None,
                   **_result_fields(r["result"]))
        rows.append(row)
    if carry:
        raise fail("the output ends inside a call line", None, carry)
    return frame(rows, CALL_COLUMNS)


# ---------------------------------------------------------------------------------------------
# socket addresses in call arguments

SOCKET_SYSCALLS = ("connect", "bind", "getsockname", "getpeername", "accept", "accept4",
                   "sendto", "recvfrom", "sendmsg", "recvmsg")

SOCKET_COLUMNS = {
    "line": "int",
    "time": "str",
    "seconds": "float",
    "pid": "int",
    "syscall": "str",
    "fd": "int",
    "family": "str",
    "ip": "str",
    "port": "int",
    "path": "str",
    "return_value": "int",
    "errno": "str",
}

_FD = re.compile(r"^\s*(-?\d+)")
_FAMILY = re.compile(r"sa_family=(AF_\w+)")
_PORT = re.compile(r"sin6?_port=htons\((\d+)\)")
_IPV4 = re.compile(r'sin_addr=inet_addr\("([^"]*)"\)')
_IPV6 = re.compile(r'inet_pton\(AF_INET6, "([^"]*)"|sin6_addr=inet_pton\("([^"]*)"\)')
_UNIX = re.compile(r'sun_path=(@?"[^"]*")')


def socket_calls(calls: pd.DataFrame) -> pd.DataFrame:
    """The socket calls of a :func:`strace_calls` table, with the address each one carries.

    Keeps the rows of connect, bind, getsockname, getpeername, accept(4), sendto, recvfrom,
    sendmsg and recvmsg, and reads the socket address in their arguments
    (``{sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("10.10.124.15")}``, the
    AF_INET6 ``inet_pton(...)`` form, AF_UNIX ``sun_path``). Columns: ``line``, ``time``,
    ``seconds``, ``pid``, ``syscall``, ``fd`` (the socket), ``family``, ``ip``, ``port``,
    ``path`` (AF_UNIX), ``return_value``, ``errno``. connect() shows the address the program
    asked for (a service address); getsockname()/getpeername() on the same ``pid``/``fd``
    show the addresses the socket really has.
    """
    missing = {"syscall", "arguments", "kind"} - set(calls.columns)
    if missing:
        raise ValueError(f"socket_calls() takes a strace_calls() table; it lacks {missing}")
    rows = []
    kept = calls[calls["syscall"].isin(SOCKET_SYSCALLS) & (calls["kind"] != "resumed")]
    for rec in kept.to_dict("records"):
        args = rec["arguments"] or ""
        fd, family, port = _FD.match(args), _FAMILY.search(args), _PORT.search(args)
        v4, v6, unix = _IPV4.search(args), _IPV6.search(args), _UNIX.search(args)
        rows.append({
            "line": rec.get("line"), "time": rec.get("time"), "seconds": rec.get("seconds"),
            "pid": None if pd.isna(rec.get("pid")) else rec["pid"],
            "syscall": rec["syscall"],
            "fd": int(fd[1]) if fd else None,
            "family": family[1] if family else None,
            "ip": v4[1] if v4 else (v6[1] or v6[2]) if v6 else None,
            "port": int(port[1]) if port else None,
            "path": unix[1].replace('"', "") if unix else None,
            "return_value": None if pd.isna(rec.get("return_value")) else rec["return_value"],
            "errno": rec.get("errno"),
        })
    return frame(rows, SOCKET_COLUMNS)
