"""connect(): the one entry point notebooks use; it picks the lab (LABKIT_LAB, local default)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from labkit.errors import LabError
from labkit.local import LocalLab
from labkit.record import recording

if TYPE_CHECKING:
    from labkit.cluster import ClusterLab, ReplayLab
    from labkit.record import RecordingLab


def connect(lab: str | None = None, *, up: bool = True, progress: bool = True,
            context: str | None = None) -> LocalLab | ClusterLab | ReplayLab | RecordingLab:
    """Return the lab to work with: ``lab`` or $LABKIT_LAB ('local', the default, 'cluster',
    or 'replay:PATH' for a recorded session). $LABKIT_RECORD=PATH records the session.

    The local lab is brought up if it is not (idempotent, needs root); pass up=False to attach
    to it as it is. The cluster lab uses the kubeconfig's current context, or ``context``.
    """
    choice = (lab or os.environ.get("LABKIT_LAB") or "local").strip()
    kind = choice.lower()
    if kind == "cluster":
        from labkit.cluster import ClusterLab

        return recording(ClusterLab(context=context), os.environ.get("LABKIT_RECORD"))
    if kind.startswith("replay:"):
        from labkit.cluster import ReplayLab

        return ReplayLab(choice.split(":", 1)[1])
    if kind != "local":
        raise LabError(f"unknown lab {kind!r}: LABKIT_LAB must be 'local', 'cluster' or "
                       "'replay:PATH'")
    local = LocalLab()
    return recording(local.up(progress=progress) if up else local,
                     os.environ.get("LABKIT_RECORD"))
