"""Tests for labkit.parsers.cilium_maps: bpf endpoint/ipcache list, map list/get, bpf policy."""

from __future__ import annotations

import pandas as pd
import pytest

import labkit
from labkit.parsers import (
    bpf_endpoint_list,
    bpf_endpoint_list_json,
    bpf_ipcache_list,
    bpf_ipcache_list_json,
    bpf_policy_get,
    bpf_policy_get_json,
    map_get,
    map_get_ipcache,
    map_get_lxc,
    map_list,
    map_list_json,
    map_list_verbose,
    parse,
)
from tests.outputs import ROOT, load, real, real_ids

INVENTED = ROOT / "tests" / "fixtures" / "invented"

FOUND = ROOT / "tests" / "fixtures" / "found"
# Real outputs found with the search tool (provenance in each file's `#!` header):
# PR cilium/cilium#40519 (2025, modern format) and issue cilium/cilium#3294 (2018, ~1.0:
# lower-case title, keys without `:0`, the identity as hex `seclabel`).
MODERN = load(FOUND / "cilium-bpf-endpoint-list-pr40519.txt")
OLD = load(FOUND / "cilium-bpf-endpoint-list-issue3294.txt")
BPF_ENDPOINT_LIST_2025 = MODERN.text
BPF_ENDPOINT_LIST_2018 = OLD.text

# Real text, found with the search tool (a Chinese blog post on Cilium's datapath, stored
# GitHub-file index id 46960864858; ~2021, Cilium 1.9/1.10 with VXLAN tunnelling):
# `kubectl exec ... -- cilium map get cilium_ipcache | grep 10.42.0.51`.
MAP_GET_IPCACHE_GREP = (
    "10.42.0.51/32     identity=15773 encryptkey=0 tunnelendpoint=192.168.1.13   sync\n")


# --- cilium bpf endpoint list ------------------------------------------------------

def test_bpf_endpoint_list_modern_real_rows():
    df = parse(MODERN.command, BPF_ENDPOINT_LIST_2025)
    assert len(df) == 9
    first = df.iloc[0]
    assert first["ip"] == "fd00:10:244:3::f82d"  # the `:0` key suffix is stripped
    assert (first["endpoint_id"], first["identity"], first["ifindex"]) == (3393, 6608, 39)
    assert first["mac"] == "42:E9:20:B0:00:10" and first["node_mac"] == "22:36:B2:97:BD:99"
    assert first["flags"] == 0 and first["parent_ifindex"] == 0 and not first["is_host"]
    host = df[df["ip"] == "192.168.0.4"].iloc[0]
    assert host["is_host"] and pd.isna(host["endpoint_id"])
    assert str(df["identity"].dtype) == "Int64"


def test_bpf_endpoint_list_old_format_reads_hex_seclabel():
    df = parse(OLD.command, BPF_ENDPOINT_LIST_2018)
    assert df["ip"].tolist()[:3] == ["f00d::ae9:4000:0:8ad6", "172.29.244.20", "10.233.64.172"]
    assert df["is_host"].tolist()[:2] == [True, True]
    row = df.iloc[2]
    assert (row["endpoint_id"], row["ifindex"], row["identity"]) == (29898, 849, 0xD526)
    assert pd.isna(row["parent_ifindex"])


def test_bpf_endpoint_list_grep_filtered_row():
    line = BPF_ENDPOINT_LIST_2025.splitlines()[4]
    df = parse("c0 bpf endpoint list | grep 10.244.3.123", line)
    assert df.iloc[0]["ip"] == "10.244.3.123" and df.iloc[0]["endpoint_id"] == 3760


def test_bpf_endpoint_list_errors_and_empty():
    with pytest.raises(labkit.ParseError) as e:
        bpf_endpoint_list("IP ADDRESS   LOCAL ENDPOINT INFO\n10.0.0.1:0   id=1 bogus\n")
    assert e.value.line_number == 2 and "bogus" in str(e.value)
    with pytest.raises(labkit.ParseError):
        bpf_endpoint_list("10.0.0.1:0   id=1 color=red\n")
    df = bpf_endpoint_list("")
    assert len(df) == 0 and "node_mac" in df.columns


def test_bpf_endpoint_list_json_invented_fixture():
    # Invented fixture: no real `bpf endpoint list -o json` found (FORMATS.md section 4).
    out = load(INVENTED / "cilium-bpf-endpoint-list.json")
    df = parse(out.command, out.text)
    assert df.attrs["parser"] == "bpf_endpoint_list_json"
    assert df["is_host"].sum() == 2
    pod = df[df["ip"] == "172.16.0.171"].iloc[0]
    assert (pod["endpoint_id"], pod["identity"], pod["ifindex"]) == (1530, 21334, 14)
    with pytest.raises(labkit.ParseError):
        bpf_endpoint_list_json('{"10.0.0.1:0": "id=1"}')


# --- cilium bpf ipcache list ---------------------------------------------------------

def test_bpf_ipcache_list_invented_text_variants():
    # Invented fixture (FORMATS.md section 4): no real `bpf ipcache list` text was found.
    out = load(INVENTED / "cilium-bpf-ipcache-list.txt")
    df = parse(out.command, out.text)
    assert len(df) == 6
    pod = df.iloc[0]
    assert (pod["ip"], pod["prefix_len"], pod["identity"]) == ("172.16.1.234", 32, 12345)
    assert pod["tunnel_endpoint"] == "192.168.10.101" and pod["flags"] == "hastunnel"
    comma = df.iloc[1]
    assert comma["tunnel_endpoint"] == "0.0.0.0" and comma["flags"] == "<none>"
    assert df.iloc[3]["node_id"] == 24511 and pd.isna(df.iloc[3]["flags"])
    mesh = df.iloc[4]
    assert mesh["cluster_id"] == 2 and mesh["prefix"] == "10.1.0.7/32"
    assert df.iloc[5]["ip"] == "fd00::1c" and df.iloc[5]["prefix_len"] == 128
    assert str(df["encrypt_key"].dtype) == "Int64"


def test_bpf_ipcache_list_no_entries_message_and_errors():
    df = bpf_ipcache_list("No entries found.\n")
    assert len(df) == 0 and "tunnel_endpoint" in df.columns
    with pytest.raises(labkit.ParseError) as e:
        bpf_ipcache_list("IP PREFIX/ADDRESS   IDENTITY\n10.0.0.1/32   identity=x\n")
    assert e.value.line_number == 2
    with pytest.raises(labkit.ParseError):
        bpf_ipcache_list("not-an-ip/32   identity=5 encryptkey=0\n")


def test_bpf_ipcache_list_json_invented_fixture():
    # Invented fixture (FORMATS.md section 4): map of prefix -> [value string].
    out = load(INVENTED / "cilium-bpf-ipcache-list.json")
    df = parse(out.command, out.text)
    assert df.attrs["parser"] == "bpf_ipcache_list_json"
    assert set(df["identity"]) == {1, 2, 12345}
    assert df.set_index("ip").loc["172.16.1.234", "tunnel_endpoint"] == "192.168.10.101"
    assert len(bpf_ipcache_list_json("{}")) == 0


# --- cilium map list -----------------------------------------------------------------

@pytest.mark.parametrize("name", real_ids("cilium-map-list"))
def test_every_real_map_list_parses(name):
    out = real(f"cilium-map-list/{name}")
    df = parse(out.command, out.text)
    assert len(df) == 8
    assert df.set_index("name").loc["cilium_runtime_config", "entries"] == 256
    assert df["cache_enabled"].all() and str(df["entries"].dtype) == "Int64"


def test_map_list_errors_and_empty():
    with pytest.raises(labkit.ParseError) as e:
        map_list("Name   Num entries   Num errors   Cache enabled\ncilium_lxc   one   0   true\n")
    assert e.value.line_number == 2
    assert list(map_list("").columns) == ["name", "entries", "errors", "cache_enabled"]


def test_map_list_json_counts_entries_like_the_table():
    # Invented fixture: shape from cilium-dbg/cmd/map_list.go (BPFMapList model).
    out = load(INVENTED / "cilium-map-list.json")
    df = parse(out.command, out.text)
    assert df.attrs["parser"] == "map_list_json"
    assert df.to_dict("records") == [
        {"name": "cilium_lxc", "entries": 2, "errors": 1, "cache_enabled": True},
        {"name": "cilium_runtime_config", "entries": 0, "errors": 0, "cache_enabled": False}]
    assert len(map_list_json('{"maps": []}')) == 0


def test_map_list_verbose_gives_entries_per_map():
    # Invented fixture: format from cilium-dbg/cmd/map_list.go (`## Map:` sections).
    out = load(INVENTED / "cilium-map-list-verbose.txt")
    df = parse(out.command, out.text)
    assert df.attrs["parser"] == "map_list_verbose"
    assert df["map"].tolist() == ["cilium_lxc", "cilium_lxc", "cilium_lb4_reverse_nat",
                                  "cilium_lb4_reverse_nat"]
    lxc = df.iloc[0]
    assert lxc["key"] == "172.16.0.171:0" and lxc["value"].startswith("id=1530  sec_id=21334")
    assert lxc["value"].endswith("parent_ifindex=0") and lxc["state"] == "sync"
    failed = df.iloc[3]
    assert (failed["key"], failed["value"], failed["state"], failed["error"]) == (
        "21", "10.96.0.10:53", "sync", "bpf: map update failed")
    assert len(map_list_verbose("")) == 0


# --- cilium map get ----------------------------------------------------------------

@pytest.mark.parametrize("name", real_ids("cilium-map-get"))
def test_every_real_map_get_parses_generically(name):
    out = real(f"cilium-map-get/{name}")
    assert len(parse(out.command, out.text)) == 4  # may be read by a map-specific parser
    df = map_get(out.text)
    assert df["key"].tolist()[0] == "10.96.32.212:80/TCP (0)"
    assert df["value"].tolist()[1] == "16 0[0] (20) [0x0 0x0]"
    assert df["state"].isna().all()


def test_map_get_ipcache_reads_the_grep_filtered_real_line():
    df = parse("kubectl exec -n kube-system $cilium1 -c cilium-agent -- "
               "cilium map get cilium_ipcache | grep 10.42.0.51", MAP_GET_IPCACHE_GREP)
    assert df.attrs["parser"] == "map_get_ipcache"
    row = df.iloc[0]
    assert (row["ip"], row["prefix_len"], row["identity"]) == ("10.42.0.51", 32, 15773)
    assert row["tunnel_endpoint"] == "192.168.1.13" and row["state"] == "sync"
    assert parse("c0 map get cilium_ipcache_v2", MAP_GET_IPCACHE_GREP).iloc[0]["encrypt_key"] == 0


def test_map_get_ipcache_json_invented_fixture():
    # Invented fixture: shape from cilium-dbg/cmd/map_get.go (BPFMap model).
    out = load(INVENTED / "cilium-map-get-ipcache.json")
    df = parse(out.command, out.text)
    assert df.attrs["parser"] == "map_get_ipcache_json"
    assert df["identity"].tolist() == [12345, 2] and df["state"].tolist() == ["sync", "sync"]


def test_map_get_lxc_reads_endpoint_fields():
    # Rows in the shape `map get` prints (key, value, state); the value strings are the
    # real 2025 ones above; the `sync` state as in the real ipcache line.
    text = ("Key                     Value                                                      "
            "                                                 State   Error\n")
    for line in BPF_ENDPOINT_LIST_2025.splitlines()[4:7]:
        key, value = line.split(None, 1)
        text += f"{key:<24}{value.rstrip():<107}   sync\n"
    df = parse("c0 map get cilium_lxc", text)
    assert df.attrs["parser"] == "map_get_lxc"
    assert df["ip"].tolist() == ["10.244.3.123", "10.244.3.94", "192.168.0.4"]
    assert df["endpoint_id"].tolist()[:2] == [3760, 412] and df["is_host"].tolist()[2]
    assert df["state"].tolist() == ["sync"] * 3


def test_map_get_lxc_json():
    # Invented: a BPFMap object as `map get -o json` prints it (cilium-dbg/cmd/map_get.go).
    text = ('{"path": "/sys/fs/bpf/tc/globals/cilium_lxc", "cache": [{"key": "172.16.0.171:0", '
            '"value": "id=1530  sec_id=21334 flags=0x0000 ifindex=14  mac=66:3A:0D:4B:10:22 '
            'nodemac=8E:1C:5A:2B:77:01 parent_ifindex=0", "desired-action": "sync"}]}')
    df = parse("c0 map get cilium_lxc -o json", text)
    assert df.attrs["parser"] == "map_get_lxc_json"
    assert (df.iloc[0]["ip"], df.iloc[0]["endpoint_id"], df.iloc[0]["state"]) == (
        "172.16.0.171", 1530, "sync")


def test_map_get_errors_and_cache_messages():
    assert len(map_get("Cache is empty\n")) == 0
    assert len(map_get_lxc("Cache is disabled\n")) == 0
    with pytest.raises(labkit.ParseError) as e:
        map_get("Key   Value   State   Error\nlonely\n")
    assert e.value.line_number == 2
    with pytest.raises(labkit.ParseError):
        map_get_ipcache("10.0.0.1/32   something=else   sync\n")


# --- cilium bpf policy get -----------------------------------------------------------

@pytest.mark.parametrize("name", real_ids("cilium-bpf-policy-get"))
def test_every_real_bpf_policy_get_parses(name):
    out = real(f"cilium-bpf-policy-get/{name}")
    df = parse(out.command, out.text)
    assert list(df.columns)[:4] == ["endpoint_id", "policy", "direction", "identity"]
    assert set(df["direction"]) <= {"Ingress", "Egress"}
    assert str(df["bytes"].dtype) == "Int64"


def test_bpf_policy_get_labels_and_proxy_ports():
    df = parse(*_cmd_text("cilium-bpf-policy-get/dbgdoc-labels.txt"))
    assert len(df) == 5
    dns = df.iloc[3]
    assert (dns["direction"], dns["port"], dns["protocol"], dns["proxy_port"]) == (
        "Egress", 53, "UDP", 36447)
    assert (dns["bytes"], dns["packets"]) == (138, 2)
    assert df.iloc[4]["labels"] == ["fqdn:*", "reserved:world"]
    assert pd.isna(df.iloc[0]["port"]) and pd.isna(df.iloc[0]["proxy_port"])


def test_bpf_policy_get_numeric_identities():
    df = parse(*_cmd_text("cilium-bpf-policy-get/dbgdoc-numeric.txt"))
    assert df["identity"].tolist() == [0, 1, 0, 0, 16777217]
    assert df["labels"].tolist() == [[]] * 5


def test_bpf_policy_get_modern_columns():
    df = parse(*_cmd_text(
        "cilium-bpf-policy-get/v1.17-18-era-issue40247-host-fw-modern-columns.txt"))
    row = df.iloc[0]
    assert (row["policy"], row["port"], row["protocol"], row["auth_type"]) == (
        "Allow", 8, "ICMP", "disabled")
    assert (row["bytes"], row["packets"], row["prefix"]) == (1965348, 29778, 24)


def test_bpf_policy_get_old_columns_and_empty_stats_message():
    old = parse(*_cmd_text("cilium-bpf-policy-get/v1.0-2018-issue3558.txt"))
    assert old["bytes"].tolist() == [40425240, 0] and old["proxy_port"].isna().all()
    empty = parse(*_cmd_text(
        "cilium-bpf-policy-get/v1.6-dev-issue8507-empty-stats-message.txt"))
    assert len(empty) == 0 and "packets" in empty.columns


def test_bpf_policy_get_all_assigns_endpoint_ids():
    # --all output in both layouts (old `path:` lines, newer `Endpoint ID:`/`Path:` lines);
    # rows shaped like the real outputs above, numbers made up.
    text = """\
/sys/fs/bpf/tc/globals/cilium_policy_01061:

POLICY   DIRECTION   IDENTITY   PORT/PROTO   PROXY PORT   BYTES   PACKETS
Allow    Ingress     1          ANY          NONE         0       0
Allow    Egress      0          ANY          NONE         70      1


Endpoint ID: 1990
Path: /sys/fs/bpf/tc/globals/cilium_policy_v2_01990

POLICY  DIRECTION  IDENTITY  PORT/PROTO  PROXY PORT  AUTH TYPE  BYTES  PACKETS  PREFIX  COOKIE
Deny    Ingress    2       80/TCP     NONE      disabled   -     -      16     0
"""
    df = parse("c0 bpf policy get --all -n", text)
    assert df["endpoint_id"].tolist() == [1061, 1061, 1990]
    deny = df.iloc[2]
    assert (deny["policy"], deny["identity"], deny["port"], deny["cookie"]) == (
        "Deny", 2, 80, 0)
    assert pd.isna(deny["bytes"])


def test_bpf_policy_get_errors_and_empty():
    with pytest.raises(labkit.ParseError) as e:
        bpf_policy_get("DIRECTION   LABELS   PORT/PROTO   BYTES   PACKETS\nSideways x ANY 1 2\n")
    assert e.value.line_number == 2 and "Sideways" in str(e.value)
    with pytest.raises(labkit.ParseError):
        bpf_policy_get("Ingress   reserved:host   ANY   NONE   x   1\n")
    assert len(bpf_policy_get("")) == 0


def _cmd_text(relpath: str) -> tuple[str, str]:
    out = real(relpath)
    return out.command, out.text


# --- cilium bpf policy get -o json -----------------------------------------------------
# No real JSON sample was found: the fixtures are invented from cilium-dbg's source
# (bpf_policy_get.go prints the raw PolicyEntryDump structs; --all wraps them as in
# PR cilium/cilium#25389); see their `#!` headers.

POLICY_JSON = load(INVENTED / "cilium-bpf-policy-get.json")
POLICY_ALL_JSON = load(INVENTED / "cilium-bpf-policy-get-all.json")


def test_bpf_policy_get_json_converts_network_byte_order_ports():
    df = parse(POLICY_JSON.command, POLICY_JSON.text)
    assert df.attrs["parser"] == "bpf_policy_get_json"
    assert list(df.columns) == list(bpf_policy_get("").columns)
    proxied = df[df["identity"] == 6608].iloc[0]
    assert (proxied["port"], proxied["protocol"], proxied["proxy_port"]) == (80, "TCP", 15001)
    assert (proxied["bytes"], proxied["packets"], proxied["cookie"]) == (1480, 12, 7)
    dns = df.iloc[3]
    assert (dns["direction"], dns["port"], dns["protocol"], dns["prefix"]) == (
        "Egress", 53, "UDP", 24)


def test_bpf_policy_get_json_deny_wildcards_ranges_and_reserved_labels():
    df = bpf_policy_get_json(POLICY_JSON.text)
    deny = df.iloc[0]
    assert (deny["policy"], deny["identity"], deny["labels"], deny["port"]) == (
        "Deny", 2, ["reserved:world"], 443)
    host = df.iloc[1]
    assert pd.isna(host["port"]) and host["protocol"] is None and host["prefix"] == 0
    assert (df.iloc[4]["port"], df.iloc[4]["port_end"]) == (8080, 8095)
    assert df.iloc[2]["labels"] == [] and df["auth_type"].eq("disabled").all()


def test_bpf_policy_get_all_json_assigns_endpoint_ids():
    df = parse(POLICY_ALL_JSON.command, POLICY_ALL_JSON.text)
    assert df["endpoint_id"].tolist() == [35, 35, 38]
    l7 = df.iloc[1]
    assert (l7["identity"], l7["port"], l7["proxy_port"], l7["bytes"]) == (20445, 80, 13210, 702)
    assert df["prefix"].isna().all()  # hash policy maps (before 1.16) have no prefix


def test_bpf_policy_get_json_errors_and_empty():
    with pytest.raises(labkit.ParseError, match="Key"):
        bpf_policy_get_json('[{"Packets": 1}]')
    with pytest.raises(labkit.ParseError, match="Identity"):
        bpf_policy_get_json('[{"Key": {"Identity": "x"}}]')
    with pytest.raises(labkit.ParseError) as e:
        bpf_policy_get_json('[\n{"Key": {}},\n oops\n]')
    assert e.value.line_number == 3
    assert len(bpf_policy_get_json("")) == 0
    assert len(bpf_policy_get_json("[]")) == 0
