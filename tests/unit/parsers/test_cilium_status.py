"""cilium status (agent and cilium-cli), status -o json, config view, hubble status."""

from __future__ import annotations

import pytest

import labkit
from labkit import ParseError
from labkit.parsers import (
    cilium_status,
    cilium_status_json,
    config_view,
    hubble_status,
    hubble_status_json,
    nested,
)
from tests.outputs import ROOT, load, real, real_ids, seed

INVENTED = ROOT / "tests" / "fixtures" / "invented"


def invented(name: str):
    return load(INVENTED / name)


def _value(df, section, key):
    hits = df[(df["section"] == section) & (df["key"] == key)]["value"].tolist()
    assert len(hits) == 1, (section, key, hits)
    return hits[0]


def test_status_verbose_reads_kpr_details_and_services_subsection():
    out = seed("cilium-status-verbose")
    df = labkit.parse(out.command, out.text)
    assert list(df.columns) == ["section", "key", "value"]
    assert _value(df, "KubeProxyReplacement Details", "Socket LB") == "Enabled"
    assert _value(df, "KubeProxyReplacement Details / Services", "NodePort") == (
        "Enabled (Range: 30000-32767)")
    assert _value(df, "", "BPF Maps") == "dynamic sizing: on (ratio: 0.002500)"
    assert _value(df, "", "Routing") == "Network: Native Host: BPF"


def test_status_allocated_addresses_give_address_as_key_and_owner_as_value():
    out = seed("cilium-status-verbose")
    df = labkit.parse(out.command, out.text)
    addresses = df[df["section"] == "Allocated addresses"]
    assert dict(zip(addresses["key"], addresses["value"], strict=True)) == {
        "172.16.0.159": "router", "172.16.0.171": "health"}


def test_status_nested_gives_a_dict_of_sections():
    out = seed("cilium-status-verbose-kpr")
    tree = nested(labkit.parse(out.command, out.text))
    assert tree["KubeProxyReplacement Details"]["Services"]["HostPort"] == "Enabled"
    assert tree["KubeProxyReplacement Details"]["Mode"] == "SNAT"


def test_status_grep_line_that_lost_its_first_letter_is_repaired():
    out = seed("cilium-status-grep-kpr")
    df = labkit.parse(out.command, out.text)
    assert df.to_dict("records") == [{
        "section": "", "key": "KubeProxyReplacement",
        "value": "True [ens5 192.168.10.10 fe80::57:abff:fee3:da8d (Direct Routing)]"}]


@pytest.mark.parametrize("name", ["cilium-status-verbose-grep-masq",
                                  "cilium-status-verbose-grep-masq-agent"])
def test_status_grep_masquerading_keeps_the_mode(name):
    out = seed(name)
    df = labkit.parse(out.command, out.text)
    assert len(df) == 1
    assert _value(df, "", "Masquerading").startswith("BPF")


def test_status_grep_of_indented_lines_places_them_in_their_section():
    text = ("  Socket LB:              Enabled\n"
            "  - NodePort:       Enabled (Range: 30000-32767) \n"
            "  172.16.0.159 (router)\n")
    df = cilium_status(text)
    assert _value(df, "KubeProxyReplacement Details", "Socket LB") == "Enabled"
    assert _value(df, "KubeProxyReplacement Details / Services", "NodePort") == (
        "Enabled (Range: 30000-32767)")
    assert _value(df, "Allocated addresses", "172.16.0.159") == "router"


def test_status_verbose_1_13_tables_become_sections():
    out = real("cilium-status/v1.13.4-eks-eni-verbose.txt")
    df = labkit.parse(out.command, out.text)
    assert _value(df, "Controller Status / endpoint-gc", "Last success") == "3m12s ago"
    assert _value(df, "Controller Status / sync-to-k8s-ciliumendpoint (200)", "Count") == "0"
    assert len(df[df["section"].str.startswith("Controller Status / ")]) == 26 * 4
    assert _value(df, "BPF Maps", "IP cache") == "512000"
    assert _value(df, "Cluster health / ip-192-168-43-133.ec2.internal", "IP") == (
        "192.168.43.133")
    assert _value(df, "Allocated addresses", "192.168.28.58") == "router"
    assert _value(df, "", "Clock Source for BPF") == "jiffies [250 Hz]"


@pytest.mark.parametrize("name", real_ids("cilium-status"))
def test_every_real_agent_status_parses(name):
    out = real(f"cilium-status/{name}")
    df = labkit.parse(out.command, out.text)
    assert len(df) >= 12
    assert not df["key"].isna().any()
    top = df[df["section"] == ""]
    if "KubeProxyReplacement" in set(top["key"]):
        assert _value(df, "", "KubeProxyReplacement").split()[0] in (
            "Probe", "Strict", "Disabled", "True", "False")
    else:  # the doc excerpt that shows only the details block
        assert _value(df, "KubeProxyReplacement Details", "Status") == "True"


@pytest.mark.parametrize("name", real_ids("cilium-cli-status"))
def test_cilium_cli_status_is_recognised_by_its_logo_and_table(name):
    out = real(f"cilium-cli-status/{name}")
    df = labkit.parse(out.command, out.text)
    assert _value(df, "", "Cilium") == "OK"
    assert _value(df, "", "Envoy DaemonSet") == "disabled (using embedded mode)"
    assert _value(df, "Deployment", "cilium-operator") == "Desired: 2, Ready: 2/2, Available: 2/2"
    assert _value(df, "Containers", "cilium") == "Running: 2"
    assert _value(df, "", "Cluster Pods") == "4/4 managed by Cilium"
    images = df[df["section"] == "Image versions"]
    assert len(images) == 5
    assert (images["key"] == "hubble-ui").sum() == 2


def test_status_verbose_modules_health_tree_and_newer_blocks():
    out = invented("cilium-status-verbose-modules-health.txt")  # invented: see its header
    df = labkit.parse(out.command, out.text)
    assert _value(df, "", "Modules Health") == "Stopped(0) Degraded(1) OK(3)"
    assert _value(df, "Modules Health / agent / controlplane / envoy-proxy",
                  "timer-job-version-check") == "[DEGRADED] timer job errored (1m, x3)"
    assert _value(df, "Modules Health / agent / datapath / l2-responder",
                  "job-l2-responder-reconciler") == "[OK] Running (5m, x1)"
    assert _value(df, "NodeMonitor", "events lost") == "3"
    assert _value(df, "KubeProxyReplacement Details / NAT46/64 Support", "Prefixes") == (
        "64:ff9b::/96")
    assert _value(df, "KubeProxyReplacement Details", "XDP Acceleration") == "Native"
    assert _value(df, "Proxy Status / 1207:egress:UDP:53", "Proxy Port") == "12001"
    assert _value(df, "ClusterMesh / cluster2", "remote configuration").startswith(
        "expected=true")
    assert _value(df, "", "Cluster health").endswith("(Probe interval: 1m40s)")


def test_status_modules_health_tree_with_root_on_the_header_line():
    out = invented("cilium-status-verbose-modules-health-inline-root.txt")  # invented
    df = labkit.parse(out.command, out.text)
    assert _value(df, "Modules Health / agent / controlplane / l7-proxy",
                  "timer-job-version-check") == "[OK] Primed (3m, x1)"


def test_status_unknown_line_raises_parse_error_quoting_it():
    with pytest.raises(ParseError) as e:
        cilium_status("KVStore:   Ok   Disabled\nthis is not status\n")
    assert e.value.line_number == 2
    assert "this is not status" in str(e.value)


def test_status_empty_output_has_columns_and_no_rows():
    for func in (cilium_status, cilium_status_json, hubble_status):
        df = func("")
        assert list(df.columns) == ["section", "key", "value"]
        assert len(df) == 0
    assert list(config_view("").columns) == ["key", "value"]


def test_status_json_flattens_to_section_key_value():
    # Invented fixture: no real `cilium status -o json` exists (FORMATS.md section 5).
    out = invented("cilium-status-json.json")
    df = labkit.parse(out.command, out.text)
    assert df.attrs["parser"] == "cilium_status_json"
    assert _value(df, "kube-proxy-replacement", "mode") == "True"
    assert _value(df, "kube-proxy-replacement / features / nodePort", "portMin") == "30000"
    assert _value(df, "kube-proxy-replacement / deviceList / 0", "ip") == (
        "192.168.10.10, fe80::57:abff:fee3:da8d")
    assert _value(df, "ipam / allocations", "172.16.0.159") == "router"
    assert _value(df, "masquerading", "enabled") == "true"
    assert _value(df, "cluster / nodes / 1", "name") == "k8s-w1"
    assert _value(df, "", "datapath-mode") == "veth"


def test_status_json_that_is_not_an_object_raises():
    with pytest.raises(ParseError):
        cilium_status_json('[1, 2]')
    with pytest.raises(ParseError):
        cilium_status_json('{"cilium": ')


@pytest.mark.parametrize("name", ["cilium-config-view-egrep-masq", "cilium-config-view-grep-masq"])
def test_config_view_gives_key_and_value(name):
    out = seed(name)
    df = labkit.parse(out.command, out.text)
    assert list(df.columns) == ["key", "value"]
    assert dict(zip(df["key"], df["value"], strict=True))["enable-bpf-masquerade"] == "true"


def test_config_view_keeps_values_that_start_with_a_colon():
    df = config_view("hubble-listen-address     :4244\ncluster-name   default\nempty-option\n")
    assert df.to_dict("records") == [
        {"key": "hubble-listen-address", "value": ":4244"},
        {"key": "cluster-name", "value": "default"},
        {"key": "empty-option", "value": ""}]


def test_agent_config_reads_key_colon_value_rows():
    out = invented("cilium-dbg-config.txt")  # invented: see its header
    df = labkit.parse(out.command, out.text)
    assert dict(zip(df["key"], df["value"], strict=True))["PolicyEnforcement"] == "default"
    assert len(df) == 7


def test_config_view_rejects_a_line_that_is_no_option():
    with pytest.raises(ParseError) as e:
        config_view("enable-ipv4   true\n!!! broken\n")
    assert e.value.line_number == 2


def test_hubble_status_reads_healthcheck_flows_and_nodes():
    out = invented("hubble-status.txt")  # invented: see its header
    df = labkit.parse(out.command, out.text)
    assert _value(df, "", "Healthcheck") == "Ok"
    assert _value(df, "", "Healthcheck via") == "localhost:4245"
    assert _value(df, "", "Current/Max Flows") == "8,190/8,190 (100.00%)"
    assert _value(df, "", "Connected Nodes") == "2/3"
    assert _value(df, "Unavailable Nodes", "k8s-w2") == ""


def test_hubble_status_error_message_raises():
    with pytest.raises(ParseError):
        hubble_status("failed to connect to 'localhost:4245': connection error\n")


# hubble status -o json: hubble CLI 0.11+ (hubble/cmd/status/status.go has -o json); no real
# sample was found, so the fixture is invented from the printer's source (see its header).

def test_hubble_status_json_gives_the_rows_of_the_text_form():
    out = invented("hubble-status.json")
    df = labkit.parse(out.command, out.text)
    assert df.attrs["parser"] == "hubble_status_json"
    text = hubble_status(invented("hubble-status.txt").text)
    shared = text[~text["key"].str.startswith("Healthcheck")].reset_index(drop=True)
    assert df.head(len(shared)).equals(shared)
    assert nested(df)["Version"] == "1.16.3"


def test_hubble_status_json_camel_case_names_and_rate_from_uptime():
    df = hubble_status_json('{"numFlows": "10", "maxFlows": "40", "seenFlows": "120", '
                            '"uptimeNs": "60000000000", "numConnectedNodes": {"value": 1}}')
    values = dict(zip(df["key"], df["value"], strict=True))
    assert values["Current/Max Flows"] == "10/40 (25.00%)" and values["Flows/s"] == "2.00"
    assert values["Connected Nodes"] == "1"


def test_hubble_status_json_errors_and_empty():
    with pytest.raises(labkit.ParseError, match="num_flows"):
        hubble_status_json('{"num_flows": "many"}')
    with pytest.raises(labkit.ParseError):
        hubble_status_json("[1, 2]")
    assert len(hubble_status_json("")) == 0
