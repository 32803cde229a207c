"""The local lab: the study's cluster from network namespaces on this machine (see lab.py)."""

from labkit.local.lab import LabMachine, LocalLab

__all__ = ["LabMachine", "LocalLab"]
