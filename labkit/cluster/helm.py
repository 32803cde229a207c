"""The Helm values in force, read from Helm's release Secret (no helm binary needed).

Helm 3 keeps each release revision in a Secret ``sh.helm.release.v1.NAME.vN`` labelled
owner=helm, name=NAME: its ``release`` field is base64 (Kubernetes) of base64 of a gzipped
JSON release whose ``config`` holds the values the user set and ``chart.values`` the chart's
defaults (helm/pkg/storage/driver/util.go).
"""

from __future__ import annotations

import base64
import gzip
import json

import pandas as pd

from labkit.errors import LabError

VALUES_COLUMNS = ["key", "value", "source"]


def decode_release(data: str) -> dict:
    """The release JSON from a Secret's ``data.release``."""
    inner = base64.b64decode(base64.b64decode(data))
    if inner[:2] == b"\x1f\x8b":
        inner = gzip.decompress(inner)
    return json.loads(inner)


def latest_release(kube, name: str) -> dict:
    """The newest deployed revision of a release, in any namespace."""
    secrets = kube.items("/api/v1/secrets", label_selector=f"owner=helm,name={name}")
    deployed = [s for s in secrets
                if (s["metadata"].get("labels") or {}).get("status") == "deployed"]
    if not deployed:
        raise LabError(f"no deployed Helm release {name!r} in this cluster (no Secret "
                       f"labelled owner=helm,name={name}); was Cilium installed with Helm? "
                       "`labkit cluster up` installs it")
    newest = max(deployed, key=lambda s: int(s["metadata"]["labels"].get("version", "0")))
    return decode_release(newest["data"]["release"])


def flatten(values: dict, prefix: str = "") -> dict[str, object]:
    """{'a': {'b': 1}} -> {'a.b': 1}; lists and empty maps stay whole values."""
    flat: dict[str, object] = {}
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, path + "."))
        else:
            flat[path] = value
    return flat


def values_table(release: dict, all: bool = False) -> pd.DataFrame:
    """The user's values (``helm get values``), or with all=True every value in force, each
    marked 'set' or 'chart default'."""
    chosen = flatten(release.get("config") or {})
    table = dict(flatten((release.get("chart") or {}).get("values") or {})) if all else {}
    table = {k: v for k, v in table.items() if not any(
        k == c or k.startswith(c + ".") or c.startswith(k + ".") for c in chosen)}
    rows = [{"key": k, "value": v, "source": "set"} for k, v in chosen.items()]
    rows += [{"key": k, "value": v, "source": "chart default"} for k, v in table.items()]
    rows.sort(key=lambda r: r["key"])
    df = pd.DataFrame(rows, columns=VALUES_COLUMNS)
    df.attrs["release"] = f"{release.get('namespace', '?')}/{release.get('name', '?')} " \
                          f"v{release.get('version', '?')}"
    return df
