"""cilium monitor: one row per event, continuation lines attached, banner passed over."""

from __future__ import annotations

import re

import pandas as pd
import pytest

import labkit
from labkit import ParseError
from labkit.parsers import cilium_monitor, cilium_monitor_json
from tests.outputs import ROOT, load, real, real_ids

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


# --- cilium monitor -j ------------------------------------------------------------------------
# No real `cilium monitor -j` output was found (issues/pages/code corpora searched for
# `"type":"trace"`-style lines); tests/fixtures/invented/cilium-monitor-json.jsonl is invented
# from cilium/cilium's Go source (commits in its header). Where each column comes from:
#   trace  (datapath_trace.go TraceNotifyVerbose): cpu <- "cpu" ("CPU 01:"), flow <- "mark",
#          observation_point <- "observationPoint", state <- "state", summary <- "traceSummary",
#          src_endpoint <- "source", dst_endpoint <- "dstID" (not for to-proxy: a proxy port),
#          src/dst_identity <- "srcLabel"/"dstLabel", interface|ifindex <- "ifindex" (the link
#          cache's name, or the number as text when it has none); "bytes", "IpTraceID" unused.
#   drop   (datapath_drop.go DropNotifyVerbose): reason <- "reason", ifindex <- "Ifindex" (a
#          number), dst_endpoint <- "dstID", rest as trace; "Line", "File", "ExtError" unused.
#   both:  "summary" (dissect.go DissectSummary): src/dst_mac <- l2, src/dst_ip <- l3,
#          src/dst_port <- l4 (gopacket prints `80(http)`), protocol <- which layer key is
#          present, tcp_flags <- SYN/ACK/RST/FIN=true in the "tcp" layer string (the text
#          form's order), detail <- the layer strings.
#   debug  (datapath_debug.go DebugMsg.getJSON): cpu, summary <- "message" (no mark, no source).
#   capture (DebugCaptureVerbose): flow <- "mark", src_endpoint <- "source", summary <-
#          "summary" (a connection summary, read like the text's), detail <- "message",
#          interface <- "prefix" `-> <name>`.
#   logRecord (logrecord.go LogRecordNotifyVerbose) -> event_type l7: observation_point <-
#          "flowType" lowered, traffic_direction <- "observationPoint" lowered, protocol <-
#          "l7Proto", src/dst_endpoint <- "srcEpID"/"dstEpID", labels <- "srcEpLabels"/
#          "dstEpLabels", identities <- "srcIdentity"/"dstIdentity" (old: "DstIdentity"),
#          verdict <- "verdict", summary <- "http" as `METHOD url => code`, detail <- the record.
#   agent  (api/types.go AgentNotify.getJSON): summary <- "subtype", detail <- "message".
#   Unknown "type": a row with event_type as given and the object in detail (Cilium adds
#   types; DebugCapture's own error object is `debug_capture_error`). Policy verdicts have no
#   JSON form (datapath_policy.go: DumpInfo only) and print as text even with -j; socket
#   traces print only with -v (format.go); the banner goes to stderr (cilium-dbg monitor.go).

MONITOR_JSON = load(ROOT / "tests/fixtures/invented/cilium-monitor-json.jsonl")


def monitor_json():
    return labkit.parse(MONITOR_JSON.command, MONITOR_JSON.text)


def test_monitor_json_fixture_is_marked_invented():
    assert MONITOR_JSON.kind.startswith("invented")
    assert MONITOR_JSON.command == "cilium-dbg monitor -j"


def test_monitor_json_gives_one_row_per_event_in_the_text_parsers_columns():
    df = monitor_json()
    assert df.attrs["parser"] == "cilium_monitor_json"
    assert list(df.columns) == list(cilium_monitor("").columns)
    assert list(df["event_type"]) == [
        "trace", "trace", "trace", "trace", "drop", "policy-verdict", "debug", "capture",
        "l7", "l7", "agent", "lost", "debug_capture_error"]
    assert str(df["src_port"].dtype) == "Int64"


def test_monitor_json_trace_splits_the_dissected_packet():
    first = monitor_json().iloc[0]
    assert (first["cpu"], first["flow"], first["state"]) == (1, "0x3f2a9c71", "new")
    assert first["observation_point"] == "to-endpoint"
    assert (first["src_endpoint"], first["dst_endpoint"]) == (1123, 1123)
    assert (first["src_identity"], first["dst_identity"]) == (28411, 21807)
    assert (first["src_ip"], first["src_port"]) == ("172.16.0.38", 52314)
    assert (first["dst_ip"], first["dst_port"]) == ("172.16.1.234", 80)  # `80(http)`
    assert (first["protocol"], first["tcp_flags"]) == ("TCP", "SYN")
    assert first["interface"] == "lxc8b2f9a1c4d3e"
    assert first["src_mac"] == "5e:31:c0:8a:12:f4"
    assert first["summary"] == "-> endpoint 1123"
    assert first["detail"].startswith("Ethernet\t{")


def test_monitor_json_reply_ipv6_and_proxy_traces():
    df = monitor_json()
    assert df.iloc[1]["tcp_flags"] == "SYN, ACK"
    assert pd.isna(df.iloc[1]["dst_endpoint"])
    v6 = df.iloc[2]
    assert (v6["src_ip"], v6["dst_port"], v6["protocol"]) == ("fd00:10:1::2a", 53, "UDP")
    assert v6["ifindex"] == 0 and v6["interface"] is None
    proxy = df.iloc[3]
    assert proxy["observation_point"] == "to-proxy"
    assert pd.isna(proxy["dst_endpoint"])  # dstID 15001 is the proxy port
    assert proxy["summary"] == "-> proxy port 15001"


def test_monitor_json_drop_and_its_text_policy_verdict():
    df = monitor_json()
    drop = df.iloc[4]
    assert (drop["verdict"], drop["reason"], drop["ifindex"]) == ("dropped", "Policy denied", 14)
    assert (drop["dst_ip"], drop["dst_port"]) == ("172.16.1.234", 8080)
    verdict = df.iloc[5]
    assert (verdict["verdict"], verdict["traffic_direction"]) == ("deny", "ingress")
    assert verdict["dst_endpoint"] == 1123


def test_monitor_json_debug_capture_l7_agent_lost_rows():
    df = monitor_json()
    assert df.iloc[6]["summary"] == "CT verdict: New, revnat=0"
    capture = df.iloc[7]
    assert (capture["interface"], capture["protocol"]) == ("lxc_health", "ICMP")
    assert capture["detail"] == "Delivery to ifindex 6"
    denied = df.iloc[8]
    assert (denied["observation_point"], denied["traffic_direction"]) == ("request", "ingress")
    assert (denied["verdict"], denied["protocol"]) == ("Denied", "HTTP")
    assert denied["summary"] == "POST http://webpod.default.svc.cluster.local/admin => 403"
    assert "k8s:app=netpod" in denied["src_labels"]
    assert (denied["src_identity"], denied["dst_endpoint"]) == (28411, 1123)
    assert '"X-Request-Id"' in denied["detail"]
    assert df.iloc[10]["summary"] == "Policy updated"
    assert '"rule_count": 1' in df.iloc[10]["detail"]
    assert (df.iloc[11]["cpu"], df.iloc[11]["summary"]) == (3, "CPU 03: Lost 2 events")


def test_monitor_json_unknown_type_is_kept_as_a_row():
    df = cilium_monitor_json('{"type":"recorder","message":"something new","x":1}\n')
    assert (df.iloc[0]["event_type"], df.iloc[0]["summary"]) == ("recorder", "something new")
    assert '"x": 1' in df.iloc[0]["detail"]


def test_monitor_json_older_shape_drop_ifindex_name_and_capitalised_identity():
    # The shape of the early `-j` (cilium/microscope's monitor parser test): `ifindex` as a
    # name in drops, `DstIdentity`, `CPU 01` without a colon.
    text = ('{"cpu":"CPU 00:","type":"drop","mark":"0xa9263786","ifindex":"lxc05f8b",'
            '"reason":"Policy denied (L3)","source":5766,"bytes":66,"srcLabel":49055,'
            '"dstLabel":20496,"dstID":5766,"summary":{"l3":{"src":"10.0.0.1","dst":"10.0.0.2"},'
            '"l4":{"src":"80","dst":"37934"}}}\n'
            '{"type":"debug","message":"debug message","cpu":"CPU 01"}\n'
            '{"type":"logRecord","observationPoint":"Ingress","flowType":"Request",'
            '"l7Proto":"kafka","srcEpID":0,"srcIdentity":8370,"dstEpID":29381,'
            '"DstIdentity":12427,"verdict":"Forwarded","kafka":{"APIKey":"fetch"}}\n')
    df = labkit.parse("cilium monitor --json", text)
    assert (df.iloc[0]["interface"], df.iloc[0]["dst_port"]) == ("lxc05f8b", 37934)
    assert df.iloc[1]["cpu"] == 1
    assert (df.iloc[2]["dst_identity"], df.iloc[2]["protocol"]) == (12427, "KAFKA")
    assert df.iloc[2]["detail"] == '{"APIKey": "fetch"}'


def test_monitor_json_pretty_printed_by_jq_reads_whole_objects():
    text = '{\n  "cpu": "CPU 02:",\n  "type": "debug",\n  "message": "CT lookup"\n}\n'
    df = labkit.parse("cilium monitor -j | jq .", text * 2)
    assert list(df["summary"]) == ["CT lookup", "CT lookup"]


def test_monitor_json_grep_filtered_lines_parse_alone():
    line = MONITOR_JSON.text.splitlines()[7]
    df = labkit.parse("c0 monitor -j | grep '\"type\":\"drop\"'", line + "\n")
    assert df.iloc[0]["reason"] == "Policy denied"


def test_monitor_json_broken_line_raises_quoting_it():
    with pytest.raises(ParseError) as e:
        cilium_monitor_json('{"type":"debug","message":"a"}\n{"type":"trace","mark":\n')
    assert e.value.line_number == 2


def test_monitor_json_wrong_field_type_or_no_type_raises():
    with pytest.raises(ParseError, match="source"):
        cilium_monitor_json('{"type":"trace","source":"x"}\n')
    with pytest.raises(ParseError, match="type"):
        cilium_monitor_json('{"message":"no type"}\n')
    with pytest.raises(ParseError, match="object"):
        cilium_monitor_json("[1, 2]\n")


def test_monitor_json_unknown_text_line_raises():
    with pytest.raises(ParseError) as e:
        cilium_monitor_json('Press Ctrl-C to quit\nsomething else entirely\n')
    assert e.value.line_number == 2


def test_monitor_json_empty_output_has_columns_and_no_rows():
    df = cilium_monitor_json("")
    assert len(df) == 0
    assert list(df.columns) == list(cilium_monitor("").columns)
