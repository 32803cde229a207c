"""helm_values(): the values in force, read from Helm's release Secret."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path

import yaml

SEED_VALUES = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "infra" / "cilium" / "values.yaml").read_text())


def release_secret(config: dict, defaults: dict) -> dict:
    """A Secret as Helm 3 writes one (base64 of base64 of gzipped JSON), holding a release
    whose user values are the seed's and whose chart defaults are a small made-up set."""
    release = {"name": "cilium", "namespace": "kube-system", "version": 2, "config": config,
               "chart": {"values": defaults}}
    packed = base64.b64encode(gzip.compress(json.dumps(release).encode()))
    return {"metadata": {"name": "sh.helm.release.v1.cilium.v2", "namespace": "kube-system",
                         "labels": {"owner": "helm", "name": "cilium", "status": "deployed",
                                    "version": "2"}},
            "data": {"release": base64.b64encode(packed).decode()}}


def test_helm_values_shows_the_values_the_user_set(lab, api):
    defaults = {"debug": {"enabled": False}, "tunnelProtocol": "vxlan"}
    api.routes[("GET", "/api/v1/secrets")] = (
        200, {"items": [release_secret(SEED_VALUES, defaults)]})
    values = lab.helm_values().set_index("key")
    assert values.loc["kubeProxyReplacement", "value"] is True
    assert values.loc["k8sServiceHost", "value"] == "192.168.10.10"
    assert values.loc["hubble.relay.enabled", "source"] == "set"
    assert "tunnelProtocol" not in values.index
    assert api.sent("GET")[0]["query"]["labelSelector"] == ["owner=helm,name=cilium"]


def test_helm_values_all_adds_chart_defaults_the_user_did_not_override(lab, api):
    defaults = {"debug": {"enabled": False}, "tunnelProtocol": "vxlan"}
    api.routes[("GET", "/api/v1/secrets")] = (
        200, {"items": [release_secret(SEED_VALUES, defaults)]})
    values = lab.helm_values(all=True).set_index("key")
    assert values.loc["tunnelProtocol"].tolist() == ["vxlan", "chart default"]
    assert values.loc["debug.enabled"].tolist() == [True, "set"]
