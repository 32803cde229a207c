"""Which parser reads which command: a table filled by the ``@parser`` decorator."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from labkit.errors import ParseError
from labkit.parsers._command import Invocation, read_command

Parser = Callable[[str], pd.DataFrame]


@dataclass(frozen=True)
class Spec:
    """A command a parser reads: program, leading positional words, required flags, form."""

    program: str
    words: tuple[str, ...]
    flags: tuple[str, ...]
    form: str
    func: Parser

    @property
    def command(self) -> str:
        flags = " ".join(f.split("|")[0] for f in self.flags)
        return " ".join([self.program, *self.words, flags]).strip()

    def matches(self, inv: Invocation) -> bool:
        return (
            inv.program == self.program
            and inv.words[: len(self.words)] == self.words
            and all(inv.has(*alternatives.split("|")) for alternatives in self.flags)
        )


_SPECS: list[Spec] = []


def parser(*commands: str, flags: tuple[str, ...] = (), form: str = "text"):
    """Registers a parser for one or more commands (``"cilium service list"``).

    ``flags`` must all be present (``"-c"``, or alternatives ``"-S|--list-rules"``);
    ``form`` is ``"text"`` or ``"json"`` (chosen when the command asks for JSON).
    The wrapped function keeps the raw text in ``df.attrs["raw"]`` and names itself in
    any ParseError it raises.
    """

    def register(func: Parser) -> Parser:
        @functools.wraps(func)
        def wrapped(output: str | bytes) -> pd.DataFrame:
            if isinstance(output, bytes):
                output = output.decode("utf-8", errors="replace")
            if not isinstance(output, str):
                kind = type(output).__name__
                raise TypeError(f"{func.__name__}() takes the output as text, not {kind}")
            try:
                df = func(output)
            except ParseError as e:
                if e.parser is None:
                    raise ParseError(e.message, line=e.line, line_number=e.line_number,
                                     parser=commands[0]) from None
                raise
            df.attrs["raw"] = output
            df.attrs["parser"] = func.__name__
            return df

        for command in commands:
            program, *words = command.split()
            _SPECS.append(Spec(program, tuple(words), tuple(flags), form, wrapped))
        return wrapped

    return register


def supported() -> list[str]:
    """The commands labkit can parse, as a learner would type them."""
    return sorted({f"{s.command}{' (JSON)' if s.form == 'json' else ''}" for s in _SPECS})


def choose(command: str) -> tuple[Invocation, Parser]:
    """The parser for a command line, or a ParseError that says what is supported."""
    inv = read_command(command)
    candidates = [s for s in _SPECS if s.matches(inv)]
    if not candidates:
        known = sorted({s.program for s in _SPECS})
        raise ParseError(
            f"labkit has no parser for `{inv.program} {' '.join(inv.words)}`".rstrip()
            + f"; it reads {', '.join(known)} (see labkit.parsers.supported())",
            line=command,
        )
    form = "json" if inv.wants_json else "text"
    same_form = [s for s in candidates if s.form == form]
    if not same_form:
        other = "without" if form == "json" else "with"
        raise ParseError(
            f"labkit reads the {'text' if form == 'json' else 'JSON'} form of "
            f"`{candidates[0].command}` only; run it {other} the JSON option",
            line=command,
        )
    best = max(same_form, key=lambda s: (len(s.words), len(s.flags)))
    return inv, best.func
