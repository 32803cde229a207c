"""Tests for labkit.parsers.cilium_endpoints: endpoint list, identity list, ip list."""

from __future__ import annotations

import pandas as pd
import pytest

import labkit
from labkit.parsers import (
    endpoint_list,
    endpoint_list_json,
    identity_list,
    identity_list_json,
    ip_list,
    ip_list_json,
    parse,
)
from tests.outputs import ROOT, load, real, real_dir, real_ids

INVENTED = ROOT / "tests" / "fixtures" / "invented"

ENDPOINT_COLUMNS = ["endpoint_id", "ingress_enforcement", "egress_enforcement", "identity",
                    "labels", "ipv6", "ipv4", "status"]


# --- cilium endpoint list ------------------------------------------------------------

@pytest.mark.parametrize("name", real_ids("cilium-endpoint-list"))
def test_every_real_endpoint_list_parses_with_typed_ids(name):
    out = real(f"cilium-endpoint-list/{name}")
    df = parse(out.command, out.text)
    assert list(df.columns) == ENDPOINT_COLUMNS
    assert len(df) >= 2
    assert str(df["endpoint_id"].dtype) == "Int64"
    assert df["endpoint_id"].notna().all()
    assert all(len(labels) >= 1 for labels in df["labels"])


def test_endpoint_list_gathers_continuation_labels():
    df = parse(*_cmd_text("cilium-endpoint-list/swdemo-no-policy.txt"))
    assert len(df) == 8
    deathstar = df[df["endpoint_id"] == 232].iloc[0]
    assert deathstar["identity"] == 16530
    assert deathstar["labels"] == [
        "k8s:class=deathstar", "k8s:io.cilium.k8s.policy.cluster=default",
        "k8s:io.cilium.k8s.policy.serviceaccount=default",
        "k8s:io.kubernetes.pod.namespace=default", "k8s:org=empire"]
    assert deathstar["ipv4"] == "10.0.0.147"
    assert pd.isna(deathstar["ipv6"])


def test_endpoint_list_reads_audit_mode_and_blank_addresses():
    df = parse(*_cmd_text("cilium-endpoint-list/hostfw-doc-audit.txt"))
    host = df[df["endpoint_id"] == 1687].iloc[0]
    assert host["ingress_enforcement"] == "Disabled (Audit)"
    assert host["egress_enforcement"] == "Disabled"
    assert host["labels"] == ["k8s:node-access=ssh", "reserved:host"]
    assert pd.isna(host["ipv4"]) and pd.isna(host["ipv6"])
    assert df[df["endpoint_id"] == 3362].iloc[0]["ipv6"] == "f00d::a0b:0:0:49cf"


def test_endpoint_list_enabled_policy_column():
    df = parse(*_cmd_text("cilium-endpoint-list/swdemo-policy-enabled.txt"))
    enabled = df[df["ingress_enforcement"] == "Enabled"]["endpoint_id"].tolist()
    assert enabled == [232, 2843]


def test_old_single_enforcement_column_fills_ingress_only():
    df = parse(*_cmd_text("cilium-endpoint-list/devsetup-old-not-ready.txt"))
    assert df["ingress_enforcement"].tolist() == ["Disabled", "Disabled"]
    assert df["egress_enforcement"].isna().all()
    assert df["status"].tolist() == ["not-ready", "not-ready"]
    assert df.iloc[0]["ipv6"] == "fd02::c0a8:210b:0:bf00"


def test_endpoint_list_with_trailing_padding():
    df = parse(*_cmd_text("cilium-endpoint-list/envoy-doc-docker-trailing-spaces.txt"))
    assert df["identity"].tolist() == [31423, 4, 18253]
    assert df["status"].tolist() == ["ready"] * 3


def test_grep_filtered_endpoint_list_keeps_orphan_label_rows():
    text = ("232        Disabled           Disabled          16530      k8s:class=deathstar"
            "                                      10.0.0.147   ready\n"
            "                                                           k8s:org=empire\n")
    df = parse("c0 endpoint list | grep -e deathstar -e empire", text)
    assert df.iloc[0]["labels"] == ["k8s:class=deathstar", "k8s:org=empire"]
    orphan = parse("c0 endpoint list | grep empire", text.splitlines()[1])
    assert pd.isna(orphan.iloc[0]["endpoint_id"])
    assert orphan.iloc[0]["labels"] == ["k8s:org=empire"]


def test_endpoint_list_no_labels_and_no_address():
    text = "99   Unknown   Unknown   <no label id>   no labels   No address   No address   " \
           "waiting-for-identity\n"
    row = endpoint_list(text).iloc[0]
    assert row["labels"] == [] and pd.isna(row["identity"]) and pd.isna(row["ipv4"])
    assert row["status"] == "waiting-for-identity"


def test_endpoint_list_bad_line_raises_with_line_number():
    text = ("ENDPOINT   POLICY (ingress)   POLICY (egress)   IDENTITY   LABELS\n"
            "this is not an endpoint\n")
    with pytest.raises(labkit.ParseError) as e:
        endpoint_list(text)
    assert e.value.line_number == 2
    assert "this is not an endpoint" in str(e.value)


def test_endpoint_list_empty_output_has_the_columns():
    df = endpoint_list("")
    assert list(df.columns) == ENDPOINT_COLUMNS and len(df) == 0


def test_endpoint_list_json_invented_fixture():
    # Invented fixture: no real `endpoint list -o json` was found (shape: FORMATS.md sec. 2).
    out = load(INVENTED / "cilium-endpoint-list.json")
    df = parse(out.command, out.text)
    assert df.attrs["parser"] == "endpoint_list_json"
    assert list(df.columns[:8]) == ENDPOINT_COLUMNS
    netpod = df.iloc[0]
    assert netpod["endpoint_id"] == 1530 and netpod["identity"] == 21334
    assert netpod["ingress_enforcement"] == "Enabled"
    assert netpod["egress_enforcement"] == "Disabled"
    assert netpod["labels"] == ["k8s:app=netpod", "k8s:io.kubernetes.pod.namespace=default"]
    assert netpod["ipv4"] == "172.16.0.171" and pd.isna(netpod["ipv6"])
    assert (netpod["namespace"], netpod["pod_name"]) == ("default", "netpod")
    assert netpod["interface_name"] == "lxc2f6b0c7c1a3e" and netpod["interface_index"] == 14
    assert netpod["node_mac"] == "8e:1c:5a:2b:77:01"
    host = df.iloc[1]
    assert host["ingress_enforcement"] == "Disabled (Audit)" and host["identity"] == 1
    assert pd.isna(host["ipv4"])


def test_endpoint_list_json_rejects_wrong_shapes():
    with pytest.raises(labkit.ParseError):
        endpoint_list_json('{"id": "x"}')
    with pytest.raises(labkit.ParseError):
        endpoint_list_json("[1, 2")
    assert len(endpoint_list_json("[]")) == 0


# --- cilium identity list ----------------------------------------------------------

def test_identity_list_real_doc_output():
    out = real("cilium-identity-list/dbgdoc.txt")
    df = parse(out.command, out.text)
    assert len(df) == 8  # the '...' elision line is skipped
    assert df["identity"].tolist()[:6] == [1, 2, 3, 4, 5, 6]
    xwing = df[df["identity"] == 323].iloc[0]
    assert xwing["labels"][0] == "k8s:class=xwing" and len(xwing["labels"]) == 5
    assert df[df["identity"] == 16777217].iloc[0]["labels"] == ["fqdn:*", "reserved:world"]


def test_identity_list_errors_and_empty():
    with pytest.raises(labkit.ParseError) as e:
        identity_list("ID   LABELS\nabc  def ghi\n")
    assert e.value.line_number == 2
    assert list(identity_list("").columns) == ["identity", "labels"]


def test_identity_list_json_invented_fixture():
    # Invented fixture: shape from cilium-dbg/cmd/identity_list.go (Identity model).
    out = load(INVENTED / "cilium-identity-list.json")
    df = parse(out.command, out.text)
    assert df["identity"].tolist() == [1, 12345]
    assert df.iloc[1]["labels"] == ["k8s:app=webpod", "k8s:io.kubernetes.pod.namespace=default"]
    with pytest.raises(labkit.ParseError):
        identity_list_json('[{"id": 1, "labels": "reserved:host"}]')


# --- cilium ip list ----------------------------------------------------------------

@pytest.mark.parametrize("name", real_ids("cilium-ip-list"))
def test_every_real_ip_list_parses(name):
    out = real(f"cilium-ip-list/{name}")
    df = parse(out.command, out.text)
    assert len(df) == 14
    assert str(df["prefix_len"].dtype) == "Int64"


def test_ip_list_splits_prefix_and_reads_identity_and_source():
    df = parse(*_cmd_text("cilium-ip-list/v1.8-dev-pr11566-example.txt"))
    world = df.iloc[0]
    assert (world["ip"], world["prefix_len"], world["identity"]) == ("0.0.0.0", 0, 2)
    assert pd.isna(world["source"])
    pod = df[df["ip"] == "10.29.2.92"].iloc[0]
    assert pod["identity"] == 51185 and pod["source"] == "k8s" and pod["prefix_len"] == 32


def test_ip_list_label_identities_and_verbose_columns():
    text = ("IP                 IDENTITY                       SOURCE   HOST   ENCRYPT_KEY\n"
            "0.0.0.0/0          reserved:world                 custom-resource          0\n"
            "172.16.1.234/32    k8s:app=webpod                 k8s      192.168.10.101   0\n"
            "                   k8s:io.kubernetes.pod.namespace=default\n"
            "192.168.10.10/32   host                           0\n")
    df = ip_list(text)
    assert df.iloc[0]["identity"] == 2 and df.iloc[0]["source"] == "custom-resource"
    assert df.iloc[1]["labels"] == ["k8s:app=webpod", "k8s:io.kubernetes.pod.namespace=default"]
    assert df.iloc[1]["host_ip"] == "192.168.10.101" and df.iloc[1]["encrypt_key"] == 0
    assert pd.isna(df.iloc[1]["identity"])
    assert df.iloc[2]["labels"] == ["reserved:host"] and df.iloc[2]["identity"] == 1


def test_ip_list_grep_filtered_and_errors():
    df = parse("c0 ip list -n | grep 10.29.2.92", "10.29.2.92/32      51185      k8s\n")
    assert df.iloc[0]["identity"] == 51185
    with pytest.raises(labkit.ParseError) as e:
        ip_list("IP   IDENTITY   SOURCE\n10.0.0.1/xx   5\n")
    assert e.value.line_number == 2
    assert len(ip_list("")) == 0 and "encrypt_key" in ip_list("").columns


def test_ip_list_json_invented_fixture():
    # Invented fixture: shape from cilium-dbg/cmd/ip_list.go (IPListEntry model).
    out = load(INVENTED / "cilium-ip-list.json")
    df = parse(out.command, out.text)
    assert df.attrs["parser"] == "ip_list_json"
    pod = df.iloc[1]
    assert (pod["ip"], pod["prefix_len"], pod["identity"]) == ("172.16.1.234", 32, 12345)
    assert (pod["namespace"], pod["pod_name"], pod["host_ip"]) == (
        "default", "webpod1", "192.168.10.101")
    with pytest.raises(labkit.ParseError):
        ip_list_json('[{"identity": 2}]')


def _cmd_text(relpath: str) -> tuple[str, str]:
    out = real(relpath)
    return out.command, out.text


def test_real_dirs_exist_for_this_module():
    assert real_dir("cilium-endpoint-list")
