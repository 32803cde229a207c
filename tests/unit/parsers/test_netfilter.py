"""netfilter: iptables -S / iptables-save rules and conntrack -L entries (chapters 01, 07).

There is no real iptables or conntrack output in ../shared/real-outputs; the seed has the
raw table's NOTRACK rules. The rest was captured on the labkit dev machine
(tests/fixtures/local) in a throwaway namespace holding Cilium-like chains and a little
traffic between two namespaces.
"""

from __future__ import annotations

import pandas as pd
import pytest

import labkit
from labkit import ParseError
from labkit.parsers import conntrack_list, iptables_rules
from tests.outputs import seed
from tests.unit.parsers.helpers import LOCAL, local
from tests.unit.parsers.helpers import parsed_local as parsed

MINE = sorted(p.name for p in LOCAL.glob("*") if p.name.startswith(("iptables", "conntrack")))


# --- iptables -------------------------------------------------------------------------------

def test_seed_notrack_rules_split_match_target_and_comment():
    output = seed("iptables-raw-S-grep-notrack")
    df = labkit.parse(output.command, output.text)
    assert df.attrs["parser"] == "iptables_rules" and df.attrs["filtered"]
    assert list(df["rule"]) == ["-d 192.168.0.0/16", "-s 192.168.0.0/16"]
    assert set(df["chain"]) == {"CILIUM_OUTPUT_raw"} and set(df["action"]) == {"append"}
    assert set(df["target"]) == {"CT"} and set(df["target_options"]) == {"--notrack"}
    assert set(df["comment"]) == {"cilium: NOTRACK for pod traffic"}
    assert df["table"].isna().all()


def test_iptables_S_reads_policies_chains_and_rules_in_order():
    df = parsed("iptables-S.txt")
    assert list(df["action"]) == ["policy"] * 3 + ["chain"] + ["append"] * 4
    policies = df[df["action"] == "policy"].set_index("chain")["policy"]
    assert policies["FORWARD"] == "DROP" and policies["INPUT"] == "ACCEPT"
    health = df.iloc[4]
    assert health["rule"] == "-p tcp -m tcp --dport 4240 -m conntrack --ctstate NEW,ESTABLISHED"
    assert health["target"] == "ACCEPT" and pd.isna(health["comment"])


def test_iptables_save_knows_the_table_of_each_line():
    df = parsed("iptables-save.txt")
    assert list(df["table"].unique()) == ["mangle", "raw", "filter", "nat"]
    masq = df[df["target"] == "MASQUERADE"].iloc[0]
    assert masq["table"] == "nat" and masq["chain"] == "CILIUM_POST_nat"
    assert masq["rule"] == "-s 172.16.1.0/24 ! -d 192.168.0.0/16 ! -o cilium_+"
    user_chain = df[(df["chain"] == "CILIUM_FORWARD") & (df["action"] == "chain")].iloc[0]
    assert pd.isna(user_chain["policy"]) and user_chain["table"] == "filter"
    mark = df[df["target"] == "MARK"].iloc[0]
    assert mark["target_options"] == "--set-xmark 0x200/0xf00"


def test_iptables_save_c_reads_the_counters_of_rules():
    df = parsed("iptables-save-c.txt")
    feeder = df[(df["table"] == "raw") & (df["target"] == "CILIUM_OUTPUT_raw")].iloc[0]
    assert (feeder["packets"], feeder["bytes"]) == (8, 617)
    assert str(df["packets"].dtype) == "Int64" and df["packets"].notna().all()


def test_iptables_save_grep_cilium_and_grep_kube_svc():
    df = parsed("iptables-save-grep-CILIUM.txt")
    assert df.attrs["filtered"] and len(df) == 11
    assert set(df[df["action"] == "chain"]["chain"]) == {"CILIUM_OUTPUT_raw", "CILIUM_FORWARD",
                                                         "CILIUM_POST_nat"}
    # chapter 07: without kube-proxy there is no KUBE-SVC rule at all
    empty = labkit.parse("iptables-save | grep KUBE-SVC", "")
    assert len(empty) == 0 and list(empty.columns) == list(df.columns)


def test_iptables_rules_reads_insert_and_verbose_counters():
    # invented lines in iptables' syntax: -I with a position, and -S -v counters
    df = iptables_rules('-I INPUT 1 -s 10.0.0.0/8 -j DROP\n'
                        '-A FORWARD -c 12 3400 -j LOG --log-prefix "x y"\n')
    assert list(df["action"]) == ["insert", "append"]
    assert df.iloc[0]["rule"] == "-s 10.0.0.0/8"
    assert (df.iloc[1]["packets"], df.iloc[1]["bytes"]) == (12, 3400)
    assert df.iloc[1]["target_options"] == '--log-prefix "x y"' and pd.isna(df.iloc[1]["rule"])


def test_iptables_rules_rejects_a_line_that_is_not_a_rule():
    with pytest.raises(ParseError) as e:
        labkit.parse("iptables -S", "-P INPUT ACCEPT\nChain INPUT (policy ACCEPT)\n")
    assert "line 2" in str(e.value) and "Chain INPUT" in str(e.value)
    with pytest.raises(ParseError, match="quotes"):
        iptables_rules('-A X -m comment --comment "open -j ACCEPT\n')


def test_iptables_empty_output_has_the_columns():
    df = iptables_rules("")
    assert len(df) == 0 and "target" in df.columns and "comment" in df.columns


# --- conntrack ------------------------------------------------------------------------------

def test_conntrack_L_reads_tcp_udp_icmp_and_skips_the_trailer():
    df = parsed("conntrack-L.txt")
    assert df.attrs["parser"] == "conntrack_list"
    assert len(df) == 7 and sorted(df["protocol"].unique()) == ["icmp", "tcp", "udp"]
    tcp = df[df["state"] == "ESTABLISHED"].iloc[0]
    assert (tcp["src_ip"], tcp["dst_ip"], tcp["dst_port"]) == ("172.16.1.10", "172.16.1.1", 8080)
    assert (tcp["reply_src_ip"], tcp["reply_src_port"]) == ("172.16.1.1", 8080)
    assert tcp["reply_dst_port"] == tcp["src_port"]
    assert tcp["flags"] == ["ASSURED"] and tcp["protocol_number"] == 6
    assert tcp["timeout"] > 400000 and tcp["mark"] == 0 and tcp["use"] == 1


def test_conntrack_udp_has_no_state_and_icmp_has_type_code_id():
    df = parsed("conntrack-L.txt")
    udp = df[df["protocol"] == "udp"]
    assert udp["state"].isna().all() and all(f == ["UNREPLIED"] for f in udp["flags"])
    icmp = df[(df["protocol"] == "icmp") & (df["dst_ip"] == "172.16.1.254")].iloc[0]
    assert (icmp["icmp_type"], icmp["icmp_code"]) == (8, 0) and icmp["icmp_id"] > 0
    assert pd.isna(icmp["src_port"])


def test_conntrack_reads_zone_and_mark():
    df = parsed("conntrack-L-p-tcp.txt")
    syn = df[df["state"] == "SYN_SENT"].iloc[0]
    assert (syn["zone"], syn["mark"], syn["flags"]) == (7, 5, ["UNREPLIED"])


def test_conntrack_o_extended_gives_the_same_entries_with_a_family():
    extended, plain = parsed("conntrack-L-o-extended.txt"), parsed("conntrack-L.txt")
    assert set(extended["family"]) == {"ipv4"}
    key = ["protocol", "state", "dst_ip", "dst_port"]
    assert len(extended) == len(plain)
    assert set(map(tuple, extended[key].astype(str).values)) == \
        set(map(tuple, plain[key].astype(str).values))


def test_conntrack_only_the_trailer_gives_no_rows():
    df = parsed("conntrack-L-pod-side.txt")
    assert len(df) == 0 and list(df.columns) == list(conntrack_list("").columns)


def test_conntrack_events_accounting_secctx_and_ipv6():
    # invented from conntrack-tools' output format (src/conntrack.c, -E and acct on)
    text = ("    [NEW] tcp      6 120 SYN_SENT src=fd00::1 dst=fd00::2 sport=5000 dport=80 "
            "packets=1 bytes=80 [UNREPLIED] src=fd00::2 dst=fd00::1 sport=80 dport=5000 "
            "packets=0 bytes=0 secctx=system_u:object_r:unlabeled_t:s0\n")
    row = labkit.parse("conntrack -E", text).iloc[0]
    assert (row["event"], row["family"], row["packets"], row["reply_bytes"]) == \
        ("NEW", "ipv6", 1, 0)
    assert row["secctx"] == "system_u:object_r:unlabeled_t:s0"


def test_conntrack_grep_v_rows_parse_and_a_malformed_line_raises():
    line = ("tcp      6 431999 ESTABLISHED src=192.168.10.10 dst=192.168.10.101 sport=51234 "
            "dport=10250 src=192.168.10.101 dst=192.168.10.10 sport=10250 dport=51234 "
            "[ASSURED] mark=0 use=1\n")
    df = labkit.parse("conntrack -L | grep -v 2379", line)
    assert df.iloc[0]["dst_port"] == 10250 and df.attrs["filtered"]
    with pytest.raises(ParseError) as e:
        conntrack_list(line + "tcp 6 10 ESTABLISHED src=1.1.1.1 dport=eighty\n")
    assert "line 2" in str(e.value) and "eighty" in str(e.value)
    with pytest.raises(ParseError, match="unexpected field"):
        conntrack_list("udp 17 20 src=1.1.1.1 dst=2.2.2.2 colour=blue\n")


@pytest.mark.parametrize("name", MINE)
def test_every_local_capture_parses(name):
    df = parsed(name)
    assert df.attrs["raw"] == local(name).text
    if name != "conntrack-L-pod-side.txt":
        assert len(df) > 0
        assert df["chain" if "iptables" in name else "src_ip"].notna().all()


def test_iptables_S_v_reads_counters_of_policies_and_rules():
    df = parsed("iptables-t-raw-S-v.txt")
    policy = df[df["action"] == "policy"].iloc[0]
    assert (policy["policy"], policy["packets"], policy["bytes"]) == ("ACCEPT", 0, 0)
    notrack = df[df["target"] == "CT"].iloc[0]
    assert (notrack["packets"], notrack["bytes"]) == (4, 336)
    assert notrack["rule"] == "-o lo" and notrack["target_options"] == "--notrack"
    assert notrack["comment"] == "cilium: NOTRACK for loopback traffic"
