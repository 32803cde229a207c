"""Small tools every parser shares: numbered lines, typed frames, JSON, addresses."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping

import numpy as np
import pandas as pd

from labkit.errors import ParseError

# A line an author put in place of lines they left out (seed, docs): not data.
_ELISION = re.compile(r"^\s*(\.\.\.|\[\.\.\.\]|…)\s*$")
_ELISION_ENDS = ("...", "[...]", "…")  # how such a line ends, once trailing space is gone

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
        if not passed_over(line):
            yield number, line


def passed_over(line: str) -> bool:
    """Whether :func:`lines` passes over this line (trailing space removed): blank, or ``...``.

    For a parser that reads ``enumerate(output.splitlines(), 1)`` itself, for speed."""
    return not line or (line.endswith(_ELISION_ENDS) and _ELISION.match(line) is not None)


_INT64 = (-(2**63), 2**63 - 1)
_NONE = type(None)


def frame(rows: Iterable[Mapping | tuple], columns: Mapping[str, str]) -> pd.DataFrame:
    """A DataFrame with exactly these columns, in this order and of these kinds.

    ``columns`` maps a column name to a kind: int, float, str, bool, list, time, object.
    The columns are the same whatever the rows, an empty output included. A row is a
    mapping (column -> value; a key left out is an empty value) or, quicker for a big output,
    a tuple of one value per column in the order of ``columns`` (None when empty); the rows
    are all of one form. An int column takes ints or their text (``"80"``).
    """
    # dtype=object: pandas must not turn [5, None] into floats (big ints would lose digits).
    # A key missing from a row reads NaN here; every kind reads NaN as empty.
    table = pd.DataFrame(rows if isinstance(rows, list) else list(rows),
                         columns=list(columns), dtype=object)
    return _typed([table[name].to_numpy() for name in columns], columns, len(table))


def _typed(arrays: list[np.ndarray], columns: Mapping[str, str], length: int) -> pd.DataFrame:
    """The DataFrame of these object arrays (one per column), each turned into its kind."""
    index = pd.RangeIndex(length)
    data = {}
    for (name, kind), values in zip(columns.items(), arrays, strict=True):
        if kind == "int":
            data[name] = _ints(values, name)
            continue
        series = pd.Series(values, dtype=object, index=index, copy=False)
        if kind in ("str", "list", "object"):
            # NaN, NA and NaT read as None; a column of text, lists and None holds none.
            if not set(map(type, values)) <= {str, list, _NONE}:
                missing = series.isna()
                if missing.any():
                    series = series.where(~missing, None)
        elif kind == "time":
            series = pd.to_datetime(series, utc=True)
        else:
            series = series.astype(_DTYPES[kind])
        data[name] = series
    return pd.DataFrame(data, index=index, columns=list(columns), copy=False)


def _ints(values: np.ndarray, name: str) -> pd.api.extensions.ExtensionArray:
    """A nullable Int64 array: None or NaN is missing, a number beyond int64 a ParseError."""
    types = set(map(type, values))
    if types == {_NONE}:
        return pd.arrays.IntegerArray(np.zeros(len(values), dtype=np.int64),
                                      np.ones(len(values), dtype=bool))
    if types <= {int, str, float, _NONE}:  # the usual case: ints or their text, None, NaN
        if types <= {int, str}:
            missing, present = np.zeros(len(values), dtype=bool), values
        else:
            missing = pd.isna(values)
            present = values[~missing]
            if float in types and not set(map(type, present)) <= {int, str}:
                present = None  # a float that is a number: int() it below, as ever
        if present is not None:
            try:
                ints = present.astype(np.int64)  # int(value) for each value
            except (OverflowError, ValueError):
                pass  # the loop below names the number, or raises as int() does
            else:
                if present is not values:
                    ints, filled = np.zeros(len(values), dtype=np.int64), ints
                    ints[~missing] = filled
                return pd.arrays.IntegerArray(ints, missing)
    ints = [None if v is None or v != v else int(v) for v in values]
    too_big = next((v for v in ints if v is not None and not _INT64[0] <= v <= _INT64[1]),
                   None)
    if too_big is not None:
        raise ParseError(f"the number {too_big} in column {name!r} is too large for a "
                         "64-bit integer; is this the right command's output?")
    return pd.array(ints, dtype="Int64")


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


def json_array(output: str, message: str, item: type = object) -> list:
    """The JSON array in an output, a lone object (one item, or a jq filter's) read as an
    array of one; ``message`` is the ParseError when it is no array of ``item`` values."""
    data = load_json(output)
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(x, item) for x in data):
        raise fail(message)
    return data


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


def append_continuation(rows: list[dict], column: str, value, **start) -> None:
    """Adds a continuation row's value (a table's extra label) to ``column`` of the row above.

    With no row above, or one whose ``start`` cells differ (an output cut by grep), the value
    starts a row of its own, so nothing the learner saw is lost.
    """
    if rows and all(rows[-1][key] == cell for key, cell in start.items()):
        rows[-1][column].append(value)
    else:
        rows.append({**start, column: [value]})


def fail(message: str, number: int | None = None, line: str | None = None) -> ParseError:
    """A ParseError quoting a line: ``raise fail("not a service row", n, line)``."""
    return ParseError(message, line=line, line_number=number)
