"""Files the notebooks and the labs share: the seed's Pod and Service YAML (applied as they are).

One copy, shipped with labkit, so a notebook finds them wherever it is opened from; the tests
and benchmarks apply the same files.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

#: the seed's pods (netpod on k8s-s, webpod1 on k8s-w1, webpod2 on k8s-w2) and its service
SEED_PODS = "pods.yaml"
SEED_SERVICE = "svc.yaml"


def path(name: str) -> Path:
    """The path of a data file (``path("pods.yaml")``); raises FileNotFoundError naming it."""
    found = Path(str(files("labkit.data") / name))
    if not found.is_file():
        raise FileNotFoundError(f"labkit has no data file {name!r} (in {found.parent})")
    return found
