"""What the parser tests share: the dev machine's outputs and parsing an output."""

from __future__ import annotations

import pandas as pd

import labkit
from tests.outputs import ROOT, Output, load

LOCAL = ROOT / "tests" / "fixtures" / "local"


def local(name: str) -> Output:
    """An output captured on the labkit dev machine (tests/fixtures/local)."""
    return load(LOCAL / name)


def parsed(output: Output) -> pd.DataFrame:
    """The DataFrame labkit.parse makes of an output, the parser chosen by its command."""
    return labkit.parse(output.command, output.text)


def parsed_local(name: str) -> pd.DataFrame:
    """:func:`parsed` of a dev machine output."""
    return parsed(local(name))
