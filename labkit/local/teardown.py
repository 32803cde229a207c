"""Removing the local lab, and proving it is gone.

Works from names alone (the ``lk-`` namespaces, the ``labkit`` cgroup, /run/labkit, the bpffs
pin directory), never from the state file, so it also cleans up after a crash or a killed
process that left half a lab behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
from pathlib import Path

from labkit.local import cgroups
from labkit.local.netns import lab_namespaces
from labkit.local.process import ip_batch
from labkit.local.topology import BPF_PIN_DIR, CGROUP_MOUNT, NETNS_DIR, RUN_DIR


def down() -> None:
    """Kill every lab process, delete every lab namespace, pin, cgroup and mount."""
    if _cgroup_trees():
        cgroups.mount()
    cgroups.kill_and_remove(CGROUP_MOUNT / "labkit")
    for pid, _ in _processes_in_lab_namespaces():
        _kill(pid)
    ip_batch([f"netns delete {name}" for name in lab_namespaces()])
    if BPF_PIN_DIR.exists():
        shutil.rmtree(BPF_PIN_DIR)
    cgroups.unmount()
    if RUN_DIR.exists():
        shutil.rmtree(RUN_DIR)


def residue() -> list[str]:
    """Everything of the lab still on the machine, one line each (empty when clean)."""
    found = [f"network namespace {name} ({NETNS_DIR / name})" for name in lab_namespaces()]
    found += [f"process {pid} ({comm}) in a lab namespace" for pid, comm in
              _processes_in_lab_namespaces()]
    found += [f"cgroup {path}" for path in _cgroup_trees()]
    if cgroups.mounted():
        found.append(f"cgroup2 mount at {CGROUP_MOUNT}")
    if BPF_PIN_DIR.exists():
        found.append(f"bpffs pins under {BPF_PIN_DIR}")
    if RUN_DIR.exists():
        found.append(f"run directory {RUN_DIR}")
    return found


def _cgroup_trees() -> list[Path]:
    """The lab's cgroup as seen through every cgroup2 mount on the machine."""
    trees = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            fstype = fields[fields.index("-") + 1]
            if fstype == "cgroup2" and (Path(fields[4]) / "labkit").is_dir():
                trees.append(Path(fields[4]) / "labkit")
    return trees


def _processes_in_lab_namespaces() -> list[tuple[int, str]]:
    inodes = set()
    for name in lab_namespaces():
        try:
            inodes.add(os.stat(NETNS_DIR / name).st_ino)
        except OSError:
            continue
    if not inodes:
        return []
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry.name}/ns/net").st_ino in inodes:
                comm = Path(f"/proc/{entry.name}/comm").read_text().strip()
                found.append((int(entry.name), comm))
        except OSError:
            continue
    return found


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
