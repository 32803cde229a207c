"""apply/delete/wait_ready through the real kubernetes client, checked at the HTTP requests
it sends (server-side apply of the seed's YAML, unchanged)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from labkit.errors import LabError, ManifestError
from tests.cluster.conftest import FIXTURES, fixture


def seed_yaml(name: str) -> Path:
    """The seed's YAML, where the project keeps it (packaged in labkit/data, or the fixtures)."""
    places = [FIXTURES.parents[1] / "labkit" / "data", FIXTURES / "yaml"]
    return next(p / name for p in places if (p / name).is_file())


def kind_nodes(labelled: bool = True) -> dict:
    """Three nodes named as kind names them, each a copy of the real minikube node, with
    the study's names as labels (as infra/kind/cluster.yaml sets them)."""
    real = fixture("client-python-node-list.json")["items"][0]
    items = []
    for name, study in [("labkit-control-plane", "k8s-s"), ("labkit-worker", "k8s-w1"),
                        ("labkit-worker2", "k8s-w2")]:
        node = copy.deepcopy(real)
        node["metadata"]["name"] = name
        if labelled:
            node["metadata"]["labels"]["labkit.io/study-name"] = study
        items.append(node)
    return {"kind": "NodeList", "items": items}


def applied(request) -> tuple[int, dict]:
    return 201, request["body"]


def test_seed_pods_are_server_side_applied_with_nodes_mapped_by_study_name(lab, api):
    api.routes[("GET", "/api/v1/nodes")] = (200, kind_nodes())
    for pod in ("netpod", "webpod1", "webpod2"):
        api.routes[("PATCH", f"/api/v1/namespaces/default/pods/{pod}")] = applied
    lines = lab.apply(seed_yaml("pods.yaml"), wait=False)
    assert lines == ["pod/netpod created", "pod/webpod1 created", "pod/webpod2 created"]
    patches = api.sent("PATCH")
    assert [p["path"] for p in patches] == [
        f"/api/v1/namespaces/default/pods/{p}" for p in ("netpod", "webpod1", "webpod2")]
    first = patches[0]
    assert first["headers"]["Content-Type"] == "application/apply-patch+yaml"
    assert first["query"] == {"fieldManager": ["labkit"], "force": ["true"]}
    assert first["headers"]["authorization"] == "Bearer test-token-not-real"
    assert [p["body"]["spec"]["nodeName"] for p in patches] == [
        "labkit-control-plane", "labkit-worker", "labkit-worker2"]
    assert first["body"]["spec"]["containers"][0]["image"] == "nicolaka/netshoot"


def test_a_study_node_name_the_cluster_does_not_know_is_refused_before_any_request(lab, api):
    api.routes[("GET", "/api/v1/nodes")] = (200, kind_nodes(labelled=False))
    with pytest.raises(ManifestError, match=r"nodeName 'k8s-s'.*labkit-control-plane.*"
                                            r"labkit.io/study-name=k8s-s"):
        lab.apply(seed_yaml("pods.yaml"), wait=False)
    assert api.sent("PATCH") == []


def test_deployment_and_service_go_to_their_own_group_paths(lab, api):
    api.routes[("GET", "/api/v1/nodes")] = (200, kind_nodes())
    api.routes[("PATCH", "/apis/apps/v1/namespaces/default/deployments/web")] = (200, {})
    api.routes[("PATCH", "/api/v1/namespaces/default/services/svc")] = applied
    assert lab.apply(seed_yaml("deployment.yaml"), wait=False) == [
        "deployment.apps/web configured"]
    assert lab.apply(seed_yaml("svc.yaml").read_text(), wait=False) == ["service/svc created"]


def test_a_pod_whose_spec_changed_is_recreated(lab, api):
    api.routes[("GET", "/api/v1/nodes")] = (200, kind_nodes())
    answers = iter([(422, {"kind": "Status", "status": "Failure", "reason": "Invalid",
                           "code": 422, "message": "spec: Forbidden: pod updates may not "
                                                   "change fields"}), (201, {})])
    api.routes[("PATCH", "/api/v1/namespaces/default/pods/netpod")] = lambda r: next(answers)
    api.routes[("DELETE", "/api/v1/namespaces/default/pods/netpod")] = (200, {})
    api.routes[("GET", "/api/v1/namespaces/default/pods")] = (200, {"items": []})
    one_pod = (seed_yaml("pods.yaml")).read_text().split("---")[0]
    assert lab.apply(one_pod, wait=False) == ["pod/netpod recreated"]
    assert api.sent("DELETE")[0]["query"]["gracePeriodSeconds"] == ["0"]


def test_delete_by_kind_and_name_and_a_missing_one_says_so(lab, api):
    api.routes[("DELETE", "/api/v1/namespaces/default/pods/netpod")] = (200, {})
    assert lab.delete("pod/netpod") == ["pod/netpod deleted"]
    with pytest.raises(ManifestError, match="Service svc does not exist"):
        lab.delete("svc/svc")


def test_wait_ready_timeout_names_the_stuck_pod_its_state_and_events(lab, api):
    stuck = copy.deepcopy(fixture("client-python-pod-list.json")["items"][0])
    stuck["status"]["conditions"] = [{"type": "Ready", "status": "False"}]
    stuck["status"]["containerStatuses"][0].update(
        ready=False, state={"waiting": {"reason": "ImagePullBackOff"}})
    api.routes[("GET", "/api/v1/namespaces/default/pods")] = (200, {"items": [stuck]})
    event = {"reason": "Failed", "lastTimestamp": "2019-10-18T10:00:00Z",
             "message": 'Failed to pull image "curl3": not found'}
    api.routes[("GET", "/api/v1/namespaces/default/events")] = (200, {"items": [event]})
    with pytest.raises(LabError, match=r"curl3-748c7587cf-stfgk is ImagePullBackOff "
                                       r"\(events: Failed: Failed to pull image"):
        lab.wait_ready(timeout=0.05, poll=0.01, progress=False)
    selector = api.sent("GET")[-1]["query"]["fieldSelector"][0]
    assert selector == "involvedObject.kind=Pod,involvedObject.name=curl3-748c7587cf-stfgk"


def test_wait_ready_returns_when_every_pod_is_ready(lab, api):
    api.routes[("GET", "/api/v1/namespaces/default/pods")] = (
        200, fixture("client-python-pod-list.json"))
    lab.wait_ready(timeout=1, progress=False)
