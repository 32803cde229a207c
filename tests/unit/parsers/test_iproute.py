"""iproute2: ip addr / link / route / neigh (text, brief, JSON) and net-tools route -n.

There is no real `ip` output in ../shared/real-outputs; the seed has one `ip -c addr show`
excerpt. The rest was captured on the labkit dev machine (tests/fixtures/local) inside
throwaway namespaces built to look like a Cilium node (lkfix: cilium_host/cilium_net veth
pair, an lxc veth, uplink ens5) and a pod (lkfix2: eth0@if4, routes via 172.16.1.254).
"""

from __future__ import annotations

import pandas as pd
import pytest

import labkit
from labkit import ParseError
from labkit.parsers import (
    ip_addr,
    ip_addr_json,
    ip_link,
    ip_link_json,
    ip_neigh,
    ip_neigh_json,
    ip_route,
    ip_route_json,
    route_table,
)
from tests.outputs import seed
from tests.unit.parsers.helpers import LOCAL, local
from tests.unit.parsers.helpers import parsed_local as parsed

MINE = sorted(p.name for p in LOCAL.glob("*") if p.name.startswith(("ip-", "route-n")))


# --- ip addr --------------------------------------------------------------------------------

def test_ip_addr_reads_the_seed_veth_pair_and_the_router_slash_32():
    output = seed("ip-addr-show-cilium-net-host")
    df = labkit.parse(output.command, output.text)
    assert df.attrs["parser"] == "ip_addr"
    assert list(df["ifname"]) == ["cilium_net", "cilium_host"]
    assert list(df["peer"]) == ["cilium_host", "cilium_net"]
    host = df[df["ifname"] == "cilium_host"].iloc[0]
    assert (host["address"], host["prefix_len"], host["scope"]) == ("172.16.1.254", 32, "link")
    assert host["ifindex"] == 6 and host["mtu"] == 1500 and host["state"] == "UP"
    assert host["mac"] == "4e:6a:8e:44:85:61"
    assert "NOARP" in host["flags"]
    # cilium_net's addresses were elided by the author: it still appears, without an address
    net = df[df["ifname"] == "cilium_net"].iloc[0]
    assert pd.isna(net["address"]) and net["mac"] == "36:88:bf:c9:5c:6c"


def test_ip_addr_gives_one_row_per_address_and_keeps_interfaces_without_any():
    df = parsed("ip-addr.txt")
    assert df["ifname"].value_counts()["ens5"] == 3
    ens5 = df[(df["ifname"] == "ens5") & (df["family"] == "inet")].iloc[0]
    assert ens5["broadcast"] == "192.168.10.255" and ens5["prefix_len"] == 24
    spare = df[df["ifname"] == "spare0"]
    assert len(spare) == 1 and pd.isna(spare.iloc[0]["address"])
    assert spare.iloc[0]["state"] == "DOWN"
    assert str(df["prefix_len"].dtype) == "Int64" and str(df["ifindex"].dtype) == "Int64"


def test_ip_addr_splits_a_veth_peer_in_another_namespace():
    df = parsed("ip-addr-show-dev-lxc.txt")
    assert set(df["ifname"]) == {"lxc335e04832afa"}
    assert set(df["peer"]) == {"if2"} and set(df["link_netns"]) == {"lkfix2"}


def test_ip_c_addr_strips_colour_codes_and_matches_the_plain_output():
    coloured, plain = parsed("ip-c-addr.txt"), parsed("ip-addr.txt")
    assert not coloured.astype(str).apply(lambda c: c.str.contains("\x1b")).any().any()
    cols = ["ifname", "peer", "state", "family", "address", "prefix_len", "scope"]
    # the two captures are of the same namespace, only the kernel-chosen MACs may differ
    assert coloured[cols].equals(plain[cols])


def test_ip_4_addr_in_a_pod_reads_link_netns_from_the_interface_line():
    df = parsed("ip-c-4-addr-pod.txt")
    eth0 = df[df["ifname"] == "eth0"].iloc[0]
    assert (eth0["address"], eth0["prefix_len"], eth0["peer"]) == ("172.16.1.10", 32, "if4")
    assert eth0["link_netns"] == "lkfix" and pd.isna(eth0["mac"])


@pytest.mark.parametrize("name", ["ip-br-addr.txt", "ip-br-c-addr.txt"])
def test_ip_br_addr_gives_the_same_addresses_as_the_full_form(name):
    brief, full = parsed(name), parsed("ip-addr.txt")
    assert brief.attrs["parser"] == "ip_addr"
    cols = ["ifname", "peer", "state", "family", "address", "prefix_len"]
    assert brief[cols].equals(full[cols])
    assert brief["mtu"].isna().all()


def test_ip_j_addr_gives_the_text_columns_with_peer_from_link_or_link_index():
    df = parsed("ip-j-addr.json")
    assert df.attrs["parser"] == "ip_addr_json"
    assert list(df.columns) == list(ip_addr("").columns)
    text = parsed("ip-addr.txt")
    cols = ["ifindex", "ifname", "peer", "family", "address", "prefix_len", "scope"]
    assert df[cols].equals(text[cols])
    lxc = df[df["ifname"] == "lxc335e04832afa"].iloc[0]
    assert lxc["link_netnsid"] == 0
    assert parsed("ip-j-p-addr.json")[cols].equals(df[cols])


def test_ip_j_addr_skips_the_empty_objects_of_ip_j_4():
    # iproute2 prints {} for interfaces that -4 filtered out; seen on Debian 12's iproute2 6.1
    text = '[{},{"ifindex":1,"ifname":"lo","addr_info":[{"family":"inet","local":"127.0.0.1",' \
           '"prefixlen":8,"scope":"host"}]},{}]'
    df = labkit.parse("ip -j -4 addr", text)
    assert list(df["address"]) == ["127.0.0.1"]


def test_ip_addr_grep_inet_reads_address_lines_without_their_interface():
    text = ("    inet 127.0.0.1/8 scope host lo\n"
            "    inet 172.16.1.254/32 scope link cilium_host\n"
            "    inet6 fe80::4c6a:8eff:fe44:8561/64 scope link \n")
    df = labkit.parse("ip addr | grep inet", text)
    assert list(df["address"]) == ["127.0.0.1", "172.16.1.254", "fe80::4c6a:8eff:fe44:8561"]
    assert list(df["ifname"][:2]) == ["lo", "cilium_host"] and pd.isna(df["ifname"][2])


def test_ip_addr_rejects_a_malformed_line_quoting_it():
    text = "1: lo: <LOOPBACK,UP> mtu 65536 qdisc noqueue state UNKNOWN\n    bogus line here\n"
    with pytest.raises(ParseError) as e:
        labkit.parse("ip addr", text)
    assert "line 2" in str(e.value) and "bogus line here" in str(e.value)


def test_ip_addr_says_statistics_are_not_read():
    text = ("1: lo: <LOOPBACK,UP> mtu 65536 qdisc noqueue state UNKNOWN\n"
            "    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n"
            "    RX:  bytes packets errors dropped  missed   mcast\n")
    with pytest.raises(ParseError, match="without -s"):
        labkit.parse("ip -s link", text)


@pytest.mark.parametrize("func", [ip_addr, ip_addr_json, ip_link, ip_link_json, ip_route,
                                  ip_route_json, route_table, ip_neigh, ip_neigh_json])
def test_empty_output_gives_the_columns_and_no_rows(func):
    df = func("")
    assert len(df) == 0 and len(df.columns) > 3
    assert list(df.columns) == list(func("").columns)


# --- ip link --------------------------------------------------------------------------------

def test_ip_link_gives_one_row_per_interface_with_qdisc_and_peer_namespace():
    df = parsed("ip-link.txt")
    assert df.attrs["parser"] == "ip_link"
    assert list(df["ifname"]) == ["lo", "cilium_net", "cilium_host", "lxc335e04832afa",
                                  "ens5", "spare0", "cilium_vxlan"]
    lxc = df.set_index("ifname").loc["lxc335e04832afa"]
    assert lxc["peer"] == "if2" and lxc["link_netns"] == "lkfix2" and lxc["qdisc"] == "noqueue"
    assert df["kind"].isna().all()


def test_ip_d_link_reads_the_kind_of_each_interface():
    kinds = parsed("ip-d-link.txt").set_index("ifname")["kind"]
    assert kinds["cilium_host"] == "veth" and kinds["cilium_vxlan"] == "vxlan"
    assert kinds["spare0"] == "bridge" and pd.isna(kinds["lo"])
    json_kinds = parsed("ip-j-d-link.json").set_index("ifname")["kind"]
    assert json_kinds.equals(kinds)


@pytest.mark.parametrize("name", ["ip-br-link.txt", "ip-br-c-link.txt"])
def test_ip_br_link_reads_name_state_mac_and_flags(name):
    df = parsed(name)
    host = df.set_index("ifname").loc["cilium_host"]
    assert host["peer"] == "cilium_net" and host["mac"] == "4e:6a:8e:44:85:61"
    assert host["flags"] == ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"]


def test_ip_j_link_matches_the_text_form():
    js, text = parsed("ip-j-link.json"), parsed("ip-link.txt")
    assert js.attrs["parser"] == "ip_link_json"
    cols = ["ifindex", "ifname", "peer", "mtu", "qdisc", "state"]
    assert js[cols].equals(text[cols])
    assert js.set_index("ifname").loc["ens5", "link_netnsid"] == 1


def test_ip_link_reads_an_xdp_program_and_altnames():
    # invented from iproute2's format (ip/iplink_xdp.c): a NIC with a generic XDP program
    text = ("2: ens5: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 9001 xdpgeneric/id:81 qdisc mq "
            "state UP mode DEFAULT group default qlen 1000\n"
            "    link/ether 02:c3:1a:2b:3c:4d brd ff:ff:ff:ff:ff:ff\n"
            "    altname enp0s5\n")
    row = ip_link(text).iloc[0]
    assert row["xdp"] == "xdpgeneric" and row["mtu"] == 9001 and row["altnames"] == ["enp0s5"]


# --- ip route / route -n --------------------------------------------------------------------

def test_ip_route_in_a_pod_goes_via_the_cilium_host_address():
    df = parsed("ip-route-pod.txt")
    default = df[df["dst"] == "default"].iloc[0]
    assert default["gateway"] == "172.16.1.254" and default["dev"] == "eth0"
    assert default["prefix_len"] == 0 and default["mtu"] == 1450
    host = df[df["dst"] == "172.16.1.254"].iloc[0]
    assert host["prefix_len"] == 32 and host["scope"] == "link" and pd.isna(host["gateway"])


def test_ip_route_fills_in_what_iproute2_leaves_out():
    df = parsed("ip-route-table-all.txt")
    assert len(df) == 31
    first = df.iloc[0]
    assert (first["table"], first["type"], first["protocol"], first["metric"]) == \
        ("100", "unicast", "boot", 0)
    assert set(df["type"]) == {"unicast", "local", "broadcast", "blackhole", "multicast"}
    node = df[df["dst"] == "172.16.1.0"].iloc[0]
    assert node["src"] == "172.16.1.254" and node["dev"] == "cilium_host"
    v6 = df[df["dst"] == "fd00:10:2::"].iloc[0]
    assert v6["metric"] == 1024 and v6["prefix_len"] == 64


def test_ip_j_route_matches_the_text_form():
    js, text = parsed("ip-j-route.json"), parsed("ip-route-table-all.txt")
    assert js.attrs["parser"] == "ip_route_json"
    cols = ["dst", "prefix_len", "gateway", "dev", "protocol", "scope", "src", "metric",
            "table", "type", "mtu"]
    assert js[cols].equals(text[cols])


def test_ip_route_gives_one_row_per_nexthop_of_an_ecmp_route():
    # invented from iproute2's format (ip/iproute.c print_rta_multipath)
    text = ("10.0.0.0/24 proto static metric 20 \n"
            "\tnexthop via 192.168.10.1 dev ens5 weight 1 \n"
            "\tnexthop via 192.168.10.2 dev ens5 weight 1 onlink\n")
    df = ip_route(text)
    assert list(df["gateway"]) == ["192.168.10.1", "192.168.10.2"]
    assert list(df["metric"]) == [20, 20] and df.iloc[1]["flags"] == ["onlink"]


def test_ip_route_rejects_an_unknown_word():
    with pytest.raises(ParseError) as e:
        labkit.parse("ip route", "default via 10.0.0.1 dev eth0\n10.1.0.0/16 frobnicate 3\n")
    assert "line 2" in str(e.value) and "frobnicate" in str(e.value)


def test_route_n_in_the_pod_matches_ip_route():
    df = parsed("route-n-pod.txt")
    assert df.attrs["parser"] == "route_table"
    cols = ["dst", "prefix_len", "gateway", "dev"]
    assert df[cols].equals(parsed("ip-route-pod.txt")[cols])
    assert df.iloc[0]["flags"] == ["U", "G"]


def test_route_n_reads_genmask_as_a_prefix_length_and_star_as_no_device():
    df = parsed("route-n.txt").set_index("dst")
    assert df.loc["172.16.1.10", "prefix_len"] == 32
    assert df.loc["10.255.0.0", "prefix_len"] == 16 and pd.isna(df.loc["10.255.0.0", "dev"])
    assert df.loc["default", "metric"] == 100


def test_route_n_grep_rows_parse_without_the_header_and_bad_rows_raise():
    rows = "0.0.0.0         172.16.1.254    0.0.0.0         UG    0      0        0 eth0\n"
    assert labkit.parse("route -n | grep UG", rows).iloc[0]["gateway"] == "172.16.1.254"
    with pytest.raises(ParseError, match="line 1"):
        route_table("0.0.0.0 172.16.1.254 0.0.0.0 UG zero 0 0 eth0\n")


# --- ip neigh -------------------------------------------------------------------------------

def test_ip_c_neigh_in_the_pod_shows_the_gateway_with_the_lxc_mac():
    df = parsed("ip-c-neigh-pod.txt")
    gateway = df.set_index("ip").loc["172.16.1.254"]
    assert gateway["dev"] == "eth0" and gateway["state"] == "REACHABLE"
    lxc_mac = parsed("ip-addr-show-dev-lxc.txt")["mac"].iloc[0]
    assert gateway["mac"] == lxc_mac


def test_ip_neigh_reads_failed_entries_and_the_router_flag():
    df = parsed("ip-neigh.txt").set_index("ip")
    assert df.loc["172.16.1.99", "state"] == "FAILED" and pd.isna(df.loc["172.16.1.99", "mac"])
    assert bool(df.loc["fd00:192::1", "router"]) and not bool(df.loc["192.168.10.1", "router"])
    assert df.loc["192.168.10.1", "state"] == "PERMANENT"


def test_ip_br_neigh_and_ip_j_neigh_agree_with_the_text_form():
    text = parsed("ip-neigh.txt")
    brief = parsed("ip-br-neigh.txt")
    assert brief[["ip", "dev", "mac"]].equals(text[["ip", "dev", "mac"]])
    assert brief["state"].isna().all()
    js = parsed("ip-j-neigh.json")
    assert js.attrs["parser"] == "ip_neigh_json"
    assert js[["ip", "dev", "mac", "state", "router"]].equals(
        text[["ip", "dev", "mac", "state", "router"]])


def test_ip_neigh_rejects_an_unknown_word():
    with pytest.raises(ParseError) as e:
        ip_neigh("10.0.0.1 dev eth0 lladdr aa:bb:cc:dd:ee:ff SLEEPY\n")
    assert "SLEEPY" in str(e.value) and "line 1" in str(e.value)


# --- every local capture --------------------------------------------------------------------

@pytest.mark.parametrize("name", MINE)
def test_every_local_capture_parses_into_typed_rows(name):
    df = parsed(name)
    assert len(df) > 0
    key = next(k for k in ("address", "dst", "ip", "ifname") if k in df.columns)
    assert df[key].notna().any()
    assert df.attrs["raw"] == local(name).text


def test_ip_d_addr_reads_addresses_past_the_details_lines():
    df = parsed("ip-d-addr.txt")
    host = df[df["ifname"] == "cilium_host"]
    assert list(host["address"]) == ["172.16.1.254"] and host.iloc[0]["peer"] == "cilium_net"
    assert df[df["ifname"] == "cilium_net"]["address"].isna().all()
