"""tcpdump and ngrep packet lines (chapter 07)."""

from __future__ import annotations

import pandas as pd
import pytest

import labkit
from labkit import ParseError
from labkit.parsers import ngrep, tcpdump
from tests.outputs import seed
from tests.unit.parsers import helpers
from tests.unit.parsers.helpers import parsed


def local(name: str):
    """An output captured on the labkit dev machine (tests/fixtures/local)."""
    return helpers.local(f"{name}.txt")


# --- tcpdump --------------------------------------------------------------------------------

def test_tcpdump_seed_shows_the_backend_address_with_interface_and_mac():
    df = parsed(seed("tcpdump-enni-any-q"))
    assert df.attrs["parser"] == "tcpdump"
    assert len(df) == 3
    first = df.iloc[0]
    assert (first["time"], first["interface"], first["direction"], first["ifindex"]) == (
        "08:54:55.454271", "eth0", "Out", 14)
    assert first["src_mac"] == "92:1a:b9:94:94:37"
    assert (first["src_ip"], first["src_port"]) == ("172.16.0.162", 44718)
    assert (first["dst_ip"], first["dst_port"]) == ("172.16.1.234", 80)
    assert (first["protocol"], first["length"]) == ("tcp", 0)
    assert df.iloc[1]["direction"] == "In" and df.iloc[2]["length"] == 77
    assert "10.108.12.195" not in set(df["dst_ip"])  # the service address never shows


def test_tcpdump_columns_are_typed():
    df = parsed(seed("tcpdump-enni-any-q"))
    for column in ("ifindex", "src_port", "dst_port", "length"):
        assert str(df[column].dtype) == "Int64"


def test_tcpdump_any_e_q_reads_arp_icmp_udp_and_ipv6():
    df = parsed(local("tcpdump-enni-any-q"))
    assert len(df) == 47  # "47 packets captured"
    arp = df[df["protocol"] == "arp"]
    assert list(arp["src_ip"]) == ["192.0.2.1", "192.0.2.2"]
    assert arp.iloc[0]["dst_ip"] == "192.0.2.2" and pd.isna(arp.iloc[1]["dst_ip"])
    echo = df[df["info"].str.startswith("ICMP echo request", na=False)].iloc[0]
    assert (echo["protocol"], echo["length"], echo["ethertype"]) == ("icmp", 64, "IPv4")
    udp = df[df["protocol"] == "udp"].iloc[0]
    assert (udp["dst_port"], udp["length"]) == (5353, 9)
    v6 = df[(df["src_ip"] == "::1") & (df["protocol"] == "tcp")].iloc[0]
    assert (v6["src_port"], v6["dst_port"], v6["ethertype"]) == (50158, 8080, "IPv6")
    assert set(df["direction"]) == {"In", "Out", "M"}


def test_tcpdump_without_q_reads_tcp_flags_and_payload_length():
    df = parsed(local("tcpdump-nni-any"))
    syn = df.iloc[4]
    assert (syn["tcp_flags"], syn["length"], syn["protocol"]) == ("S", 0, "tcp")
    http = df[df["info"].str.contains("HTTP: GET", na=False)].iloc[0]
    assert (http["length"], http["tcp_flags"]) == (74, "P.")
    assert df["src_mac"].isna().all() and df["ifindex"].isna().all()


def test_tcpdump_single_interface_with_e_reads_both_macs_and_ethertype():
    df = parsed(local("tcpdump-enni-veth"))
    arp = df.iloc[0]
    assert (arp["src_mac"], arp["dst_mac"], arp["ethertype"]) == (
        "c2:63:60:fa:dc:8e", "ff:ff:ff:ff:ff:ff", "ARP")
    assert df["interface"].isna().all()
    assert df.iloc[2]["ethertype"] == "IPv4"


def test_tcpdump_single_interface_q_reads_plain_lines():
    df = parsed(local("tcpdump-nni-veth-q"))
    assert len(df) == 32
    assert df.iloc[4]["info"] == "tcp 0" and df.iloc[4]["src_port"] == 59002


def test_tcpdump_reads_grep_filtered_lines():
    lines = "\t08:54:55.454798 eth0  In  ifindex 14 8a:0c:cc:a9:21:1a 172.16.1.234.80 > " \
            "172.16.0.162.44718: tcp 0\n"
    df = labkit.parse("kubectl exec netpod -- tcpdump -enni any -q | grep In", lines)
    assert df.iloc[0]["src_ip"] == "172.16.1.234" and df.iloc[0]["src_mac"] == "8a:0c:cc:a9:21:1a"


def test_tcpdump_raises_on_a_line_that_is_not_a_packet_quoting_it():
    text = "listening on any, link-type LINUX_SLL2\nHostname: webpod1\n"
    with pytest.raises(ParseError, match=r"line 2: .*'Hostname: webpod1'"):
        tcpdump(text)


def test_tcpdump_of_empty_output_has_the_columns():
    df = tcpdump("")
    assert len(df) == 0 and "dst_port" in df.columns and "tcp_flags" in df.columns


# --- ngrep ----------------------------------------------------------------------------------

def test_ngrep_seed_keeps_the_service_address_in_the_host_header():
    df = parsed(seed("ngrep-byline"))
    assert df.attrs["parser"] == "ngrep"
    row = df.iloc[0]
    assert (row["protocol"], row["time"], row["packet_number"]) == (
        "T", "2024/10/20 08:07:36.663329", 34)
    assert (row["src_ip"], row["src_port"], row["dst_ip"], row["dst_port"]) == (
        "172.16.0.132", 59964, "172.16.1.53", 80)
    assert row["tcp_flags"] == "AP"
    assert row["http_request_line"] == "GET / HTTP/1.1"
    assert row["http_host"] == "10.10.124.15"
    assert row["payload"].splitlines()[1] == "Host: 10.10.124.15"  # the '.' of \r is gone


def test_ngrep_byline_reads_each_packet_and_its_multiline_payload():
    df = parsed(local("ngrep-tW-byline"))
    assert list(df["packet_number"]) == [4, 6, 8, 16, 18, 20]
    assert df.iloc[0]["payload"] == ("GET / HTTP/1.1\nHost: 192.0.2.2:8000\n"
                                     "User-Agent: curl/7.88.1\nAccept: */*\n")
    assert df.iloc[2]["payload"] == "hello"
    assert "<p>Message: File not found.</p>" in df.iloc[5]["payload"]  # a real '.' stays
    assert list(df["http_host"].dropna()) == ["192.0.2.2:8000", "192.0.2.2:8000"]


def test_ngrep_default_layout_joins_wrapped_payload_lines():
    df = parsed(local("ngrep-default"))
    assert len(df) == 6 and df["time"].isna().all()
    assert df.iloc[0]["http_host"] == "192.0.2.2:8000"
    assert df.iloc[5]["payload"].startswith('<!DOCTYPE HTML>.<html lang="en">.')
    assert "Error response</h1>" in df.iloc[5]["payload"]  # wrapped "Er" + "ror" rejoined


def test_ngrep_reads_icmp_type_code_and_udp():
    df = parsed(local("ngrep-byline-icmp-udp"))
    assert list(df["protocol"]) == ["I", "I", "U", "I"]
    assert (df.iloc[0]["icmp_type"], df.iloc[0]["icmp_code"]) == (8, 0)
    assert pd.isna(df.iloc[0]["src_port"])
    assert (df.iloc[2]["dst_port"], df.iloc[2]["payload"]) == (5353, "hello udp")


def test_ngrep_raises_on_text_before_any_packet_quoting_it():
    with pytest.raises(ParseError, match=r"line 2: .*'Hostname: webpod1'"):
        ngrep("interface: eth0\nHostname: webpod1\n")


def test_ngrep_of_empty_output_has_the_columns():
    df = ngrep("")
    assert len(df) == 0 and {"payload", "http_host", "packet_number"} <= set(df.columns)
