"""The seed's YAML ships inside labkit, so a notebook finds it wherever it is opened."""

from __future__ import annotations

import pytest
import yaml

from labkit import data


def test_seed_pods_and_service_are_shipped_with_labkit():
    pods = list(yaml.safe_load_all(data.path(data.SEED_PODS).read_text()))
    service = yaml.safe_load(data.path(data.SEED_SERVICE).read_text())
    assert [p["metadata"]["name"] for p in pods] == ["netpod", "webpod1", "webpod2"]
    assert service["metadata"]["name"] == "svc"
    assert data.path(data.SEED_PODS).parent.name == "data"


def test_a_missing_data_file_is_named_in_the_error():
    with pytest.raises(FileNotFoundError, match="nothere.yaml"):
        data.path("nothere.yaml")
