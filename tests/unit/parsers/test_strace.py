"""strace: the -c summary table and the call lines (chapter 08)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import labkit
from labkit import ParseError
from labkit.parsers import socket_calls, strace_calls, strace_summary
from tests.outputs import load, real, real_ids, seed
from tests.unit.parsers import helpers
from tests.unit.parsers.helpers import LOCAL, parsed


def local(name: str):
    """An output captured on the labkit dev machine (tests/fixtures/local)."""
    return helpers.local(f"{name}.txt")


# --- strace -c ------------------------------------------------------------------------------

def test_strace_summary_reads_the_seed_table_one_row_per_syscall():
    df = parsed(seed("strace-c-curl"))
    assert df.attrs["parser"] == "strace_summary"
    assert len(df) == 32
    connect = df.set_index("syscall").loc["connect"]
    assert connect["calls"] == 1 and connect["errors"] == 1
    assert connect["usecs_per_call"] == 78
    assert connect["seconds"] == pytest.approx(0.000078)
    assert df.iloc[0]["syscall"] == "mmap" and df.iloc[0]["percent_time"] == pytest.approx(28.74)


def test_strace_summary_blank_errors_are_zero_and_columns_are_typed():
    df = parsed(seed("strace-c-curl"))
    assert df.set_index("syscall").loc["mmap", "errors"] == 0
    assert str(df["calls"].dtype) == "Int64" and str(df["errors"].dtype) == "Int64"
    assert df["seconds"].dtype == "float64"


def test_strace_summary_puts_the_total_row_in_attrs_not_in_the_rows():
    df = parsed(seed("strace-c-curl"))
    assert "total" not in set(df["syscall"])
    assert df.attrs["total"] == {"percent_time": 100.0, "seconds": 0.003379,
                                 "usecs_per_call": 8, "calls": 389, "errors": 36}
    assert df["calls"].sum() == df.attrs["total"]["calls"]


def test_strace_summary_keeps_the_traced_programs_output_as_preamble():
    df = parsed(local("strace-c-f-curl"))
    assert df.attrs["preamble"] == "hello"  # curl printed the page before strace's table
    assert df.set_index("syscall").loc["connect", "errors"] == 3


def test_strace_summary_keeps_the_order_of_S_sorting():
    df = parsed(local("strace-c-w-S-calls"))
    assert df.iloc[0]["syscall"] == "mmap"
    assert list(df["calls"]) == sorted(df["calls"], reverse=True)
    assert df.attrs["total"]["calls"] == 29


def test_strace_C_gives_the_summary_and_the_call_lines_in_the_preamble():
    df = parsed(local("strace-C-true"))
    assert df.attrs["parser"] == "strace_summary"
    calls = strace_calls(df.attrs["preamble"])
    assert calls.iloc[0]["syscall"] == "execve"
    assert calls.iloc[-1]["kind"] == "exit"


def test_strace_summary_reads_grep_filtered_rows_without_header():
    df = labkit.parse("strace -c curl -s 10.10.124.15 | grep -E 'connect|socket'",
                      "  2.31    0.000078          78         1         1 connect\n"
                      "  0.50    0.000017          17         1           socket\n")
    assert list(df["syscall"]) == ["connect", "socket"]
    assert list(df["errors"]) == [1, 0]


def test_strace_summary_reads_wide_columns_of_newer_versions():
    text = ("% time     seconds  usecs/call     calls    errors syscall\n"
            "------ ----------- ----------- --------- --------- ------------------\n"
            " 99.99   12.345678     1234567        10           clock_nanosleep\n"
            "  0.01    0.000100           0   1234567    123456 read\n"
            "------ ----------- ----------- --------- --------- ------------------\n"
            "100.00   12.345778          10   1234577    123456 total\n")
    df = strace_summary(text)
    assert list(df["calls"]) == [10, 1234567]
    assert df.attrs["total"]["errors"] == 123456


def test_strace_summary_raises_on_a_broken_row_quoting_it():
    text = "% time     seconds  usecs/call     calls    errors syscall\n 28.74 lots mmap\n"
    with pytest.raises(ParseError, match=r"line 2: .*' 28.74 lots mmap'"):
        strace_summary(text)


def test_strace_summary_of_empty_output_has_the_columns():
    df = strace_summary("")
    assert list(df.columns) == ["syscall", "percent_time", "seconds", "usecs_per_call",
                                "calls", "errors"]
    assert len(df) == 0 and df.attrs["total"] == {}


# --- call lines -----------------------------------------------------------------------------

def test_strace_calls_reads_connect_to_the_service_address_with_einprogress():
    df = parsed(seed("strace-f-tt-curl"))
    assert df.attrs["parser"] == "strace_calls"
    first = df.iloc[0]
    assert first["time"] == "08:19:14.846995"
    assert first["seconds"] == pytest.approx(8 * 3600 + 19 * 60 + 14.846995)
    assert first["syscall"] == "connect"
    assert first["return_value"] == -1
    assert first["errno"] == "EINPROGRESS"
    assert first["errno_text"] == "Operation in progress"
    assert first["arguments"].startswith("5, {sa_family=AF_INET, sin_port=htons(80)")
    assert list(df["syscall"]) == ["connect", "getsockname", "getsockopt", "getsockname"]


def test_socket_calls_puts_the_asked_address_beside_the_real_one():
    sock = socket_calls(parsed(seed("strace-f-tt-curl")))
    asked = sock[sock["syscall"] == "connect"].iloc[0]
    got = sock[sock["syscall"] == "getsockname"].iloc[0]
    assert (asked["ip"], asked["port"], asked["family"]) == ("10.10.124.15", 80, "AF_INET")
    assert (got["ip"], got["port"], got["fd"]) == ("172.16.0.132", 41312, 5)
    assert str(sock["port"].dtype) == "Int64"


def test_strace_calls_reads_T_durations_and_sendto_results():
    df = parsed(local("strace-f-tt-T-curl"))
    connect = df[(df["syscall"] == "connect") & (df["errno"] == "EINPROGRESS")].iloc[0]
    assert connect["duration"] == pytest.approx(0.000477)
    sendto = df[df["syscall"] == "sendto"].iloc[0]
    assert sendto["return_value"] == 78
    assert df.iloc[-1]["kind"] == "exit" and df.iloc[-1]["return_value"] == 0
    sock = socket_calls(df)
    peer = sock[sock["syscall"] == "getpeername"].iloc[0]
    assert (peer["ip"], peer["port"]) == ("192.0.2.2", 8000)
    unix = sock[sock["family"] == "AF_UNIX"].iloc[0]
    assert unix["path"] == "/var/run/nscd/socket" and pd.isna(unix["ip"])


def test_strace_calls_reads_ttt_epoch_times_and_ipv6_addresses():
    df = parsed(local("strace-ttt-curl-v6"))
    assert df.iloc[0]["seconds"] == pytest.approx(1795900198.311344)
    sock = socket_calls(df)
    connect = sock[(sock["syscall"] == "connect") & (sock["family"] == "AF_INET6")].iloc[0]
    assert (connect["ip"], connect["port"]) == ("::1", 8080)
    assert sock[sock["syscall"] == "getsockname"].iloc[0]["port"] == 50144


def test_strace_calls_reads_the_bare_pid_column_of_strace_o():
    df = parsed(local("strace-f-o"))
    assert set(df["pid"].dropna()) == {8646, 8647}
    signal = df[df["kind"] == "signal"].iloc[0]
    assert signal["signal"] == "SIGCHLD" and signal["pid"] == 8646
    assert df[df["syscall"] == "exit_group"].iloc[0]["result"] == "?"
    assert pd.isna(df[df["syscall"] == "exit_group"].iloc[0]["return_value"])


def test_strace_calls_joins_unfinished_and_resumed_parts():
    df = parsed(local("strace-f-tt-unfinished"))
    wait = df[(df["syscall"] == "wait4") & df["split"].fillna(False)].iloc[0]
    assert wait["pid"] == 11359 and wait["time"] == "21:11:54.831939"
    assert wait["arguments"] == "-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL"
    assert wait["return_value"] == 11361
    assert not (df["kind"].isin(["unfinished", "resumed"])).any()
    assert set(df.loc[df["kind"] == "attached", "pid"]) == {11360, 11361}


def test_strace_calls_mends_a_line_cut_by_strace_attached_message():
    df = parsed(local("strace-f-localhost-threads"))
    clone = df[df["syscall"] == "clone"].iloc[0]
    assert clone["arguments"].endswith("SIGCHLD, child_tidptr=0x7f352ad01a10")
    assert clone["return_value"] == 8641
    assert df.iloc[0]["kind"] == "attached" and df.iloc[0]["pid"] == 8641
    sock = socket_calls(df)
    assert ("::1", 50146) in set(zip(sock["ip"], sock["port"], strict=True))


def test_strace_calls_keeps_a_half_call_whose_other_half_was_filtered_out():
    text = ("[pid  8641] 08:19:14.846995 connect(5, {sa_family=AF_INET, sin_port=htons(80), "
            'sin_addr=inet_addr("10.10.124.15")}, 16 <unfinished ...>\n'
            "[pid  8642] 08:19:14.900000 <... read resumed>\"x\", 1) = 1\n")
    df = labkit.parse("strace -f -tt curl -s 10.10.124.15 | grep pid", text)
    assert list(df["kind"]) == ["unfinished", "resumed"]
    assert socket_calls(df).iloc[0]["ip"] == "10.10.124.15"


@pytest.mark.parametrize("name", real_ids("strace-connect"))
def test_strace_calls_reads_every_real_connect_output(name):
    out = real(f"strace-connect/{name}")
    df = parsed(out)
    assert len(df) > 0 and (df["syscall"] == "connect").all()
    sock = socket_calls(df)
    assert sock["port"].notna().all() and sock["ip"].notna().all()


def test_real_keepalived_connects_have_addresses_and_results():
    sock = socket_calls(parsed(real("strace-connect/keepalived-issue1488-t-prefixed.txt")))
    assert list(sock["ip"]) == ["10.2.19.4", "10.9.5.51", "10.10.109.50", "10.1.23.31"]
    assert list(sock["port"]) == [80, 443, 53, 80]
    assert list(sock["return_value"]) == [-1, -1, 0, -1]


def test_strace_calls_reads_hex_and_fd_path_results_and_killed_processes():
    text = ("mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, -1, 0) = 0x7f055560e000\n"
            'openat(AT_FDCWD, "/etc/hosts", O_RDONLY) = 3</etc/hosts>\n'
            "+++ killed by SIGKILL +++\n")
    df = strace_calls(text)
    assert df.iloc[0]["return_value"] == 0x7F055560E000
    assert df.iloc[1]["return_value"] == 3 and df.iloc[1]["result"] == "3</etc/hosts>"
    assert df.iloc[2]["signal"] == "SIGKILL" and df.iloc[2]["kind"] == "exit"


def test_strace_calls_raises_on_a_line_that_is_not_strace_quoting_it():
    text = 'connect(5, {sa_family=AF_INET}, 16) = 0\nHostname: webpod1\n'
    with pytest.raises(ParseError, match=r"line 2: .*'Hostname: webpod1'"):
        strace_calls(text)


def test_strace_calls_of_empty_output_has_the_columns():
    df = strace_calls("")
    assert len(df) == 0
    assert {"time", "pid", "syscall", "arguments", "result", "return_value", "errno",
            "errno_text", "duration", "kind"} <= set(df.columns)
    assert len(socket_calls(df)) == 0


def test_strace_flags_of_the_traced_program_do_not_choose_the_summary():
    out = local("strace-f-localhost-threads")  # `sh -c ...`: -c belongs to sh, not strace
    assert parsed(out).attrs["parser"] == "strace_calls"


def test_every_local_strace_capture_parses():
    for path in sorted(Path(LOCAL).glob("strace-*.txt")):
        df = parsed(load(path))
        assert len(df) > 0, path.name
