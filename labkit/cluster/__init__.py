"""The cluster lab: a real Kubernetes cluster with Cilium, and the replay of a recorded one.

The labs load on first use (the kubernetes client is slow to import), so ``labkit cluster``
verbs and ``labkit doctor`` start fast.
"""

from __future__ import annotations

__all__ = ["ClusterLab", "ClusterNode", "ReplayLab"]


def __getattr__(name: str):
    if name in ("ClusterLab", "ClusterNode"):
        from labkit.cluster import lab

        return getattr(lab, name)
    if name == "ReplayLab":
        from labkit.cluster.replay import ReplayLab

        return ReplayLab
    raise AttributeError(f"module 'labkit.cluster' has no attribute {name!r}")
