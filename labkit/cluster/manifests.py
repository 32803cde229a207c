"""YAML for the cluster lab: any objects, multi-document files and Lists, as plain dicts.

The seed's pods pin themselves to the study's node names (nodeName: k8s-s). A cluster whose
nodes carry the label ``labkit.io/study-name`` (the kind cluster of `labkit cluster up` does)
gets those names mapped to its own nodes, so the seed's YAML applies unchanged.
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from labkit.errors import ManifestError

STUDY_NAME_LABEL = "labkit.io/study-name"
# `kubectl delete KIND/NAME` short forms -> apiVersion, kind
KINDS = {
    **dict.fromkeys(["pod", "pods", "po"], ("v1", "Pod")),
    **dict.fromkeys(["service", "services", "svc"], ("v1", "Service")),
    **dict.fromkeys(["deployment", "deployments", "deploy"], ("apps/v1", "Deployment")),
    **dict.fromkeys(["daemonset", "daemonsets", "ds"], ("apps/v1", "DaemonSet")),
    **dict.fromkeys(["configmap", "configmaps", "cm"], ("v1", "ConfigMap")),
    **dict.fromkeys(["namespace", "namespaces", "ns"], ("v1", "Namespace")),
}
CLUSTER_SCOPED = {"Namespace", "Node", "ClusterRole", "ClusterRoleBinding",
                  "CustomResourceDefinition", "CiliumClusterwideNetworkPolicy", "PersistentVolume",
                  "StorageClass"}


def load(source: str | Path) -> list[dict]:
    """The objects in a YAML path or text, Lists expanded, empty documents skipped."""
    if isinstance(source, Path) or ("\n" not in source and Path(source).is_file()):
        path = Path(source)
        try:
            text = path.read_text()
        except OSError as e:
            raise ManifestError(f"cannot read {path}: {e.strerror}") from None
    else:
        text = source
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as e:
        raise ManifestError(f"not valid YAML: {e}") from None
    objects: list[dict] = []
    for doc in docs:
        objects.extend(doc.get("items", []) if doc.get("kind", "").endswith("List") else [doc])
    for obj in objects:
        if not isinstance(obj, dict) or not {"apiVersion", "kind", "metadata"} <= obj.keys():
            raise ManifestError(f"not a Kubernetes object (apiVersion, kind, metadata needed): "
                                f"{str(obj)[:120]}")
        if "name" not in obj["metadata"]:
            raise ManifestError(f"a {obj['kind']} without metadata.name; labkit cannot "
                                "apply generateName objects")
    if not objects:
        raise ManifestError("the YAML holds no objects")
    return [_with_namespace(copy.deepcopy(o)) for o in objects]


def _with_namespace(obj: dict) -> dict:
    if obj["kind"] not in CLUSTER_SCOPED:
        obj["metadata"].setdefault("namespace", "default")
    return obj


def reference(text: str, namespace: str = "default") -> dict | None:
    """'pod/netpod' (or 'svc/svc', 'deployment/web') as a minimal object, else None."""
    kind, sep, name = text.strip().partition("/")
    if not sep or "\n" in text or kind.lower() not in KINDS or not name:
        return None
    api_version, full = KINDS[kind.lower()]
    obj = {"apiVersion": api_version, "kind": full, "metadata": {"name": name}}
    if full not in CLUSTER_SCOPED:
        obj["metadata"]["namespace"] = namespace
    return obj


def pod_specs(obj: dict) -> list[dict]:
    """The pod specs inside an object: its own (Pod) or its template's."""
    if obj["kind"] == "Pod":
        return [obj.setdefault("spec", {})]
    template = (obj.get("spec") or {}).get("template")
    return [template.setdefault("spec", {})] if template else []


def map_node_names(objects: list[dict], nodes: list[dict]) -> None:
    """Rewrites nodeName to this cluster's node where the name is a study name; a name that
    is neither a node nor a study name is an error (the pod would stay Pending forever)."""
    names = {n["metadata"]["name"] for n in nodes}
    study = {(n["metadata"].get("labels") or {}).get(STUDY_NAME_LABEL): n["metadata"]["name"]
             for n in nodes}
    for obj in objects:
        for spec in pod_specs(obj):
            wanted = spec.get("nodeName")
            if wanted is None or wanted in names:
                continue
            if wanted not in study:
                raise ManifestError(
                    f"{obj['kind']} {obj['metadata']['name']} asks for nodeName {wanted!r}, "
                    f"which is not a node of this cluster ({', '.join(sorted(names))}); edit "
                    f"nodeName, or label a node: kubectl label node NODE "
                    f"{STUDY_NAME_LABEL}={wanted}")
            spec["nodeName"] = study[wanted]


def label(obj: dict) -> str:
    """kubectl's ``kind/name`` for an object (``pod/netpod``, ``deployment.apps/web``)."""
    group = obj["apiVersion"].rpartition("/")[0]
    return f"{obj['kind'].lower()}{'.' + group if group else ''}/{obj['metadata']['name']}"
