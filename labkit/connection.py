"""connect(): the one entry point notebooks use; it picks the lab (LABKIT_LAB, local default)."""

from __future__ import annotations

import os

from labkit.errors import LabError
from labkit.local import LocalLab


def connect(lab: str | None = None, *, up: bool = True, progress: bool = True) -> LocalLab:
    """Return the lab to work with: ``lab`` or $LABKIT_LAB ('local', the default, or 'cluster').

    The local lab is brought up if it is not (idempotent, needs root); pass up=False to attach
    to it as it is.
    """
    kind = (lab or os.environ.get("LABKIT_LAB") or "local").strip().lower()
    if kind == "cluster":
        raise LabError("the cluster lab is not built yet: unset LABKIT_LAB (or set it to "
                       "'local') to use the local lab")
    if kind != "local":
        raise LabError(f"unknown lab {kind!r}: LABKIT_LAB must be 'local' or 'cluster'")
    local = LocalLab()
    return local.up(progress=progress) if up else local
