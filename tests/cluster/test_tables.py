"""The cluster lab's tables, from real API objects, have the local lab's columns."""

from __future__ import annotations

import copy

from labkit.cluster import tables as rows
from labkit.local import tables as local
from tests.cluster.conftest import fixture


def test_nodes_table_from_a_real_minikube_node_has_the_local_columns(lab, api):
    api.routes[("GET", "/api/v1/nodes")] = (200, fixture("client-python-node-list.json"))
    nodes = lab.nodes()
    assert list(nodes.columns) == local.NODE_COLUMNS
    row = nodes.iloc[0].to_dict()
    assert row | {"age": None} == {
        "name": "minikube", "status": "Ready", "roles": "master", "age": None,
        "version": "v1.16.0", "internal_ip": "192.168.64.3", "external_ip": "<none>",
        "os_image": "Buildroot 2018.05.3", "kernel_version": "4.15.0",
        "container_runtime": "docker://18.9.9"}
    assert row["age"].endswith("d")  # created 2019-09-30: many days ago


def test_pods_table_counts_ready_containers_and_restarts(lab, api):
    api.routes[("GET", "/api/v1/namespaces/default/pods")] = (
        200, fixture("client-python-pod-list.json"))
    pods = lab.pods()
    assert list(pods.columns) == local.POD_COLUMNS
    deb = pods.set_index("name").loc["deb-74cc89dbd7-t2gmt"]
    assert (deb.ready, deb.status, deb.restarts, deb.ip, deb.node) == (
        "1/1", "Running", 2, "172.17.0.9", "minikube")
    assert pods.restarts.dtype == "int64"


def test_all_namespaces_adds_the_namespace_column_first(lab, api):
    api.routes[("GET", "/api/v1/pods")] = (200, fixture("client-python-pod-list.json"))
    pods = lab.pods(all_namespaces=True)
    assert list(pods.columns) == ["namespace", *local.POD_COLUMNS]
    assert set(pods.namespace) == {"default"}


def test_a_waiting_container_reason_is_the_pod_status():
    pod = copy.deepcopy(fixture("client-python-pod-list.json")["items"][0])
    state = {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}}
    pod["status"]["containerStatuses"][0].update(ready=False, state=state)
    pod["status"]["phase"] = "Pending"
    assert rows.pod_row(pod)["status"] == "ImagePullBackOff"
    assert rows.pod_row(pod)["ready"] == "0/1"


def test_services_table_shows_ports_and_selector_like_kubectl(lab, api):
    api.routes[("GET", "/api/v1/namespaces/default/services")] = (
        200, fixture("client-python-service-list.json"))
    svc = lab.services().set_index("name")
    assert list(lab.services().columns) == local.SERVICE_COLUMNS
    assert svc.loc["kubernetes"][["type", "cluster_ip", "ports", "selector"]].tolist() == [
        "ClusterIP", "10.96.0.1", "443/TCP", "<none>"]
    assert svc.loc["nginx-deployment", "selector"] == "app=nginx"


def test_endpoints_join_ready_addresses_and_ports_of_a_services_slices(lab, api):
    ready = fixture("docs-endpointslice-example.yaml")
    not_ready = copy.deepcopy(ready)
    not_ready["metadata"]["name"] = "example-def"
    not_ready["endpoints"] = [{"addresses": ["10.1.2.4"], "conditions": {"ready": False}},
                              {"addresses": ["10.1.2.5"]}]  # no conditions: ready
    api.routes[("GET", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices")] = (
        200, {"kind": "EndpointSliceList", "items": [ready, not_ready]})
    eps = lab.endpoints()
    assert list(eps.columns) == local.ENDPOINT_COLUMNS
    assert eps.to_dict("records") == [
        {"name": "example", "endpoints": "10.1.2.3:80,10.1.2.5:80", "age": "<none>"}]
