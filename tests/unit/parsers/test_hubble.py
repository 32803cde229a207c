"""hubble observe parsers: JSON (envelope, exporter file, pre-v0.11 bare Flow) and text
(compact with and without identities, socket-LB `<>` lines, L7, the 2020 table form).

Besides the real doc examples, three fixtures are invented from ../shared/FORMATS.md
section 6 (no complete real `hubble observe -o json` was found): tests/fixtures/invented/
hubble-observe-jsonpb-mixed.json, hubble-observe-legacy-json-bare-flow.json, and
hubble-observe-compact-mixed.txt (the same flows as the jsonpb file, in compact text).
"""

from __future__ import annotations

import pandas as pd
import pytest

import labkit
from labkit import ParseError
from labkit.parsers import hubble
from tests.outputs import ROOT, load, real, real_ids
from tests.unit.parsers.helpers import parsed

INVENTED = ROOT / "tests" / "fixtures" / "invented"


def invented(name: str):
    return load(INVENTED / name)


# --- JSON --------------------------------------------------------------------------------------


def test_exporter_file_reads_fieldmasked_flows_in_the_envelope():
    df = parsed(real("hubble-observe-json/export-doc-fieldmask-2flows.jsonl"))
    assert df.attrs["parser"] == "hubble_observe_json"
    assert len(df) == 2
    drop = df.iloc[1]
    assert (drop["source_namespace"], drop["source_pod"]) == ("default", "xwing")
    assert drop["destination_pod"] == "deathstar-7848d6c4d5-th9v2"
    assert (drop["source_ip"], drop["source_port"]) == ("10.244.1.60", 44916)
    assert (drop["destination_ip"], drop["destination_port"]) == ("10.244.1.5", 80)
    assert (drop["protocol"], drop["tcp_flags"]) == ("TCP", "SYN")
    assert (drop["verdict"], drop["drop_reason"]) == ("DROPPED", "POLICY_DENIED")
    assert drop["node"] == "kind-kind/kind-worker"
    assert drop["time"] == pd.Timestamp("2023-08-21T12:12:18.510175415Z")
    assert pd.isna(drop["is_reply"])  # omitted in the fieldmasked export: unknown
    assert df.iloc[0]["protocol"] == "ICMPv6"
    assert df.iloc[0]["drop_reason"] == "INVALID_SOURCE_IP"


def test_jsonpb_reads_identities_labels_http_and_reply_flags():
    df = parsed(invented("hubble-observe-jsonpb-mixed.json"))
    assert len(df) == 9
    syn, synack, request, response = (df.iloc[i] for i in range(4))
    assert syn["source_identity"] == 37192
    assert syn["destination_labels"][0] == "k8s:app=webpod"
    assert (syn["trace_observation_point"], syn["event"]) == ("TO_ENDPOINT", "to-endpoint")
    assert syn["is_reply"] is False or not syn["is_reply"]
    assert bool(synack["is_reply"])
    assert synack["tcp_flags"] == "SYN,ACK"
    assert (request["type"], request["l7_type"], request["http_method"]) == ("L7", "REQUEST",
                                                                               "GET")
    assert response["http_code"] == 200
    assert response["http_url"] == "http://webpod/"


def test_jsonpb_keeps_lost_events_and_node_status_as_typed_rows():
    df = parsed(invented("hubble-observe-jsonpb-mixed.json"))
    lost = df[df["type"] == "LOST_EVENTS"].iloc[0]
    assert lost["summary"] == "CPU(1) 12"
    assert lost["event"] == "PERF_EVENT_RING_BUFFER"
    status = df[df["type"] == "NODE_STATUS"].iloc[0]
    assert status["event"] == "NODE_CONNECTED"
    assert status["summary"] == "Receiving flows from 3 nodes: k8s-s, k8s-w1, k8s-w2"


def test_legacy_bare_flow_per_line_is_read_like_the_envelope():
    df = parsed(invented("hubble-observe-legacy-json-bare-flow.json"))
    assert df["source_pod"].tolist() == ["tiefighter", "coredns-66bff467f8-ktk8c"]
    assert df["protocol"].tolist() == ["UDP", "UDP"]
    assert df["destination_port"].tolist() == [53, 53000]
    assert df["is_reply"].tolist() == [False, True]


def test_json_rejects_objects_that_are_not_hubble_events():
    with pytest.raises(ParseError, match="not a hubble flow"):
        labkit.parse("hubble observe -o json", '{"hello": 1}')


def test_json_rejects_broken_json_with_line_number():
    with pytest.raises(ParseError) as e:
        labkit.parse("hubble observe -o jsonpb", '{"flow": {}}\n{"flow": x}\n')
    assert e.value.line_number == 2


def test_empty_json_output_gives_the_columns():
    df = labkit.parse("hubble observe -o json", "")
    assert len(df) == 0
    assert list(df.columns) == list(hubble.hubble_observe("").columns)


@pytest.mark.parametrize("name", real_ids("hubble-observe-json"))
def test_every_real_hubble_json_output_parses(name):
    df = parsed(real(f"hubble-observe-json/{name}"))
    assert len(df) >= 1
    assert df["time"].notna().all()
    assert df["verdict"].notna().all()


# --- text --------------------------------------------------------------------------------------


def test_compact_reply_rows_swap_source_and_destination_back():
    df = parsed(real("hubble-observe/svcmesh-doc-identity8-l34.txt"))
    reply = df.iloc[1]
    assert bool(reply["is_reply"])
    assert (reply["source_pod"], reply["source_port"]) == ("details-v1-5498c86cf5-cnt9q", 9080)
    assert (reply["destination_ip"], reply["destination_port"]) == ("10.0.0.95", 42509)
    assert reply["tcp_flags"] == "SYN,ACK"
    assert reply["trace_observation_point"] == "TO_STACK"
    assert not df.iloc[0]["is_reply"]
    assert df.iloc[0]["source_ip"] == "10.0.0.95"


def test_compact_l7_summary_with_nested_parentheses_gives_http_facts():
    df = parsed(real("hubble-observe/svcmesh-doc-identity48847-mixed-l7.txt"))
    request = df[df["event"] == "http-request"].iloc[0]
    response = df[df["event"] == "http-response"].iloc[0]
    assert (request["http_method"], request["http_url"]) == ("GET",
                                                             "http://10.97.60.117/details/1")
    assert response["http_code"] == 200
    assert response["summary"] == "HTTP/1.1 200 1ms (GET http://10.97.60.117/details/1)"
    assert (response["type"], response["l7_type"]) == ("L7", "RESPONSE")
    assert response["destination_ip"] == "192.168.49.1"


def test_compact_socket_lb_lines_read_identities_and_unknown_direction():
    df = parsed(real("hubble-observe/kpr-doc-socklb-trace.txt"))
    assert len(df) == 5
    first = df.iloc[0]
    assert (first["source_pod"], first["source_identity"]) == ("mediabot", 5618)
    assert (first["destination_pod"], first["destination_port"]) == ("nginx-service", 80)
    assert first["destination_identity"] == 2  # (world)
    assert df["is_reply"].isna().all()
    assert (df["type"] == "SOCK").all()
    assert df["verdict"].tolist() == ["TRACED", "TRANSLATED", "TRACED", "TRANSLATED", "TRACED"]
    assert df.iloc[1]["destination_identity"] == 35772


def test_2021_compact_form_without_identities():
    df = parsed(real("hubble-observe/troubleshooting-doc-2021-compact-no-ids.txt"))
    assert len(df) == 12
    assert df["source_identity"].isna().all()
    overlay = df.iloc[4]
    assert overlay["trace_observation_point"] == "TO_OVERLAY"
    assert pd.isna(overlay["is_reply"])
    assert df.iloc[2]["source_pod"] == "coredns-74ff55c5b-66f4n"  # `<-` swapped back


def test_2020_table_form_reads_columns_apart_by_spaces():
    df = parsed(real("hubble-observe/troubleshooting-doc-2020-old-table-format.txt"))
    assert len(df) == 13
    first = df.iloc[0]
    assert (first["source_namespace"], first["source_pod"], first["source_port"]) == (
        "default", "tiefighter", 38314)
    assert first["destination_pod"] == "coredns-66bff467f8-ktk8c"
    assert (first["protocol"], first["verdict"]) == ("UDP", "FORWARDED")
    assert df.iloc[4]["event"] == "L3-L4"
    assert df.iloc[6]["tcp_flags"] == "SYN,ACK"
    assert df["is_reply"].isna().all()  # no arrows in the table form
    assert (df["time"].dt.month == 6).all()
    assert df.iloc[0]["time"].strftime("%d %H:%M:%S.%f") == "02 11:14:46.041000"


def test_table_form_with_header_and_node_column():
    text = ("TIMESTAMP             NODE     SOURCE          DESTINATION     TYPE          "
            "VERDICT     SUMMARY\n"
            "Jun  2 11:14:46.041   k8s-w1   10.0.0.1:5000   10.0.0.2:80     to-endpoint   "
            "FORWARDED   TCP Flags: SYN\n")
    row = hubble.hubble_observe(text).iloc[0]
    assert row["node"] == "k8s-w1"
    assert (row["source_ip"], row["destination_port"], row["tcp_flags"]) == ("10.0.0.1", 80,
                                                                             "SYN")


def test_compact_and_jsonpb_agree_where_the_text_has_the_facts():
    text = parsed(invented("hubble-observe-compact-mixed.txt"))
    js = parsed(invented("hubble-observe-jsonpb-mixed.json"))
    text = text[text["type"].isin(["L3_L4", "L7", "SOCK"])].head(7).reset_index(drop=True)
    js = js[js["type"].isin(["L3_L4", "L7", "SOCK"])].reset_index(drop=True)
    for column in ["node", "source_namespace", "source_pod", "source_port", "source_identity",
                   "destination_pod", "destination_port", "destination_identity", "verdict",
                   "is_reply", "type", "event", "l7_type", "http_method", "http_url",
                   "http_code", "summary", "tcp_flags", "traffic_direction"]:
        expected = js[column].where(text[column].notna())  # the text leaves some facts out
        assert text[column].dropna().tolist() == expected.dropna().tolist(), column
    assert (text["time"].dt.strftime("%m-%d %H:%M:%S.%f").str[:-3]
            == js["time"].dt.strftime("%m-%d %H:%M:%S.%f").str[:-3]).all()


def test_compact_reads_policy_verdict_drop_reason_and_non_flow_lines():
    df = parsed(invented("hubble-observe-compact-mixed.txt"))
    verdict = df[df["event"].str.startswith("policy-verdict", na=False)].iloc[0]
    assert (verdict["verdict"], verdict["traffic_direction"]) == ("DROPPED", "INGRESS")
    drop = df.iloc[-1]
    assert (drop["event"], drop["drop_reason"], drop["verdict"]) == ("Policy denied",
                                                                    "POLICY_DENIED", "DROPPED")
    assert df.iloc[0][["type", "event", "node"]].tolist() == ["NODE_STATUS", "NODE_CONNECTED",
                                                              "hubble-relay"]
    lost = df[df["type"] == "LOST_EVENTS"].iloc[0]
    assert lost["summary"] == "CPU(1) 12"
    world = df[df["source_ip"] == "192.168.10.200"].iloc[0]
    assert (world["source_identity"], world["protocol"]) == (2, "ICMPv4")


def test_compact_with_rfc3339_time_format_and_ipv6_hosts():
    line = ("2024-10-20T08:01:02.123Z: [fd00::1]:5353 (ID:9) -> ff02::fb (world) to-stack "
            "FORWARDED (UDP)")
    row = hubble.hubble_observe(line).iloc[0]
    assert row["time"] == pd.Timestamp("2024-10-20T08:01:02.123Z")
    assert (row["source_ip"], row["source_port"], row["destination_ip"]) == ("fd00::1", 5353,
                                                                            "ff02::fb")


def test_grep_filtered_compact_output_parses():
    out = real("hubble-observe/kpr-doc-socklb-trace.txt")
    assert "grep" in out.command
    assert parsed(out)["source_namespace"].eq("default").all()


def test_text_error_quotes_the_line_and_its_number():
    text = ("Jan 13 13:47:20.932: default/a (ID:1) -> default/b (ID:2) to-stack FORWARDED (TCP)\n"
            "Defaulted container \"cilium-agent\" out of: cilium-agent\n")
    with pytest.raises(ParseError) as e:
        hubble.hubble_observe(text)
    assert e.value.line_number == 2
    assert e.value.line.startswith("Defaulted container")


def test_empty_text_output_gives_the_columns():
    df = labkit.parse("hubble observe --pod netpod", "")
    assert len(df) == 0
    assert "source_pod" in df.columns and "http_code" in df.columns


@pytest.mark.parametrize("name", real_ids("hubble-observe"))
def test_every_real_hubble_text_output_parses(name):
    df = parsed(real(f"hubble-observe/{name}"))
    assert len(df) >= 5
    assert df["verdict"].notna().all()
    assert df["time"].notna().all()
    assert df["source_port"].dtype == "Int64"
