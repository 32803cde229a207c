"""The contract every parser keeps, checked across all of them at once:
random text gives a ParseError or a DataFrame (nothing else), empty output gives the
parser's columns with no rows, and column names are snake_case."""

from __future__ import annotations

import contextlib
import re
import string

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import labkit
from labkit import ParseError
from labkit.parsers._registry import _SPECS

PARSERS = sorted({spec.func for spec in _SPECS}, key=lambda f: f.__name__)
COMMANDS = sorted({(spec.command, spec.form) for spec in _SPECS})

# Text that looks like tool output: words, addresses, numbers, brackets, separators.
TOKENS = st.sampled_from([
    "10.0.0.1", "10.96.0.10:80", "172.16.1.234:80/TCP", "(16)", "(0)", "[ClusterIP,", "=>",
    "id=1", "identity=2", "flags=<none>", "0x0", "lxc12ab(12)", "tcx/ingress", "prog_id", "1529",
    "ID", "Name", "Key", "Value", "SERVICE", "ADDRESS", ":", "->", "<-", "{", "}", "[", "]",
    '"', "TCP", "OUT", "src=1.2.3.4", "dport=80", "Enabled", "True", "-A", "-j", "KUBE-SVC",
    "connect(5,", "=", "-1", "EINPROGRESS", "ESTABLISHED", "ok", "...", "\t", "  ", "---",
    "Hostname:", "2024-10-20T07:47:27+0000", "08:54:55.454271", "eth0", "In", "Out", "0/1",
])
TOOL_LIKE = st.lists(st.lists(TOKENS, max_size=12).map(" ".join), max_size=12).map("\n".join)
ANY_TEXT = st.one_of(st.text(max_size=400), TOOL_LIKE,
                     st.text(alphabet=string.printable, max_size=400))


def _ok(result):
    assert isinstance(result, pd.DataFrame)


@pytest.mark.parametrize("func", PARSERS, ids=lambda f: f.__name__)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=ANY_TEXT)
def test_random_text_gives_a_parse_error_or_a_dataframe(func, text):
    with contextlib.suppress(ParseError):
        _ok(func(text))


@pytest.mark.parametrize(("command", "form"), COMMANDS, ids=lambda c: str(c))
@settings(max_examples=25, deadline=None)
@given(text=ANY_TEXT)
def test_parse_with_each_supported_command_never_raises_anything_else(command, form, text):
    if form == "json":
        command += " -o json" if command.startswith(("cilium", "hubble", "kubectl")) else ""
    with contextlib.suppress(ParseError):
        _ok(labkit.parse(command, text))


@pytest.mark.parametrize("func", PARSERS, ids=lambda f: f.__name__)
def test_empty_output_gives_named_columns_and_no_rows(func):
    try:
        df = func("")
    except ParseError as e:  # a JSON parser may insist on a document; it must say so
        assert str(e)
        return
    assert len(df) == 0
    assert len(df.columns) > 0


@pytest.mark.parametrize("func", PARSERS, ids=lambda f: f.__name__)
def test_columns_are_snake_case(func):
    try:
        df = func("")
    except ParseError:
        pytest.skip("this parser needs a document to show its columns")
    bad = [c for c in df.columns if not re.fullmatch(r"[a-z][a-z0-9_]*", str(c))]
    assert not bad


def test_every_parser_keeps_the_raw_text():
    for spec in _SPECS:
        try:
            df = spec.func("")
        except ParseError:
            continue
        assert df.attrs["raw"] == ""


def test_unknown_command_names_what_labkit_reads():
    with pytest.raises(ParseError, match="no parser for `frobnicate"):
        labkit.parse("frobnicate --all", "x")
