"""Removing the local lab, and proving it is gone.

Works from names alone (the ``lk-`` namespaces, the ``labkit`` cgroup, /run/labkit, the bpffs
pin directory), never from the state file, so it also cleans up after a crash or a killed
process that left half a lab behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from labkit.local import cgroups, datapath
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
    # Unpinning the links detaches the programs; the maps go with their last pin.
    if datapath.mounted():
        for entry in BPF_PIN_DIR.iterdir():
            if entry.is_dir():
                shutil.rmtree(entry)
            elif entry.name.startswith(("cilium_", "labkit_")):
                entry.unlink()
        datapath.unmount()
    cgroups.unmount()
    _wait_for_programs_to_go()
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
    if datapath.mounted():
        found.append(f"bpffs mount at {BPF_PIN_DIR}")
    found += [f"eBPF program {name} (id {pid_id}) still loaded{held}"
              for name, pid_id, held in _lab_programs()]
    if RUN_DIR.exists():
        found.append(f"run directory {RUN_DIR}")
    return found


# The lab's program names (Cilium's), for the residue check.
PROGRAM_NAMES = {"cil_from_container", "cil_to_container", "cil_sock4_connect",
                 "cil_sock4_sendmsg", "cil_sock4_recvmsg", "cil_sock4_getpeername"}


def _lab_programs() -> list[tuple[str, int, str]]:
    """Loaded programs with the lab's names: (name, id, ' held by ...' or '')."""
    try:
        out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True,
                             text=True, timeout=10).stdout
        progs = json.loads(out or "[]")
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError):
        return []
    found = []
    for prog in progs:
        name = prog.get("name", "")
        # The kernel keeps 15 characters of a name; bpftool may print the full one from BTF.
        truncated = len(name) == 15 and any(full.startswith(name) for full in PROGRAM_NAMES)
        if name in PROGRAM_NAMES or truncated:
            holders = ", ".join(f"{p['comm']}[{p['pid']}]" for p in prog.get("pids", []))
            found.append((name, prog["id"], f" held by {holders}" if holders else ""))
    return found


def _wait_for_programs_to_go(timeout: float = 2.0) -> None:
    """The kernel frees unpinned programs after an RCU grace period: wait for it, so a
    residue check right after `down` is truthful."""
    deadline = time.monotonic() + timeout
    while _lab_programs() and time.monotonic() < deadline:
        time.sleep(0.05)


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
