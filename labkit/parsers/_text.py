"""Small tools every parser shares: numbered lines, typed frames, JSON, addresses."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping

import pandas as pd

from labkit.errors import ParseError

# A line an author put in place of lines they left out (seed, docs): not data.
_ELISION = re.compile(r"^\s*(\.\.\.|\[\.\.\.\]|…)\s*$")

# Column kinds -> pandas dtypes. Ints are nullable so a missing value stays missing.
_DTYPES = {
    "int": "Int64",
    "float": "float64",
    "str": "object",
    "bool": "boolean",
    "list": "object",
    "time": "datetime64[ns, UTC]",
    "object": "object",
}


def lines(output: str) -> Iterator[tuple[int, str]]:
    """(line number, line) for every line that holds something, trailing space removed.

    Line numbers count every line of the output as given (1-based), so an error points at
    the right place; blank lines and elision marks (``...``) are passed over.
    """
    for number, line in enumerate(output.splitlines(), start=1):
        line = line.rstrip()
        if not line.strip() or _ELISION.match(line):
            continue
        yield number, line


_INT64 = (-(2**63), 2**63 - 1)


def frame(rows: list[Mapping], columns: Mapping[str, str]) -> pd.DataFrame:
    """A DataFrame with exactly these columns, in this order and of these kinds.

    ``columns`` maps a column name to a kind: int, float, str, bool, list, time, object.
    The columns are the same whatever the rows, an empty output included.
    """
    # dtype=object: pandas must not turn [5, None] into floats (big ints would lose digits).
    # A key missing from a row reads NaN here; text-like columns turn it back into None.
    df = pd.DataFrame(list(rows), columns=list(columns), dtype=object)
    for name, kind in columns.items():
        if kind in ("str", "list", "object"):
            missing = df[name].isna()
            if missing.any():
                df[name] = df[name].where(~missing, None)
        if kind == "time":
            df[name] = pd.to_datetime(df[name], utc=True)
        elif kind == "int":
            values = [None if v is None or v != v else int(v) for v in df[name]]
            too_big = next((v for v in values if v is not None and not _INT64[0] <= v <= _INT64[1]),
                           None)
            if too_big is not None:
                raise ParseError(f"the number {too_big} in column {name!r} is too large for a "
                                 "64-bit integer; is this the right command's output?")
            df[name] = pd.array(values, dtype="Int64")
        else:
            df[name] = df[name].astype(_DTYPES[kind])
    return df


def load_json(output: str):
    """The JSON value(s) in an output: one document, or a stream (JSON lines, jq output).

    A stream of several values comes back as a list.
    """
    decoder = json.JSONDecoder()
    values = []
    pos, end = 0, len(output)
    while True:
        while pos < end and output[pos].isspace():
            pos += 1
        if pos >= end:
            break
        try:
            value, pos = decoder.raw_decode(output, pos)
        except json.JSONDecodeError as e:
            number = output.count("\n", 0, e.pos) + 1
            all_lines = output.splitlines()
            line = all_lines[number - 1] if number <= len(all_lines) else ""
            raise ParseError(f"not valid JSON ({e.msg})", line=line, line_number=number) from None
        values.append(value)
    if not values:
        return []
    return values[0] if len(values) == 1 else values


def split_address(text: str) -> tuple[str, int | None, str | None]:
    """``10.0.0.1:80/TCP`` -> ("10.0.0.1", 80, "TCP"); ``[fd00::1]:53`` -> ("fd00::1", 53, None).

    An address without a port gives (address, None, None). Raises ValueError when the port
    is not a number; callers turn that into a ParseError quoting the line.
    """
    protocol = None
    m = re.fullmatch(r"(.*?)/(TCP|UDP|SCTP|ANY|NONE|ICMP)(/i)?", text, flags=re.I)
    if m:
        text, protocol = m.group(1), m.group(2).upper()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, ""
    if port and not port.isdigit():
        raise ValueError(f"port {port!r} is not a number")
    return host, int(port) if port else None, protocol


def fail(message: str, number: int | None = None, line: str | None = None) -> ParseError:
    """A ParseError quoting a line: ``raise fail("not a service row", n, line)``."""
    return ParseError(message, line=line, line_number=number)
