"""Tests of `cilium bpf ct list`, `cilium bpf nat list` and `cilium bpf ipmasq list`."""

from __future__ import annotations

import pytest

import labkit
from labkit import ParseError
from labkit.parsers import (
    bpf_ct_list,
    bpf_ct_list_json,
    bpf_ipmasq_list,
    bpf_nat_list,
    bpf_nat_list_json,
)
from tests.outputs import ROOT, load, real, real_ids

# --- cilium bpf ct list ----------------------------------------------------------------


@pytest.mark.parametrize("name", [n for n in real_ids("cilium-bpf-ct-list")
                                  if not n.endswith(".json")])
def test_bpf_ct_list_reads_every_real_text_output(name):
    out = real(f"cilium-bpf-ct-list/{name}")
    df = labkit.parse(out.command, out.text)
    assert len(df) == len([line for line in out.text.splitlines() if line.strip()])
    assert df["src_port"].notna().all() and df["expires"].notna().all()
    assert str(df["expires"].dtype) == "Int64"


def test_bpf_ct_list_117_ipv6_without_brackets_splits_the_port():
    out = real("cilium-bpf-ct-list/v1.17-18-era-issue40820-ipv6-packets-bytes.txt")
    df = labkit.parse(out.command, out.text)
    first = df.iloc[0]
    assert (first["src_ip"], first["src_port"]) == ("2a00:23c8:bcb:5101:cce4:dbf7:957:33a4", 47224)
    assert (first["dst_ip"], first["dst_port"]) == ("fd85:ee78:d8a6:8607::1:fe5", 8000)
    assert df["direction"].tolist() == ["IN", "SVC", "IN", "SVC"]
    svc = df[df["direction"] == "SVC"]
    assert set(svc["backend_id"]) == {98} and set(svc["rev_nat"]) == {218}
    assert first["flags"] == 0x13 and first["flag_names"] == ["RxClosing", "TxClosing",
                                                              "SeenNonSyn"]
    assert first["packets"] == 0 and df["rx_packets"].isna().all()


def test_bpf_ct_list_10_snake_case_fields_and_related_icmp():
    out = real("cilium-bpf-ct-list/v1.0-2018-issue3558-old-snake-case.txt")
    df = labkit.parse(out.command, out.text)
    assert df["rx_packets"].tolist() == [2, 1] and df["tx_bytes"].tolist() == [86, 0]
    assert df["source_security_id"].tolist() == [55058, 55058]
    assert df["related"].tolist() == [False, True]
    assert df["src_ip"].iloc[0] == "f00d::a0f:0:0:4264" and df["dst_port"].iloc[0] == 41471
    assert df["extra"].iloc[0] == {"proxyport": 0}


def test_bpf_ct_list_keeps_unknown_fields_in_extra():
    out = real("cilium-bpf-ct-list/dev-2025-pr43017-dsr-natport.txt")
    df = labkit.parse(out.command, out.text)
    row = df.iloc[0]
    assert row["extra"] == {"NatPort": 30587}
    assert row["backend_id"] == 360309599644942336
    assert "DSRInternal" in row["flag_names"]


def test_bpf_ct_list_json_metadata_quirk_raises_a_clear_error():
    out = real("cilium-bpf-ct-list/v1.0-2018-issue2976-json-quirk.json")
    with pytest.raises(ParseError, match="map metadata"):
        labkit.parse(out.command, out.text)


def test_bpf_ct_list_modern_line_with_rx_tx_counters():
    line = ("TCP OUT 10.0.1.5:43210 -> 10.96.0.10:53 expires=17001 RxPackets=3 RxBytes=300 "
            "RxFlagsSeen=0x1b LastRxReport=16991 TxPackets=4 TxBytes=320 TxFlagsSeen=0x1b "
            "LastTxReport=16991 Flags=0x0013 [ RxClosing TxClosing SeenNonSyn ] RevNAT=7 "
            "SourceSecurityID=2219 IfIndex=0 \n")
    df = labkit.parse("c0 bpf ct list global | grep 10.96.0.10", line)
    row = df.iloc[0]
    assert (row["rx_packets"], row["tx_bytes"], row["rev_nat"]) == (3, 320, 7)
    assert row["rx_flags_seen"] == 0x1B and row["if_index"] == 0


def test_bpf_ct_list_a_line_that_is_not_an_entry_raises():
    text = ("TCP OUT 10.0.1.5:43210 -> 10.96.0.10:53 expires=17001 RevNAT=7\n"
            "Error: unable to open map\n")
    with pytest.raises(ParseError) as err:
        bpf_ct_list(text)
    assert err.value.line_number == 2 and "unable to open map" in str(err.value)
    with pytest.raises(ParseError):
        bpf_ct_list("TCP OUT 10.0.1.5:1 -> 10.0.0.1:2 expires=soon\n")


def test_bpf_ct_list_empty_output_has_the_columns():
    df = bpf_ct_list("")
    assert len(df) == 0 and {"src_ip", "rev_nat", "backend_id", "extra"} <= set(df.columns)
    assert len(bpf_ct_list("No entries found.\n")) == 0


# --- cilium bpf nat list ---------------------------------------------------------------


@pytest.mark.parametrize("name", real_ids("cilium-bpf-nat-list"))
def test_bpf_nat_list_reads_every_real_output(name):
    out = real(f"cilium-bpf-nat-list/{name}")
    df = labkit.parse(out.command, out.text)
    assert len(df) == len([line for line in out.text.splitlines() if line.strip()])
    assert df["xlate_port"].notna().all() and df["created"].notna().all()
    assert set(df["xlate"]) <= {"SRC", "DST"}


def test_bpf_nat_list_old_hostlocal_and_new_needsct_forms():
    old = labkit.parse("cilium bpf nat list",
                       real("cilium-bpf-nat-list/v1.12-era-issue21346-hostlocal-format.txt").text)
    first = old.iloc[0]
    assert (first["src_ip"], first["src_port"]) == ("172.20.13.168", 32774)
    assert (first["xlate_ip"], first["xlate_port"]) == ("10.2.2.1", 32774)
    assert first["created"] == 1397326 and not first["host_local"]
    assert old["needs_ct"].isna().all()
    new = bpf_nat_list(real("cilium-bpf-nat-list/v1.17-dev-issue34089-udp-wireguard.txt").text)
    assert new["needs_ct"].tolist() == [True, True]
    assert new["direction"].tolist() == ["IN", "OUT"] and new["xlate"].tolist() == ["DST", "SRC"]
    assert new["protocol"].tolist() == ["UDP", "UDP"] and new["created"].tolist() == [13606] * 2


def test_bpf_nat_list_ipv6_entry():
    df = bpf_nat_list("TCP OUT [f00d::1]:1234 -> [2001:db8::1]:80 XLATE_SRC [fd00::10]:5678 "
                      "Created=12sec ago NeedsCT=1\n")
    assert df.iloc[0][["src_ip", "dst_ip", "xlate_ip"]].tolist() == ["f00d::1", "2001:db8::1",
                                                                      "fd00::10"]


def test_bpf_nat_list_bad_line_raises_with_number():
    text = ("TCP OUT 10.0.0.1:1234 -> 1.1.1.1:80 XLATE_SRC 192.168.1.1:5678 Created=3sec ago\n"
            "TCP OUT 10.0.0.1:1234 -> 1.1.1.1:80 somewhere\n")
    with pytest.raises(ParseError) as err:
        bpf_nat_list(text)
    assert err.value.line_number == 2 and "somewhere" in str(err.value)


def test_bpf_nat_list_empty_output_has_the_columns():
    df = bpf_nat_list("")
    assert len(df) == 0 and list(df.columns)[:2] == ["protocol", "direction"]


# --- cilium bpf ipmasq list ------------------------------------------------------------


@pytest.mark.parametrize("name", real_ids("cilium-bpf-ipmasq-list"))
def test_bpf_ipmasq_list_reads_every_real_output(name):
    out = real(f"cilium-bpf-ipmasq-list/{name}")
    df = labkit.parse(out.command, out.text)
    assert df["cidr"].tolist() == ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
    assert df["prefix_len"].tolist() == [8, 12, 16]


def test_bpf_ipmasq_list_grep_ipv6_and_bad_line():
    assert bpf_ipmasq_list("fd00::/8\n")["ip"].tolist() == ["fd00::"]
    with pytest.raises(ParseError) as err:
        bpf_ipmasq_list("IP PREFIX/ADDRESS\n10.0.0.0/8\nnot a prefix\n")
    assert err.value.line_number == 3
    assert list(bpf_ipmasq_list("").columns) == ["cidr", "ip", "prefix_len"]


# --- -o json (modern Cilium) -------------------------------------------------------------
# Modern cilium-dbg prints the entries themselves as raw Go structs (CtMapRecord /
# NatMapRecord). No real sample was found: the fixtures are invented from the source
# (bpf_ct_list.go, bpf_nat_list.go, pkg/tuple, pkg/maps/ctmap, pkg/maps/nat); see headers.

CT_JSON = load(ROOT / "tests/fixtures/invented/cilium-bpf-ct-list-global.json")
NAT_JSON = load(ROOT / "tests/fixtures/invented/cilium-bpf-nat-list.json")


def test_bpf_ct_list_json_reads_entries_with_host_order_ports_and_swapped_key():
    df = labkit.parse(CT_JSON.command, CT_JSON.text)
    assert df.attrs["parser"] == "bpf_ct_list_json"
    assert list(df.columns) == list(bpf_ct_list("").columns)
    out = df.iloc[0]
    assert (out["protocol"], out["direction"], out["src_ip"], out["src_port"]) == (
        "TCP", "OUT", "172.19.0.2", 57716)
    assert (out["dst_ip"], out["dst_port"], out["expires"], out["packets"]) == (
        "10.244.1.1", 8080, 319511, 5)
    assert out["flag_names"] == ["RxClosing", "TxClosing", "SeenNonSyn"]
    svc = df.iloc[1]
    assert (svc["direction"], svc["rev_nat"], svc["backend_id"]) == ("SVC", 7, 98)


def test_bpf_ct_list_json_older_rx_tx_counters_and_ipv6():
    row = bpf_ct_list_json(CT_JSON.text).iloc[2]
    assert (row["protocol"], row["direction"], row["src_ip"], row["dst_port"]) == (
        "UDP", "IN", "fd00:10:244::5", 443)
    assert (row["rx_packets"], row["tx_bytes"], row["rev_nat"]) == (1, 2048, 27)
    assert row["source_security_id"] == 6789 and row["extra"] == {}


def test_bpf_ct_list_json_errors_and_empty():
    with pytest.raises(ParseError, match="Key"):
        bpf_ct_list_json('[{"Value": {}}]')
    with pytest.raises(ParseError, match="4 or 16 bytes"):
        bpf_ct_list_json('[{"Key": {"SourceAddr": [1, 2], "DestAddr": [1, 2, 3, 4]}, '
                         '"Value": {}}]')
    assert len(bpf_ct_list_json("[]")) == 0 and len(bpf_ct_list_json("")) == 0


def test_bpf_nat_list_json_reads_translations():
    df = labkit.parse(NAT_JSON.command, NAT_JSON.text)
    assert list(df.columns) == list(bpf_nat_list("").columns)
    out, back, v6 = df.iloc[0], df.iloc[1], df.iloc[2]
    assert (out["direction"], out["src_ip"], out["src_port"], out["dst_port"]) == (
        "OUT", "10.0.1.23", 41234, 443)
    assert (out["xlate"], out["xlate_ip"], out["xlate_port"]) == ("SRC", "192.168.1.11", 41234)
    assert (back["direction"], back["xlate"], back["xlate_ip"]) == ("IN", "DST", "10.0.1.23")
    assert not out["needs_ct"]
    assert v6["host_local"] and v6["xlate_ip"] == "2001:db8::100"
    assert df["created"].isna().all() and out["extra"] == {"Created": 1234567}


def test_bpf_nat_list_json_errors_and_empty():
    with pytest.raises(ParseError, match="NextHeader|number"):
        bpf_nat_list_json('[{"Key": {"NextHeader": "tcp", "SourceAddr": [1, 2, 3, 4], '
                          '"DestAddr": [1, 2, 3, 4]}, "Value": {}}]')
    with pytest.raises(ParseError) as e:
        bpf_nat_list_json('[\n  {"Key": }\n]')
    assert e.value.line_number == 2
    assert len(bpf_nat_list_json("[]")) == 0
