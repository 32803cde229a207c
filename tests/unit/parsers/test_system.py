"""System facts: uname -a (kernel >= 5.8, chapter 00), ethtool -i (XDP driver, chapter 01),
lsns (the cilium-health namespace, chapter 03).

No real output of these commands is in ../shared/real-outputs; the seed has uname -a and a cut
ethtool -i; the rest was captured on the labkit dev machine (tests/fixtures/local).
"""

from __future__ import annotations

import pandas as pd
import pytest

import labkit
from labkit import ParseError
from labkit.parsers import ethtool_driver, lsns, nested, uname
from tests.outputs import seed
from tests.unit.parsers.helpers import LOCAL, local
from tests.unit.parsers.helpers import parsed_local as parsed

MINE = sorted(p.name for p in LOCAL.glob("*") if p.name.startswith(("uname", "ethtool", "lsns")))


# --- uname ----------------------------------------------------------------------------------

def test_uname_a_of_the_seed_splits_release_version_and_machine():
    output = seed("uname-a")
    df = labkit.parse(output.command, output.text)
    assert df.attrs["parser"] == "uname" and len(df) == 1
    row = df.iloc[0]
    assert (row["kernel_name"], row["hostname"], row["kernel_release"]) == \
        ("Linux", "k8s-s", "6.8.0-1015-aws")
    assert row["kernel_version"] == "#16~204.1-Ubuntu SMP Mon Aug 19 19:38:17 UTC 2024"
    assert (row["machine"], row["os"]) == ("x86_64", "GNU/Linux")


def test_uname_gives_numbers_for_the_kernel_5_8_check():
    row = labkit.parse("uname -a", seed("uname-a").text).iloc[0]
    assert (row["kernel_major"], row["kernel_minor"]) >= (5, 8)
    assert str(labkit.parse("uname -a", seed("uname-a").text)["kernel_major"].dtype) == "Int64"
    old = uname("Linux box 4.19.0-18-amd64 #1 SMP Debian 4.19.208-1 (2021-09-29) x86_64 "
                "GNU/Linux\n").iloc[0]
    assert (old["kernel_major"], old["kernel_minor"]) < (5, 8)


def test_uname_a_without_processor_and_platform_columns():
    row = parsed("uname-a.txt").iloc[0]
    assert row["kernel_version"] == "#1 SMP PREEMPT_DYNAMIC @0" and row["machine"] == "x86_64"
    assert (row["kernel_major"], row["kernel_minor"]) == (6, 18)


def test_uname_r_fills_only_the_release():
    row = labkit.parse("uname -r", "6.8.0-1015-aws\n").iloc[0]
    assert row["kernel_release"] == "6.8.0-1015-aws" and row["kernel_minor"] == 8
    assert pd.isna(row["hostname"])


def test_uname_rejects_other_text_quoting_it():
    with pytest.raises(ParseError) as e:
        uname("k8s-s\n")
    assert "line 1" in str(e.value) and "k8s-s" in str(e.value)
    assert list(uname("").columns)[-2:] == ["kernel_major", "kernel_minor"]


# --- ethtool -i -----------------------------------------------------------------------------

def test_ethtool_i_of_the_seed_names_the_ena_driver():
    output = seed("ethtool-i-ens5")
    df = labkit.parse(output.command, output.text)
    assert df.attrs["parser"] == "ethtool_driver"
    assert list(df.columns) == ["section", "key", "value"]
    assert nested(df) == {"driver": "ena", "version": "6.8.0-1015-aws"}


@pytest.mark.parametrize(("name", "driver"), [("ethtool-i-veth.txt", "veth"),
                                              ("ethtool-i-bridge.txt", "bridge")])
def test_ethtool_i_reads_every_key_and_empty_values(name, driver):
    info = nested(parsed(name))
    assert info["driver"] == driver and len(info) == 10
    assert info["expansion-rom-version"] is None
    assert info["supports-test"] == "no"


def test_ethtool_i_rejects_a_line_that_is_not_key_value():
    with pytest.raises(ParseError) as e:
        ethtool_driver("driver: ena\nSettings for ens5\n")
    assert "line 2" in str(e.value) and "Settings for ens5" in str(e.value)
    assert len(ethtool_driver("")) == 0


# --- lsns -----------------------------------------------------------------------------------

def test_lsns_t_net_reads_netnsid_nsfs_and_command():
    df = parsed("lsns-t-net.txt")
    assert df.attrs["parser"] == "lsns"
    assert set(df["type"]) == {"net"}
    pod = df[df["nsfs"] == "/run/netns/lkfix2"].iloc[0]
    assert pod["command"].endswith("/tmp/lkcap/client.py") and pod["nprocs"] == 2
    root = df[df["pid"] == 2].iloc[0]
    assert pd.isna(root["nsfs"]) and root["command"] == "kthreadd"
    assert df["netnsid"].isna().all()  # all "unassigned" on this machine
    assert str(df["ns"].dtype) == "Int64"


def test_lsns_grep_rows_without_the_header():
    text = "\n".join(line for line in local("lsns-t-net.txt").text.splitlines()
                     if "lkfix" in line)
    df = labkit.parse("lsns -t net | grep lkfix", text)
    assert list(df["nsfs"]) == ["/run/netns/lkfix", "/run/netns/lkfix2"]
    assert df["command"].str.startswith("/root/").all()


def test_lsns_reads_a_numbered_netnsid():
    # the shape of `lsns -t net` on a node where the agent's netns has id 0 (invented row)
    text = ("        NS TYPE NPROCS   PID USER  NETNSID NSFS                          COMMAND\n"
            "4026532745 net       2 12042 65535       0 /run/netns/cni-2b1b2d5c-4e1a  /pause\n")
    row = lsns(text).iloc[0]
    assert row["netnsid"] == 0 and row["nsfs"] == "/run/netns/cni-2b1b2d5c-4e1a"
    assert row["command"] == "/pause" and row["user"] == "65535"


def test_lsns_generic_table_has_no_netnsid_column():
    df = parsed("lsns-p.txt")
    assert len(df) == 8 and "mnt" in set(df["type"])
    net = df[df["type"] == "net"].iloc[0]
    assert pd.isna(net["nsfs"]) and net["command"].endswith("client.py")


def test_lsns_J_gives_the_same_rows_as_the_table():
    js = parsed("lsns-J-t-net.json")
    table = parsed("lsns-t-net.txt")
    assert js.equals(table)
    assert labkit.parse("lsns -J -t net | jq .", local("lsns-J-t-net.json").text).equals(js)


def test_lsns_rejects_a_malformed_row_and_bad_json():
    with pytest.raises(ParseError) as e:
        lsns("4026531833 net 79 2 root unassigned kthreadd\nnot a namespace\n")
    assert "line 2" in str(e.value)
    with pytest.raises(ParseError):
        lsns('{"namespaces": [{"ns": "x"}]}')
    assert len(lsns("")) == 0


@pytest.mark.parametrize("name", MINE)
def test_every_local_capture_parses(name):
    df = parsed(name)
    assert len(df) > 0 and df.attrs["raw"] == local(name).text
