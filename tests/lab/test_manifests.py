"""Reading YAML into lab objects (no root needed)."""

from __future__ import annotations

import pytest

from labkit.errors import ManifestError, UnsupportedImageError
from labkit.local import manifests
from labkit.local.manifests import DeploymentSpec, PodSpec, ServiceSpec

from .conftest import SEED_PODS, SEED_SERVICE

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: "docker.io/traefik/whoami:v1.10", args: ["--port", "8080"]}]
"""


def test_seed_pods_load_as_written_with_node_image_and_labels():
    pods = manifests.load(SEED_PODS)
    assert [(p.name, p.node, p.runtime, p.labels["app"]) for p in pods] == [
        ("netpod", "k8s-s", "tools", "netpod"),
        ("webpod1", "k8s-w1", "whoami", "webpod"),
        ("webpod2", "k8s-w2", "whoami", "webpod"),
    ]


def test_seed_service_loads_with_port_target_and_selector():
    (svc,) = manifests.load(SEED_SERVICE.read_text())
    assert isinstance(svc, ServiceSpec)
    assert (svc.type, svc.selector, svc.ports[0].port, svc.ports[0].target_port) == (
        "ClusterIP", {"app": "webpod"}, 80, 80)


def test_deployment_gives_stable_pod_names_and_honours_whoami_port():
    (first,) = manifests.load(DEPLOYMENT)
    (again,) = manifests.load(DEPLOYMENT)
    assert isinstance(first, DeploymentSpec)
    assert len(first.pods) == 3 and len({p.name for p in first.pods}) == 3
    assert [p.name for p in first.pods] == [p.name for p in again.pods]
    assert all(p.port == 8080 and p.owner == "deployment/web" for p in first.pods)


def test_bad_yaml_is_a_manifest_error_that_says_so():
    with pytest.raises(ManifestError, match="not valid YAML"):
        manifests.load("kind: Pod\nmetadata: {name: x\n")


def test_unknown_image_error_names_the_images_the_lab_can_run():
    text = SEED_PODS.read_text().replace("nicolaka/netshoot", "nginx:1.27")
    with pytest.raises(UnsupportedImageError, match="nginx.*nicolaka/netshoot.*traefik/whoami"):
        manifests.load(text)


def test_unsupported_kind_names_the_kinds_it_understands():
    with pytest.raises(ManifestError, match="Pod, Deployment and Service"):
        manifests.load("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")


def test_missing_file_is_a_clear_error():
    with pytest.raises(ManifestError, match="cannot read"):
        manifests.load("/nonexistent/pods.yaml")


def test_kind_slash_name_references():
    assert manifests.reference("svc/svc").kind == "service"
    assert manifests.reference("pod/kube-system/x").key == "kube-system/x"
    assert manifests.reference("kind: Pod") is None


def test_pod_fingerprint_ignores_labels_only():
    a = PodSpec("p", labels={"a": "1"}, image="busybox")
    assert a.fingerprint() == PodSpec("p", labels={"a": "2"}, image="busybox").fingerprint()
    assert a.fingerprint() != PodSpec("p", node="k8s-w1", image="busybox").fingerprint()
