"""Reads a command line the way a learner typed it and finds the tool and its subcommand.

A learner may paste ``kubectl -n kube-system exec ds/cilium -c cilium-agent -- cilium-dbg
bpf lb list | grep 10.96``, or use the seed's aliases (``c0 service list``, ``c1bpf net show``,
``p0 ip -c neigh``). This module strips such wrappers and keeps what matters for choosing a
parser: the program, its positional words, its flags, whether it asked for JSON, and the
filters its output went through.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field

from labkit.errors import ParseError

# The seed's aliases: c0..c2 run `cilium` in an agent pod, c0bpf.. run `bpftool` there,
# p0..p2 run a command in netpod/webpod1/webpod2, kc is kubectl.
_ALIASES = {
    **{f"c{i}": ["cilium"] for i in range(10)},
    **{f"c{i}bpf": ["bpftool"] for i in range(10)},
    **{f"p{i}": [] for i in range(10)},
    "kc": ["kubectl"],
    "k": ["kubectl"],
}

# Programs known under several names, folded into one.
_PROGRAM_NAMES = {
    "cilium-dbg": "cilium",
    "iptables-legacy": "iptables",
    "iptables-nft": "iptables",
    "ip6tables": "iptables",
    "iptables-legacy-save": "iptables-save",
    "iptables-nft-save": "iptables-save",
    "ip6tables-save": "iptables-save",
}

# Flags that take a value as the next argument, per program (enough to find subcommands).
_VALUE_FLAGS = {
    "cilium": {"-o", "--output", "-t", "--type", "--related-to", "--from", "--to", "-H",
               "--host", "--config"},
    "hubble": {"-o", "--output", "--pod", "--namespace", "--since", "--until", "--last",
               "--protocol", "--verdict", "--http-method", "--http-path", "--identity",
               "--from-pod", "--to-pod", "--from-ip", "--to-ip", "--label", "-l", "--type",
               "-t", "--server", "--node-name", "--fqdn", "--port", "--to-port", "--from-port"},
    "kubectl": {"-n", "--namespace", "-o", "--output", "-l", "--selector", "-c", "--container",
                "--field-selector", "--context", "--kubeconfig", "-f", "--filename",
                "--sort-by", "--cluster", "--user", "-s", "--server"},
    "ip": {"-n", "-netns", "-f", "-family", "-rc", "-rcvbuf", "-b", "-batch"},
    "strace": {"-e", "-s", "-o", "-p", "-a", "-E", "-u", "-S", "-P", "-X", "-I", "-b", "-O"},
    "tcpdump": {"-i", "-c", "-s", "-w", "-r", "-C", "-G", "-W", "-E", "-F", "-y", "-T", "-z",
                "-Z", "-j", "-B", "-M", "--interface"},
    "ngrep": {"-d", "-W", "-A", "-s", "-c", "-P", "-F", "-O", "-I", "-S", "-n"},
    "iptables": {"-t", "--table"},
    "iptables-save": {"-t", "--table", "-M"},
    "conntrack": {"-p", "--proto", "-s", "-d", "-f", "--family", "-z", "-m", "--mark"},
    "lsns": {"-t", "--type", "-o", "--output", "-p", "--task"},
}

# Programs whose short options combine getopt-style (``-enni``, ``-tW``, ``-jp``).
_GETOPT = {"strace", "tcpdump", "ngrep", "conntrack", "lsns", "ethtool", "bpftool", "iptables",
           "iptables-save", "route", "curl", "uname"}

# `ip` takes any unambiguous prefix of an object's name.
_IP_OBJECTS = {"address": "addr", "link": "link", "route": "route", "neighbour": "neigh",
               "neighbor": "neigh", "rule": "rule", "netns": "netns", "maddress": "maddr"}
_IP_SHORT = {"a": "addr", "l": "link", "r": "route", "n": "neigh", "ro": "route"}

# Programs that run another program: its flags (`sh -c`, `curl -s`) are not theirs.
_RUNS_A_COMMAND = {"strace", "ltrace"}

# What a pipeline may do to an output and still leave lines the parser knows.
_KEEPS_LINES = {"grep", "egrep", "fgrep", "rg", "head", "tail", "sort", "uniq", "cat", "less",
                "more", "tee", "jq", "column"}


@dataclass(frozen=True)
class Invocation:
    """A command line reduced to what chooses a parser."""

    text: str
    program: str
    args: tuple[str, ...]
    words: tuple[str, ...]
    flags: tuple[str, ...]
    filters: tuple[tuple[str, ...], ...] = field(default=())

    @property
    def filtered(self) -> bool:
        """True when the output went through grep/head/...: header lines may be missing."""
        return bool(self.filters)

    def has(self, *names: str) -> bool:
        """True when any of the flags was given (``-c`` also matches ``-fc`` for getopt tools)."""
        for name in names:
            for flag in self.flags:
                if flag == name or flag.startswith(name + "="):
                    return True
                if (
                    self.program in _GETOPT
                    and len(name) == 2
                    and flag.startswith("-")
                    and not flag.startswith("--")
                    and name[1] in flag[1:]
                ):
                    return True
        return False

    def value(self, *names: str) -> str | None:
        """The value given to a flag (``-o json``, ``-ojson``, ``--output=json``), if any."""
        args = list(self.args)
        for i, arg in enumerate(args):
            for name in names:
                if arg == name and i + 1 < len(args):
                    return args[i + 1]
                if arg.startswith(name + "="):
                    return arg[len(name) + 1:]
                joined = len(name) == 2 and len(arg) > 2 and not arg.startswith("--")
                if joined and arg.startswith(name):
                    return arg[2:]
        return None

    @property
    def wants_json(self) -> bool:
        """Whether the tool was asked for JSON (``-o json``, ``-j``, ``bpftool -p``, ``| jq``)."""
        if any(f[0] == "jq" for f in self.filters):
            return True
        if self.program == "bpftool":
            return self.has("-j", "--json", "-p", "--pretty")
        if self.program == "ip":
            return any(f in ("-j", "-json", "--json") for f in self.flags)
        out = self.value("-o", "--output")
        if self.program == "kubectl" and out == "yaml":
            return True  # kubectl's JSON parsers read its YAML too: the same objects
        if self.program in ("cilium", "hubble", "kubectl") and out:
            return out.startswith("json")
        if self.program == "cilium" and any(re.fullmatch(r"-[vnD]*j[vnD]*", f)
                                            for f in self.flags):
            return True  # `cilium monitor -j` (cobra also takes `-vj`)
        return self.has("--json")


def _split(text: str) -> list[str]:
    try:
        lexer = shlex.shlex(text, posix=True, punctuation_chars="|;&")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        return list(lexer)
    except ValueError as e:
        raise ParseError(f"cannot read the command line ({e}); check its quotes",
                         line=text) from None


def _stages(tokens: list[str]) -> list[list[str]]:
    """The first command of a sequence (``a ; b``, ``a && b``), split into pipeline stages."""
    stages: list[list[str]] = [[]]
    for tok in tokens:
        if tok in (";", "&&", "||", "&"):
            break
        if tok == "|":
            stages.append([])
        else:
            stages[-1].append(tok)
    return [s for s in stages if s]


def _unwrap(tokens: list[str]) -> list[str]:
    """Strips sudo, env assignments, aliases, kubectl exec, ip netns exec, nsenter and sh -c."""
    for _ in range(10):
        if not tokens:
            return tokens
        head = tokens[0]
        if head in ("sudo", "time", "command", "exec", "watch") or re.match(r"^\w+=", head):
            tokens = tokens[1:]
            while head in ("sudo", "watch") and tokens and tokens[0].startswith("-"):
                tokens = tokens[1:]
            continue
        if head in _ALIASES:
            tokens = _ALIASES[head] + tokens[1:]
            continue
        name = os.path.basename(head)
        if name in ("kubectl", "oc") and "exec" in tokens and "--" in tokens:
            tokens = tokens[tokens.index("--") + 1:]
            continue
        if name == "nsenter" and "--" in tokens:
            tokens = tokens[tokens.index("--") + 1:]
            continue
        if name == "ip" and tokens[1:3] == ["netns", "exec"] and len(tokens) > 3:
            tokens = tokens[4:]
            continue
        if name in ("sh", "bash", "ash", "zsh") and "-c" in tokens[1:3]:
            i = tokens.index("-c")
            if i + 1 < len(tokens):
                tokens = _stages(_split(tokens[i + 1]))[0]
                continue
        return tokens
    return tokens


def read_command(text: str) -> Invocation:
    """Turns a command line as typed into an :class:`Invocation`."""
    stages = _stages(_split(text))
    if not stages:
        raise ParseError("the command line is empty; give the command that printed the output")
    # `sh -c "a | b"` hides a pipeline inside the quotes: unwrap first, then split again.
    first = _unwrap(stages[0])
    inner = _stages(first) if "|" in first else [first]
    tokens, stages = inner[0], inner[1:] + stages[1:]
    if not tokens:
        raise ParseError("no program found in the command line", line=text)
    program = os.path.basename(tokens[0])
    program = _PROGRAM_NAMES.get(program, program)
    args = tuple(tokens[1:])

    value_flags = _VALUE_FLAGS.get(program, set())
    words: list[str] = []
    flags: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if program in _RUNS_A_COMMAND and words:
            # `strace -f sh -c '...'`: what follows the traced program is its own, not strace's
            words.extend(args[i:])
            break
        if arg.startswith("-") and len(arg) > 1:
            flags.append(arg)
            if arg in value_flags and i + 1 < len(args):
                i += 1
        else:
            words.append(arg)
        i += 1
    if program == "ip" and words:
        obj = words[0]
        full = _IP_SHORT.get(obj) or next(
            (short for name, short in _IP_OBJECTS.items() if name.startswith(obj)), obj)
        words[0] = full

    filters = []
    for stage in stages:
        tool = os.path.basename(stage[0])
        if tool not in _KEEPS_LINES:
            raise ParseError(
                f"the output went through `{tool}`, which changes its lines; give the command "
                "without it, or filter the DataFrame instead", line=text)
        filters.append(tuple(stage))
    return Invocation(text=text, program=program, args=args, words=tuple(words),
                      flags=tuple(flags), filters=tuple(filters))
