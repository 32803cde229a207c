"""kubectl get tables: nodes, pods, services, endpoints, ciliumnodes, ciliumendpoints."""

from __future__ import annotations

import json

import pytest
import yaml

import labkit
from labkit import ParseError
from labkit.parsers import (
    kubectl_get,
    kubectl_get_ciliumendpoints,
    kubectl_get_ciliumnodes,
    kubectl_get_endpoints,
    kubectl_get_endpoints_json,
    kubectl_get_nodes,
    kubectl_get_nodes_json,
    kubectl_get_pods,
    kubectl_get_pods_json,
    kubectl_get_services,
    kubectl_get_services_json,
)
from tests.outputs import ROOT, load, real, real_ids, seed
from tests.unit.parsers.helpers import parsed

INVENTED = ROOT / "tests" / "fixtures" / "invented"


def test_nodes_wide_reads_columns_in_snake_case_with_spaces_inside_cells():
    df = parsed(seed("kubectl-get-node-owide"))
    assert df.attrs["parser"] == "kubectl_get_nodes"
    assert list(df["name"]) == ["k8s-s", "k8s-w1", "k8s-w2"]
    first = df.iloc[0]
    assert (first["status"], first["roles"], first["internal_ip"]) == (
        "NotReady", "control-plane", "192.168.10.10")
    assert first["os_image"] == "Ubuntu 22.04.5 LTS"
    assert first["kernel_version"] == "6.8.0-1015-aws"
    assert first["container_runtime"] == "containerd://1.7.22"
    assert df["external_ip"].isna().all()  # <none>


@pytest.mark.parametrize("command", ["kubectl get nodes", "kubectl get no -o wide",
                                     "k get node", "kubectl get ciliumnodes"])
def test_each_spelling_picks_its_parser(command):
    text = seed("kubectl-get-node-owide").text
    want = "kubectl_get_ciliumnodes" if "cilium" in command else "kubectl_get_nodes"
    if "cilium" in command:
        text = ("NAME    CILIUMINTERNALIP   INTERNALIP      AGE\n"
                "k8s-s   172.16.0.159       192.168.10.10   1h\n")
    assert labkit.parse(command, text).attrs["parser"] == want


def test_nodes_grep_filtered_without_header_use_the_wide_columns():
    lines = seed("kubectl-get-node-owide").text.splitlines()[1:2]
    df = labkit.parse("kubectl get node -owide | grep k8s-s", "\n".join(lines))
    assert df.iloc[0]["internal_ip"] == "192.168.10.10"
    assert df.iloc[0]["os_image"] == "Ubuntu 22.04.5 LTS"


def test_pods_all_namespaces_split_ready_and_type_restarts():
    df = parsed(seed("kubectl-get-pod-A"))
    assert len(df) == 6
    coredns = df.iloc[0]
    assert (coredns["namespace"], coredns["status"], coredns["ready"]) == (
        "kube-system", "Pending", "0/1")
    assert (coredns["ready_count"], coredns["ready_total"], coredns["restarts"]) == (0, 1, 0)
    assert str(df["restarts"].dtype) == "Int64"
    assert "kube-proxy" not in " ".join(df["name"])  # chapter 00: no kube-proxy


def test_pods_restarts_with_last_restart_and_wide_columns():
    text = ("NAME      READY   STATUS    RESTARTS      AGE   IP            NODE     NOMINATED NODE"
            "   READINESS GATES\n"
            "netpod    1/1     Running   2 (3m ago)    10m   172.16.0.132  k8s-s    <none>"
            "           <none>\n")
    df = kubectl_get_pods(text)
    row = df.iloc[0]
    assert (row["restarts"], row["last_restart"]) == (2, "3m")
    assert (row["ip"], row["node"]) == ("172.16.0.132", "k8s-s")
    assert row["nominated_node"] is None


def test_pods_grep_filtered_rows_pick_the_column_list_by_cell_count():
    text = "kube-system   coredns-55cb58b774-8l84j        0/1     Pending   0          8m17s\n"
    df = labkit.parse("kubectl get pod -A | grep coredns", text)
    assert (df.iloc[0]["namespace"], df.iloc[0]["name"]) == ("kube-system",
                                                             "coredns-55cb58b774-8l84j")


def test_services_read_ports_and_tell_namespace_from_selector_without_header():
    text = ("NAME   TYPE        CLUSTER-IP     EXTERNAL-IP   PORT(S)        AGE   SELECTOR\n"
            "svc    NodePort    10.10.124.15   <none>        80:30080/TCP   5m    app=webpod\n")
    row = kubectl_get_services(text).iloc[0]
    assert (row["port"], row["node_port"], row["protocol"]) == (80, 30080, "TCP")
    assert row["selector"] == "app=webpod"
    grep = "default   svc   ClusterIP   10.10.124.15   <none>   80/TCP   5m\n"
    row = labkit.parse("kubectl get svc -A | grep svc", grep).iloc[0]
    assert (row["namespace"], row["cluster_ip"], row["port"]) == ("default", "10.10.124.15", 80)


def test_endpoints_split_addresses_and_ports():
    text = ("NAME   ENDPOINTS                                       AGE\n"
            "svc    172.16.1.53:80,172.16.2.157:80 + 1 more...      5m\n")
    row = kubectl_get_endpoints(text).iloc[0]
    assert row["endpoint_ips"] == ["172.16.1.53", "172.16.2.157"]
    assert row["endpoint_ports"] == [80, 80]
    assert row["more"] == 1


def test_svc_ep_gives_two_tables_with_their_kind():
    out = load(INVENTED / "kubectl-get-svc-ep-svc.txt")  # invented: see its header
    df = parsed(out)
    assert df.attrs["parser"] == "kubectl_get"
    assert list(df["kind"]) == ["service", "endpoints"]
    assert list(df["name"]) == ["svc", "svc"]
    assert df.iloc[0]["cluster_ip"] == "10.10.124.15"
    assert df.iloc[1]["endpoints"] == "172.16.1.53:80,172.16.2.157:80"


def test_ciliumnodes_reads_the_cilium_internal_ip():
    df = parsed(real("kubectl-get-ciliumnodes/multicast-doc-kind.txt"))
    assert list(df.columns) == ["name", "cilium_internal_ip", "internal_ip", "age"]
    assert df.iloc[0]["cilium_internal_ip"] == "10.244.0.72"
    assert df.iloc[1]["internal_ip"] == "172.19.0.3"


def test_ciliumendpoints_wide_with_empty_ipv6_cells_are_cut_at_the_header_positions():
    text = ("NAME         SECURITY IDENTITY   INGRESS ENFORCEMENT   EGRESS ENFORCEMENT   "
            "VISIBILITY POLICY   ENDPOINT STATE   IPV4         IPV6\n"
            "wluo-mvz4t   48861               <status disabled>     <status disabled>    "
            "<status disabled>   ready            10.0.1.200   \n")
    row = kubectl_get_ciliumendpoints(text).iloc[0]
    assert row["security_identity"] == 48861
    assert (row["endpoint_state"], row["ipv4"], row["ipv6"]) == ("ready", "10.0.1.200", None)
    assert row["ingress_enforcement"] == "<status disabled>"


@pytest.mark.parametrize("name", real_ids("kubectl-get-ciliumendpoints"))
def test_every_real_ciliumendpoints_output_parses(name):
    df = parsed(real(f"kubectl-get-ciliumendpoints/{name}"))
    assert len(df) == 6 and df["name"].notna().all() and df["namespace"].notna().all()


@pytest.mark.parametrize("name", real_ids("kubectl-get-ciliumnodes"))
def test_every_real_ciliumnodes_output_parses(name):
    df = parsed(real(f"kubectl-get-ciliumnodes/{name}"))
    assert len(df) > 0 and df["cilium_internal_ip"].notna().all()


def test_no_resources_found_is_an_empty_table_with_the_columns():
    df = labkit.parse("kubectl get pods", "No resources found in default namespace.\n")
    assert len(df) == 0 and "ready_count" in df.columns


@pytest.mark.parametrize("func", [kubectl_get_nodes, kubectl_get_pods, kubectl_get_services,
                                  kubectl_get_endpoints, kubectl_get_ciliumnodes,
                                  kubectl_get_ciliumendpoints, kubectl_get])
def test_empty_output_has_the_resource_columns(func):
    df = func("")
    assert len(df) == 0 and "name" in df.columns


def test_a_row_that_fits_no_column_list_raises_quoting_it():
    with pytest.raises(ParseError, match=r"line 1: .*'k8s-s  Ready'"):
        kubectl_get_nodes("k8s-s  Ready\n")


def test_a_bad_ready_cell_raises_quoting_the_line():
    text = "NAME   READY   STATUS    RESTARTS   AGE\nweb    yes     Running   0          1m\n"
    with pytest.raises(ParseError, match=r"line 2: .*READY"):
        kubectl_get_pods(text)


# --- -o json / -o yaml --------------------------------------------------------------------
# Real API JSON: tests/fixtures/k8s/client-python-*-list.json (kubectl get -o json of a
# minikube cluster, Kubernetes v1.16; provenance in the .md beside each file, read-only).
# No real Endpoints object was found: kubectl-get-ep-o-yaml.yaml is invented (its header).

K8S = ROOT / "tests" / "fixtures" / "k8s"


def test_kubectl_get_nodes_json_real_node_list():
    df = labkit.parse("kubectl get nodes -o json",
                      (K8S / "client-python-node-list.json").read_text())
    assert df.attrs["parser"] == "kubectl_get_nodes_json"
    assert list(df.columns)[:-1] == list(kubectl_get_nodes("").columns)
    node = df.iloc[0]
    assert (node["name"], node["status"], node["roles"], node["version"]) == (
        "minikube", "Ready", "master", "v1.16.0")
    assert (node["internal_ip"], node["kernel_version"], node["container_runtime"]) == (
        "192.168.64.3", "4.15.0", "docker://18.9.9")
    assert str(df["created"].dtype).startswith("datetime64")


def test_kubectl_get_pods_json_real_pod_list():
    df = labkit.parse("kubectl get pods -A -o json",
                      (K8S / "client-python-pod-list.json").read_text())
    assert list(df.columns)[:-1] == list(kubectl_get_pods("").columns)
    assert len(df) == 5 and set(df["status"]) == {"Running"}
    curl = df[df["name"] == "curl3-748c7587cf-stfgk"].iloc[0]
    assert (curl["ready"], curl["ready_count"], curl["restarts"], curl["ip"]) == (
        "1/1", 1, 0, "172.17.0.6")
    assert curl["node"] == "minikube" and df["restarts"].tolist() == [0, 2, 3, 3, 3]


def test_kubectl_get_pods_json_status_follows_kubectl_for_waiting_containers():
    pod = ('{"kind": "Pod", "metadata": {"name": "p", "namespace": "d"}, '
           '"spec": {"containers": [{"name": "a"}, {"name": "b"}]}, '
           '"status": {"phase": "Running", "containerStatuses": ['
           '{"name": "a", "ready": true, "restartCount": 1}, '
           '{"name": "b", "ready": false, "restartCount": 4, '
           '"state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}}')
    row = kubectl_get_pods_json(pod).iloc[0]
    assert (row["ready"], row["status"], row["restarts"]) == ("1/2", "CrashLoopBackOff", 5)


def test_kubectl_get_services_json_real_service_list():
    df = labkit.parse("kubectl get svc -o json",
                      (K8S / "client-python-service-list.json").read_text())
    assert list(df.columns)[:-1] == list(kubectl_get_services("").columns)
    nginx = df[df["name"] == "nginx-deployment"].iloc[0]
    assert (nginx["type"], nginx["cluster_ip"], nginx["ports"], nginx["port"]) == (
        "ClusterIP", "10.98.219.120", "80/TCP", 80)
    assert nginx["selector"] == "app=nginx" and nginx["external_ip"] is None


def test_kubectl_get_services_json_node_port_and_pending_load_balancer():
    svc = ('{"kind": "Service", "metadata": {"name": "web"}, "spec": {"type": "LoadBalancer",'
           ' "clusterIP": "10.96.5.5", "ports": [{"port": 80, "nodePort": 30080}, '
           '{"port": 443, "nodePort": 30443, "protocol": "TCP"}]}}')
    row = kubectl_get_services_json(svc).iloc[0]
    assert (row["ports"], row["node_port"], row["external_ip"]) == (
        "80:30080/TCP,443:30443/TCP", 30080, "<pending>")


def test_kubectl_get_endpoints_yaml_in_kubectl_order():
    out = load(INVENTED / "kubectl-get-ep-o-yaml.yaml")
    df = kubectl_get_endpoints_json(out.text)
    assert list(df.columns)[:-1] == list(kubectl_get_endpoints("").columns)
    echo = df.iloc[0]
    assert echo["endpoints"] == (
        "172.16.2.157:80,172.16.1.234:80,172.16.2.157:443,172.16.1.234:443")
    assert echo["endpoint_ports"] == [80, 80, 443, 443]
    assert "172.16.1.99" not in echo["endpoint_ips"]  # not ready: kubectl leaves it out
    assert df.iloc[1]["endpoint_ips"] == ["fd00:10:244::5"] and df.iloc[2]["endpoints"] is None
    as_json = labkit.parse("kubectl get ep -o json", json.dumps(yaml.safe_load(out.text)))
    assert as_json["endpoints"].tolist() == df["endpoints"].tolist()


def test_kubectl_json_errors_and_empty():
    with pytest.raises(ParseError, match="Pod objects"):
        kubectl_get_pods_json('{"kind": "Service", "metadata": {}}')
    with pytest.raises(ParseError, match="metadata"):
        kubectl_get_nodes_json('{"items": [1]}')
    with pytest.raises(ParseError) as e:
        kubectl_get_services_json('{\n  "items": [\n    oops\n  ]\n}')
    assert e.value.line_number == 3
    with pytest.raises(ParseError):
        kubectl_get_pods_json("items: [\n  - a: b\n  c\n")
    empty = kubectl_get_endpoints_json('{"kind": "List", "items": []}')
    assert len(empty) == 0 and "endpoint_ips" in empty.columns
