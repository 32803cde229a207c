"""cilium monitor: one row per event, continuation lines attached, banner passed over."""

from __future__ import annotations

import re

import pytest

import labkit
from labkit import ParseError
from labkit.parsers import cilium_monitor
from tests.outputs import real, real_ids

# Each real file, the events it holds, and a fact of one of them.
EXPECTED_ROWS = {
    "dbgdoc-related-to-dns-fqdn.txt": 18,
    "dev-2025-pr42110-Dv-debug-slog.txt": 8,
    "devsetup-v-debug.txt": 11,
    "devsetup-vv-hex.txt": 6,
    "hostfw-doc-policy-verdict.txt": 3,
    "kpr-doc-trace-sock.txt": 4,
    "svcmesh-doc-default.txt": 7,
    "swdemo-v-type-l7.txt": 2,
    "troubleshooting-doc-type-drop.txt": 5,
    "v1.14-15-era-issue33074-drop-line.txt": 1,
}


def _command(out) -> str:
    """The header's command without the note in parentheses some captures carry."""
    return re.sub(r"\s+\(.*\)\s*$", "", out.command)


def monitor(name: str):
    out = real(f"cilium-monitor/{name}")
    return labkit.parse(_command(out), out.text)


@pytest.mark.parametrize("name", real_ids("cilium-monitor"))
def test_every_real_monitor_output_parses_to_one_row_per_event(name):
    df = monitor(name)
    assert len(df) == EXPECTED_ROWS[name]
    assert str(df["cpu"].dtype) == "Int64"
    assert str(df["src_port"].dtype) == "Int64"
    assert df["event_type"].notna().all()


def test_trace_line_splits_addresses_ports_and_reserved_identity():
    df = monitor("svcmesh-doc-default.txt")
    first = df.iloc[0]
    assert first["event_type"] == "trace"
    assert first["observation_point"] == "to-endpoint"
    assert first["dst_endpoint"] == 212
    assert first["src_identity"] == 8  # `ingress`, a reserved identity
    assert first["dst_identity"] == 61131
    assert (first["src_ip"], first["src_port"]) == ("10.0.0.192", 34219)
    assert (first["dst_ip"], first["dst_port"]) == ("10.0.0.164", 9080)
    assert (first["protocol"], first["tcp_flags"]) == ("TCP", "SYN")
    assert first["interface"] == "lxcfc90a8580fd6"
    assert df.iloc[1]["tcp_flags"] == "SYN, ACK"
    assert df.iloc[1]["ifindex"] == 0


def test_l7_lines_give_endpoints_labels_verdict_and_request():
    df = monitor("swdemo-v-type-l7.txt")
    denied = df.iloc[1]
    assert (denied["event_type"], denied["observation_point"]) == ("l7", "request")
    assert (denied["src_endpoint"], denied["dst_endpoint"]) == (0, 2756)
    assert (denied["src_identity"], denied["dst_identity"]) == (8876, 43854)
    assert denied["verdict"] == "Denied"
    assert denied["protocol"] == "HTTP"
    assert denied["summary"].endswith("=> 403")
    assert "k8s:class=tiefighter" in denied["src_labels"]
    response = df.iloc[0]
    assert (response["src_endpoint"], response["dst_endpoint"]) == (2756, 0)


def test_drop_lines_old_and_new_formats():
    old = monitor("troubleshooting-doc-type-drop.txt")
    assert set(old["reason"]) == {"Policy denied", "Invalid destination mac"}
    assert old.iloc[0]["protocol"] == "ICMPv6"
    assert old.iloc[2]["protocol"] == "ICMP"
    assert old.iloc[2]["dst_endpoint"] == 25729
    new = monitor("v1.14-15-era-issue33074-drop-line.txt").iloc[0]
    assert new["time"] == "Jun 13 14:10:54"
    assert new["reason"] == "No mapping for NAT masquerade"
    assert new["ifindex"] == 4
    assert (new["src_identity"], new["dst_identity"]) == (0, 0)  # `unknown`
    assert (new["dst_ip"], new["dst_port"]) == ("10.178.16.166", 443)


def test_policy_verdicts_give_direction_action_and_match():
    df = monitor("hostfw-doc-policy-verdict.txt")
    assert list(df["verdict"]) == ["allow", "allow", "audit"]
    assert list(df["reason"]) == ["L3-Only", "L3-Only", "none"]
    assert set(df["traffic_direction"]) == {"ingress"}
    assert list(df["src_identity"]) == [6, 6, 2]
    assert df.iloc[0]["protocol"] == "ICMP"
    assert df.iloc[1]["dst_port"] == 2379


def test_debug_lines_and_slog_line_in_dv_output():
    df = monitor("dev-2025-pr42110-Dv-debug-slog.txt")
    assert (df["event_type"] == "debug").sum() == 7
    assert df.iloc[0]["cpu"] == 16
    assert df.iloc[0]["src_endpoint"] == 1447
    assert df.iloc[0]["flow"] == "0xdf31e3c3"
    assert df.iloc[3]["summary"] == "CT verdict: New, revnat=0"


def test_hex_dump_lines_attach_to_their_event():
    df = monitor("devsetup-vv-hex.txt")
    assert list(df["event_type"]) == ["debug", "debug", "drop", "debug", "debug", "debug"]
    assert df.iloc[0]["detail"].count("\n") == 4
    assert df.iloc[2]["reason"] == "Invalid destination mac"
    assert (df.iloc[2]["src_identity"], df.iloc[2]["dst_identity"]) == (284, 0)
    assert df.iloc[1]["detail"] is None


def test_arp_trace_gives_macs_and_old_interface_form():
    df = monitor("devsetup-v-debug.txt")
    assert df.iloc[0]["src_mac"] == "8e:3c:a3:67:cc:1e"
    assert df.iloc[0]["protocol"] == "ARP"
    assert df.iloc[0]["src_endpoint"] == 745
    assert df.iloc[1]["interface"] == "lxc_health"
    assert df.iloc[1]["observation_point"] == "to-interface"


def test_trace_sock_lines():
    df = monitor("kpr-doc-trace-sock.txt")
    assert list(df["observation_point"]) == ["pre-xlate-fwd", "post-xlate-fwd",
                                             "pre-xlate-rev", "post-xlate-rev"]
    assert df.iloc[1]["dst_ip"] == "10.244.1.246"
    assert df.iloc[1]["dst_port"] == 80


def test_banner_and_log_lines_only_give_no_rows():
    text = ("Listening for events on 2 CPUs with 64x4096 of shared memory\n"
            "Press Ctrl-C to quit\n"
            'level=info msg="Initializing dissection cache..." subsys=monitor\n')
    df = cilium_monitor(text)
    assert len(df) == 0
    assert "event_type" in df.columns


def test_empty_output_has_columns_and_no_rows():
    df = cilium_monitor("")
    assert len(df) == 0
    assert list(df.columns)[:3] == ["time", "cpu", "event_type"]


def test_orphaned_hex_dump_raises():
    with pytest.raises(ParseError) as e:
        cilium_monitor("Press Ctrl-C to quit\n00000000  33 33 00 00  |33..|\n")
    assert e.value.line_number == 2


def test_unknown_line_raises_parse_error_quoting_it():
    with pytest.raises(ParseError) as e:
        cilium_monitor("-> endpoint 1 flow 0x1 identity 1->2 state new ifindex 0 orig-ip 0: x\n"
                       "something else entirely\n")
    assert e.value.line_number == 2
    assert "something else entirely" in str(e.value)


def test_unknown_identity_name_raises():
    with pytest.raises(ParseError):
        cilium_monitor("xx drop (Policy denied) to endpoint 1, identity martian->2: a -> b x\n")


def test_grep_filtered_monitor_lines_parse_alone():
    df = labkit.parse("c0 monitor -v | grep drop",
                      "xx drop (Policy denied) to endpoint 25729, identity 261->264: "
                      "10.11.13.37 -> 10.11.101.61 EchoRequest\n")
    assert df.iloc[0]["src_ip"] == "10.11.13.37"
