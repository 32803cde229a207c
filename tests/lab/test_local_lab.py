"""The local lab with the seed's pods and service, as chapters 03 and 05 of the study use it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from labkit.errors import (
    ExecTimeout,
    ManifestError,
    UnknownNodeError,
    UnknownPodError,
    UnsupportedImageError,
)
from labkit.local import state

from .conftest import FIXTURES, SEED_PODS, SEED_SERVICE

pytestmark = pytest.mark.root


def test_seed_pods_run_on_their_nodes_with_ips_from_the_node_cidr(lab):
    pods = lab.pods().set_index("name")
    assert list(pods.columns) == ["ready", "status", "restarts", "age", "ip", "node",
                                  "nominated_node", "readiness_gates"]
    assert pods.loc["netpod", "node"] == "k8s-s"
    assert pods.loc["netpod", "ip"].startswith("172.16.0.")
    assert pods.loc["webpod1", "ip"].startswith("172.16.1.")
    assert pods.loc["webpod2", "ip"].startswith("172.16.2.")
    assert set(pods["ready"]) == {"1/1"} and set(pods["status"]) == {"Running"}


def test_nodes_services_and_endpoints_tables(lab):
    nodes = lab.nodes()
    assert list(nodes["internal_ip"]) == ["192.168.10.10", "192.168.10.101", "192.168.10.102"]
    assert list(nodes["roles"]) == ["control-plane", "<none>", "<none>"]
    svc = lab.services().set_index("name").loc["svc"]
    assert svc["cluster_ip"].startswith("10.96.") and svc["ports"] == "80/TCP"
    assert svc["selector"] == "app=webpod"
    endpoints = lab.endpoints().set_index("name").loc["svc", "endpoints"]
    assert sorted(endpoints.split(",")) == sorted(
        f"{lab.pod_ip(p)}:80" for p in ("webpod1", "webpod2"))


@pytest.mark.parametrize("target", ["webpod1", "webpod2"])
def test_netpod_pings_and_curls_a_webpod_on_another_node(lab, target):
    ip = lab.pod_ip(target)
    assert lab.exec("netpod", f"ping -c 1 -W 2 {ip}").returncode == 0
    answer = lab.exec("netpod", ["curl", "-s", "-m", "3", ip], check=True).stdout
    assert answer.startswith(f"Hostname: {target}\n")


def test_curl_to_port_8080_is_refused(lab):
    result = lab.exec("netpod", f"curl -s -m 3 {lab.pod_ip('webpod1')}:8080")
    assert result.returncode == 7  # curl: failed to connect (connection refused)


def test_whoami_answers_hostname_ips_remote_address_request_and_headers(lab):
    ip = lab.pod_ip("webpod2")
    lines = lab.exec("netpod", f"curl -s -m 3 -H 'X-Lab: yes' {ip}/hello").stdout.splitlines()
    assert lines[0] == "Hostname: webpod2"
    assert lines[1:3] == ["IP: 127.0.0.1", f"IP: {ip}"]
    assert lines[3].startswith(f"RemoteAddr: {lab.pod_ip('netpod')}:")
    assert lines[4] == "GET /hello HTTP/1.1"  # (text mode turns whoami's \r\n into \n)
    assert f"Host: {ip}" in lines and "X-Lab: yes" in lines


def test_hostname_inside_a_pod_and_on_a_node(lab):
    assert lab.exec("webpod1", "hostname").stdout.strip() == "webpod1"
    assert lab.node("k8s-w2").run("hostname").stdout.strip() == "k8s-w2"


def test_pod_has_a_slash32_and_default_route_via_cilium_host(lab):
    routes = lab.exec("netpod", "ip -4 route").stdout
    assert "default via 172.16.0.254 dev eth0" in routes
    assert "172.16.0.254 dev eth0 scope link" in routes
    assert f"inet {lab.pod_ip('netpod')}/32" in lab.exec("netpod", "ip -4 addr show eth0").stdout


def test_node_routes_native_and_per_endpoint(lab):
    routes = lab.node("k8s-w1").run("ip -4 route", check=True).stdout
    assert "172.16.0.0/24 via 192.168.10.10 dev ens5" in routes
    assert "172.16.2.0/24 via 192.168.10.102 dev ens5" in routes
    assert f"{lab.pod_ip('webpod1')} dev lxc" in routes
    assert "default" not in routes
    addr = lab.node("k8s-w1").run("ip -4 addr show cilium_host").stdout
    assert "inet 172.16.1.254/32 scope link cilium_host" in addr


def test_proxy_arp_is_zero_on_every_node_interface(lab):
    out = lab.node("k8s-w1").run(
        "sh -c 'for f in /proc/sys/net/ipv4/conf/*/proxy_arp; do echo $f $(cat $f); done'"
    ).stdout
    values = dict(line.split() for line in out.splitlines())
    names = {path.split("/")[-2] for path in values}
    assert {"all", "cilium_host", "cilium_net", "lxc_health", "ens5"} <= names
    assert any(n.startswith("lxc") and n != "lxc_health" for n in names)
    assert set(values.values()) == {"0"}


def test_health_endpoint_lives_in_its_own_namespace(lab):
    out = lab.node("k8s-s").run("ping -c 1 -W 2 172.16.0.253")
    assert out.returncode == 0


def test_testpc_is_outside_on_the_same_subnet(lab):
    assert lab.node("testpc").run("ping -c 1 -W 2 192.168.10.101").returncode == 0
    assert "default" not in lab.node("testpc").run("ip route").stdout


def test_applying_twice_changes_nothing(lab):
    before = state.read()
    assert lab.apply(SEED_PODS) == [f"pod/{p} unchanged" for p in ("netpod", "webpod1", "webpod2")]
    assert lab.apply(SEED_SERVICE) == ["service/svc unchanged"]
    after = state.read()
    assert after["pods"] == before["pods"] and after["services"] == before["services"]


def test_label_change_is_applied_in_place(lab):
    keeper = state.read()["pods"]["default/webpod2"]["keeper"]
    changed = SEED_PODS.read_text().replace("name: webpod2\n  labels:\n    app: webpod",
                                            "name: webpod2\n  labels:\n    app: other")
    assert "pod/webpod2 configured" in lab.apply(changed)
    assert state.read()["pods"]["default/webpod2"]["keeper"] == keeper
    assert lab.endpoints().set_index("name").loc["svc", "endpoints"].count(":80") == 1


def test_deployment_spreads_over_workers_and_deletes(lab):
    yaml_text = (FIXTURES / "deployment.yaml").read_text()
    assert lab.apply(yaml_text) == ["deployment.apps/web created"]
    pods = lab.pods()
    web = pods[pods["name"].str.startswith("web-")]
    assert len(web) == 2 and set(web["node"]) == {"k8s-w1", "k8s-w2"}
    assert lab.apply(yaml_text) == ["deployment.apps/web unchanged"]
    assert lab.delete(yaml_text) == ["deployment/web deleted"]
    assert not lab.pods()["name"].str.startswith("web-").any()


def test_pod_delete_removes_its_namespace_veth_and_route(lab):
    lab.delete("pod/webpod2")
    assert "webpod2" not in set(lab.pods()["name"])
    assert "172.16.2.1 dev lxc" not in lab.node("k8s-w2").run("ip route").stdout
    assert "lk-pod-webpod2" not in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                                   text=True).stdout


def test_bad_yaml_unknown_image_pod_and_node_give_clear_errors(lab):
    with pytest.raises(ManifestError, match="not valid YAML"):
        lab.apply("kind: Pod\nmetadata: {name: [\n")
    with pytest.raises(UnsupportedImageError, match="can run|runs"):
        lab.apply(SEED_PODS.read_text().replace("traefik/whoami", "nginx"))
    with pytest.raises(UnknownPodError, match="no pod 'nopod'.*netpod"):
        lab.exec("nopod", "true")
    with pytest.raises(UnknownNodeError, match="k8s-s, k8s-w1, k8s-w2, testpc"):
        lab.node("k8s-w9")
    with pytest.raises(UnknownNodeError, match="nodeName 'k8s-w9'"):
        lab.apply(SEED_PODS.read_text().replace("nodeName: k8s-s", "nodeName: k8s-w9"))


def test_exec_results_timeouts_and_check(lab):
    result = lab.exec("netpod", "sh -c 'echo out; echo err >&2; exit 3'")
    assert (result.stdout, result.stderr, result.returncode) == ("out\n", "err\n", 3)
    assert lab.exec("netpod", "echo $HOSTNAME-$((1+1))", shell=True).stdout == "-2\n"
    with pytest.raises(Exception, match="exited 3 in pod netpod"):
        result.check_returncode()
    with pytest.raises(ExecTimeout, match="'sleep 5' in pod netpod.*0.2 s"):
        lab.exec("netpod", "sleep 5", timeout=0.2)


def test_pod_processes_live_in_the_pods_own_cgroup(lab):
    cgroup = lab.exec("netpod", "cat /proc/self/cgroup").stdout
    assert "0::/labkit/netpod" in cgroup


def test_cli_status_reports_the_lab_up(lab):
    done = subprocess.run([sys.executable, "-m", "labkit.cli", "status"], capture_output=True,
                          text=True)
    assert done.returncode == 0 and "local lab up" in done.stdout


def test_nothing_of_the_lab_is_in_the_host_namespace(lab):
    # Reads the host's link table (no packet is sent): no lab veth end or bridge there, so no
    # lab address or route can be there either.
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    names = {line.split(": ")[1].split("@")[0] for line in links.splitlines()}
    assert not {n for n in names if n.startswith(("lxc", "cilium_", "k8s-"))} | (names & {"vpc"})
