"""Tests of the service parsers: `cilium service list|get`, `cilium bpf lb list` (and its
--revnat/--frontends/--backends views) and `cilium map get` of the lb4 maps."""

from __future__ import annotations

import pytest

import labkit
from labkit import ParseError
from labkit.parsers import (
    bpf_lb_list,
    bpf_lb_list_backends,
    bpf_lb_list_frontends,
    bpf_lb_list_revnat,
    lb4_backends_map,
    lb4_reverse_nat_map,
    lb4_reverse_sk_map,
    lb4_services_map,
    service_list,
)
from tests.outputs import ROOT, load, real, real_ids, seed

INVENTED = ROOT / "tests" / "fixtures" / "invented"


# --- cilium service list ---------------------------------------------------------------


def test_service_list_splits_frontend_address_and_port():
    out = seed("cilium-service-list")
    df = labkit.parse(out.command, out.text)
    assert list(df["service_id"]) == [16, 16]
    assert set(df["frontend_ip"]) == {"10.108.12.195"}
    assert set(df["frontend_port"]) == {80}
    assert str(df["frontend_port"].dtype) == "Int64"
    assert list(df["backend_ip"]) == ["172.16.2.157", "172.16.1.234"]
    assert list(df["backend_id"]) == [1, 2]
    assert df["service_type"].tolist() == ["ClusterIP", "ClusterIP"]
    assert df["backend_state"].isna().all()  # 1.16.3 seed prints no state


@pytest.mark.parametrize("name", real_ids("cilium-service-list"))
def test_service_list_reads_every_real_output(name):
    out = real(f"cilium-service-list/{name}")
    df = labkit.parse(out.command, out.text)
    assert len(df) == out.text.count("=>")
    assert df["backend_port"].notna().all()
    assert str(df["service_id"].dtype) == "Int64"


def test_service_list_reads_states_and_the_117_protocol_suffix():
    df = service_list(real("cilium-service-list/v1.12-dev-pr18814-quarantined.txt").text)
    assert df["backend_state"].tolist() == ["quarantined", "active", "active"]
    df = service_list(real("cilium-service-list/dev-2026-pr44301-kind-udp-tcp.txt").text)
    dns = df[(df["frontend_ip"] == "10.96.0.10") & (df["frontend_port"] == 53)]
    assert sorted(dns["protocol"]) == ["TCP", "TCP", "UDP", "UDP"]


def test_service_get_uses_the_service_list_parser():
    out = real("cilium-service-list/v1.14-dev-pr24136-service-get-maintenance.txt")
    df = labkit.parse(out.command, out.text)
    assert df["backend_state"].tolist() == ["active", "maintenance", "active"]
    assert set(df["service_id"]) == {3043}


def test_service_list_without_header_parses_rows():
    out = real("cilium-service-list/v1.18.0-excerpt-one-service.txt")
    df = service_list(out.text)
    assert df["backend_ip"].tolist() == ["172.20.0.140", "172.20.1.213", "172.20.2.43"]
    assert set(df["protocol"]) == {"TCP"}


def test_service_list_grep_of_a_backend_row_keeps_the_backend():
    df = labkit.parse("c0 service list | grep 172.16.1.234",
                      "                                          2 => 172.16.1.234:80\n")
    assert df["backend_ip"].tolist() == ["172.16.1.234"]
    assert df["service_id"].isna().all()


def test_service_list_old_table_without_service_type_and_service_without_backends():
    text = ("ID   Frontend            Backend\n"
            "1    10.96.0.1:443       1 => 192.168.33.11:6443\n"
            "2    10.96.0.10:53\n")
    df = service_list(text)
    assert df["service_type"].isna().all()
    assert df["backend_ip"].tolist()[0] == "192.168.33.11"
    assert df.loc[1, "frontend_port"] == 53 and df["backend_ip"].isna()[1]


def test_service_list_newest_table_without_id_and_preferred_backend():
    text = ("Frontend            Service Type         Backend\n"
            "10.96.0.1:443/TCP   ClusterIP (Remote)   "
            "1 => 172.19.0.2:6443/TCP (active) (preferred)\n")
    df = service_list(text)
    assert df["service_id"].isna().all()
    assert df.loc[0, "service_type"] == "ClusterIP (Remote)"
    assert bool(df.loc[0, "preferred"])


def test_service_list_bad_line_raises_with_number_and_text():
    text = "ID   Frontend   Service Type   Backend\n16   not-an-address   ClusterIP\n"
    with pytest.raises(ParseError) as err:
        service_list(text)
    assert err.value.line_number == 2
    assert "not-an-address" in str(err.value)


def test_service_list_empty_output_has_the_columns():
    df = service_list("")
    assert len(df) == 0
    assert list(df.columns) == ["service_id", "frontend_ip", "frontend_port", "protocol",
                                "service_type", "backend_id", "backend_ip", "backend_port",
                                "backend_state", "preferred"]


def test_service_list_json_uses_status_realized():
    # Invented fixture: shape from ../shared/FORMATS.md section 1 (no real capture exists).
    out = load(INVENTED / "cilium-service-list.json")
    df = labkit.parse(out.command, out.text)
    svc = df[df["service_id"] == 16]
    assert svc["backend_ip"].tolist() == ["172.16.2.157", "172.16.1.234"]  # not spec's 3
    assert svc["backend_state"].tolist() == ["active", "terminating"]
    assert svc["preferred"].tolist() == [False, True]
    assert set(svc["protocol"]) == {"TCP"} and set(svc["name"]) == {"svc"}
    dns = df[df["service_id"] == 3]
    assert len(dns) == 1 and dns["backend_ip"].isna().all()
    assert dns.iloc[0]["namespace"] == "kube-system" and dns.iloc[0]["protocol"] == "UDP"
    assert set(service_list(seed("cilium-service-list").text).columns) < set(df.columns)


def test_service_list_json_that_is_not_services_raises():
    with pytest.raises(ParseError):
        labkit.parse("cilium service list -o json", '{"spec": {"flags": [1]}}')


# --- cilium bpf lb list ----------------------------------------------------------------


def test_bpf_lb_list_seed_grouped_rows_share_the_frontend():
    out = seed("cilium-bpf-lb-list")
    df = labkit.parse(out.command, out.text)
    assert len(df) == 3
    assert set(df["frontend_ip"]) == {"10.108.12.195"} and set(df["frontend_port"]) == {80}
    master = df[df["is_master"]]
    assert len(master) == 1
    assert master.iloc[0]["service_type"] == "ClusterIP"
    assert master.iloc[0]["flags"] == "ClusterIP, non-routable"
    assert sorted(df[~df["is_master"]]["backend_ip"]) == ["172.16.1.234", "172.16.2.157"]
    assert set(df["revnat_id"]) == {16}
    assert df["slot"].isna().all()


@pytest.mark.parametrize("name", real_ids("cilium-bpf-lb-list"))
def test_bpf_lb_list_reads_every_real_output(name):
    out = real(f"cilium-bpf-lb-list/{name}")
    df = labkit.parse(out.command, out.text)
    assert len(df) == len([line for line in out.text.splitlines()
                           if line.strip() and "ADDRESS" not in line])
    assert str(df["revnat_id"].dtype) == "Int64"
    assert df["is_master"].sum() >= 1


def test_bpf_lb_list_118_grep_has_per_slot_keys():
    out = real("cilium-bpf-lb-list/v1.18.0-grep-one-service.txt")
    df = labkit.parse(out.command, out.text).sort_values("slot")
    assert df["slot"].tolist() == [0, 1, 2, 3]
    assert df["backend_slot"].tolist() == [0, 1, 2, 3]
    assert df["backend_ip"].tolist()[1:] == ["172.20.0.140", "172.20.1.213", "172.20.2.43"]
    assert set(df["protocol"]) == {"TCP"} and set(df["revnat_id"]) == {20}


def test_bpf_lb_list_2019_flags_master_row_and_pointer_annotation():
    out = real("cilium-bpf-lb-list/v1.6-2019-issue9684-flags.txt")
    df = bpf_lb_list(out.text)
    first = df.iloc[0]
    assert (first["frontend_ip"], first["frontend_port"]) == ("10.98.23.248", 8080)
    assert first["is_master"] and first["flags"] == "FLAGS: NONE"
    assert df["service_type"].isna().all()


def test_bpf_lb_list_internal_frontend_ipv6_and_missing_backend():
    text = ("SERVICE ADDRESS               BACKEND ADDRESS (REVNAT_ID) (SLOT)\n"
            "0.0.0.0:32179/TCP/i (0)       0.0.0.0:0 (7) (0) [NodePort, Local]   \n"
            "[fd00::a]:53/UDP (1)          [fd00::44]:53/UDP (9) (1)\n"
            "10.96.0.5:80/TCP (2)          backend 31 not found\n")
    df = bpf_lb_list(text)
    assert df["internal"].tolist() == [True, False, False]
    assert df.loc[0, "service_type"] == "NodePort"
    assert (df.loc[1, "frontend_ip"], df.loc[1, "backend_ip"]) == ("fd00::a", "fd00::44")
    assert df.loc[2, "flags"] == "backend 31 not found" and df["backend_ip"].isna()[2]


def test_bpf_lb_list_bad_line_raises_with_number_and_text():
    text = "SERVICE ADDRESS   BACKEND ADDRESS\n10.0.0.1:80       what is this\n"
    with pytest.raises(ParseError) as err:
        bpf_lb_list(text)
    assert err.value.line_number == 2 and "what is this" in str(err.value)


def test_bpf_lb_list_empty_output_has_the_columns():
    df = bpf_lb_list("")
    assert len(df) == 0 and "is_master" in df.columns and "backend_slot" in df.columns


def test_bpf_lb_list_json_reads_the_same_strings():
    # Invented fixture: shape from ../shared/FORMATS.md section 3 (no real capture exists).
    out = load(INVENTED / "cilium-bpf-lb-list.json")
    df = labkit.parse(out.command, out.text)
    assert list(df.columns) == list(bpf_lb_list("").columns)
    assert len(df) == 5
    kube = df[df["frontend_ip"] == "10.96.0.1"].sort_values("slot")
    assert kube["backend_ip"].tolist() == ["0.0.0.0", "172.19.0.2"]
    assert kube["is_master"].tolist() == [True, False]
    assert df[df["frontend_port"] == 32179]["internal"].all()
    v6 = df[df["protocol"] == "UDP"].iloc[0]
    assert (v6["frontend_ip"], v6["backend_ip"]) == ("fd00:10:96::a", "fd00:10:244:1::69")


def test_bpf_lb_list_json_of_another_shape_raises():
    with pytest.raises(ParseError):
        labkit.parse("cilium bpf lb list -o json", '["10.96.0.1:443"]')


def test_bpf_lb_list_revnat_form():
    # Format from cilium-dbg/cmd/bpf_lb_list.go (title) and RevNat4Value.String().
    text = ("ID   BACKEND ADDRESS (REVNAT_ID) (SLOT)\n"
            "16   10.108.12.195:80\n"
            "1    10.96.0.1:443\n")
    df = labkit.parse("c0 bpf lb list --revnat", text)
    assert df.columns.tolist() == ["revnat_id", "frontend_ip", "frontend_port", "protocol"]
    assert df.loc[0].tolist()[:3] == [16, "10.108.12.195", 80]
    assert labkit.parse("c0 bpf lb list --revnat -o json",
                        '{"16": ["10.108.12.195:80"]}')["revnat_id"].tolist() == [16]
    with pytest.raises(ParseError):
        bpf_lb_list_revnat("16   not-an-address\n")


def test_bpf_lb_list_frontends_and_backends_forms():
    # Formats from Service4Value.String() and Backend4ValueV3.String() (Cilium source).
    fronts = labkit.parse("cilium bpf lb list --frontends",
                          "SERVICE ADDRESS           BACKEND ID\n"
                          "10.96.32.212:80/TCP (0)   0 3[0] (20) [0x0 0x0]\n"
                          "10.96.32.212:80/TCP (1)   16 0[0] (20) [0x0 0x0]\n")
    assert fronts["backend_count"].tolist() == [3, 0]
    assert fronts["is_master"].tolist() == [True, False]
    assert fronts["backend_id"].tolist() == [0, 16]
    backs = labkit.parse("cilium bpf lb list --backends",
                         "ID   BACKEND ADDRESS (REVNAT_ID) (SLOT)\n"
                         "16   TCP://172.20.0.140\n"
                         "17   UDP://10.0.0.9:53@2\n")
    assert backs["backend_ip"].tolist() == ["172.20.0.140", "10.0.0.9"]
    assert backs["backend_port"].isna().tolist() == [True, False]
    assert backs["cluster_id"].tolist()[1] == 2
    assert bpf_lb_list_frontends("").columns.tolist()[-1] == "flags2"
    assert len(bpf_lb_list_backends("")) == 0


# --- cilium map get <lb4 map> ----------------------------------------------------------


def test_lb4_services_map_real_118_grep():
    out = real("cilium-map-get/v1.18.0-lb4-services-v2-grep.txt")
    df = labkit.parse(out.command, out.text)
    assert df.attrs["parser"] == "lb4_services_map"
    assert df["slot"].tolist() == [0, 1, 2, 3]
    assert df["backend_id"].tolist() == [0, 16, 14, 15]
    assert df.loc[0, "backend_count"] == 3 and set(df["revnat_id"]) == {20}
    assert df["state"].isna().all()


def test_lb4_services_map_older_value_forms_and_state_column():
    text = ("Key                Value                   State   Error\n"
            "10.96.0.1:443      0 1 (1) [0x0 0x0]       sync\n"
            "10.96.0.10:53      5 (2) [FLAGS: 0x4]      sync    map full\n")
    df = lb4_services_map(text)
    assert df["state"].tolist() == ["sync", "sync"]
    assert df["error"].tolist() == [None, "map full"]
    assert df["flags"].tolist() == [0, 4] and df["slot"].isna().all()


def test_lb4_backends_reverse_nat_and_reverse_sk_maps():
    # Rows as printed by Cilium 1.18 (`cilium-dbg map get ...`, Cilium study notes, 2025).
    backs = labkit.parse("c0 map get cilium_lb4_backends_v3",
                         "Key   Value                  State   Error\n"
                         "33    TCP://172.20.0.139\n"
                         "29    UDP://172.20.0.244\n")
    assert backs["backend_id"].tolist() == [33, 29]
    assert backs["protocol"].tolist() == ["TCP", "UDP"]
    v2 = labkit.parse("c0 map get cilium_lb4_backends_v2", "7   TCP://10.0.0.9:8080   sync\n")
    assert v2.loc[0, "backend_port"] == 8080 and v2.loc[0, "state"] == "sync"
    rev = labkit.parse("c0 map get cilium_lb4_reverse_nat",
                       "Key   Value                  State   Error\n4     10.96.155.166:80\n")
    assert rev.loc[0].tolist()[:3] == [4, "10.96.155.166", 80]
    sk = labkit.parse("c0 map get cilium_lb4_reverse_sk",
                      "[172.19.0.5]:11033, 19176649   [10.96.0.1]:-17663, 256   sync\n")
    assert sk.loc[0, "socket_cookie"] == 19176649 and sk.loc[0, "frontend_ip"] == "10.96.0.1"
    assert len(lb4_reverse_sk_map("Cache is disabled\n\n")) == 0
    assert len(lb4_backends_map("Cache is empty\n")) == 0


def test_lb4_map_bad_line_raises_with_number():
    with pytest.raises(ParseError) as err:
        lb4_reverse_nat_map("Key   Value   State   Error\nfour   10.96.0.1:443\n")
    assert err.value.line_number == 2 and "four" in str(err.value)
