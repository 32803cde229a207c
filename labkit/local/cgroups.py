"""The lab's cgroup2 subtree, mounted at /run/labkit/cgroupv2 as Cilium mounts /run/cilium/cgroupv2.

Every lab process lives in ``labkit/<pod>`` (or ``labkit/node_<machine>``); eBPF socket programs
attach to ``labkit`` so that nothing outside the lab is ever affected, and killing a cgroup
removes a pod's processes however they were started.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from labkit.errors import LabError
from labkit.local.topology import CGROUP_MOUNT, CGROUP_ROOT


def mounted() -> bool:
    target = str(CGROUP_MOUNT)
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == target for line in f)


def mount() -> None:
    if mounted():
        return
    CGROUP_MOUNT.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "cgroup2", "labkit-cgroup2", str(CGROUP_MOUNT)],
        capture_output=True, text=True,
    )
    if done.returncode != 0:
        raise LabError(
            f"cannot mount cgroup2 at {CGROUP_MOUNT}: {done.stderr.strip()}; the local lab "
            "needs a kernel with cgroup v2 (mount -t cgroup2 must work)"
        )
    CGROUP_ROOT.mkdir(exist_ok=True)


def unmount() -> None:
    if mounted():
        subprocess.run(["umount", str(CGROUP_MOUNT)], capture_output=True, check=False)


def create(name: str) -> Path:
    path = CGROUP_ROOT / name
    path.mkdir(exist_ok=True)
    return path / "cgroup.procs"


def pids(path: Path) -> list[int]:
    try:
        return [int(p) for p in (path / "cgroup.procs").read_text().split()]
    except FileNotFoundError:
        return []


def children(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.is_dir()) if path.is_dir() else []


def kill_and_remove(path: Path, timeout: float = 3.0) -> None:
    """Kill every process in the cgroup (and below), then remove it."""
    for child in children(path):
        kill_and_remove(child, timeout)
    if not path.is_dir():
        return
    (path / "cgroup.kill").write_text("1")
    deadline = time.monotonic() + timeout
    while True:
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if time.monotonic() > deadline:
                raise LabError(
                    f"cgroup {path} still busy after killing its processes ({exc}); "
                    "run 'labkit down' again"
                ) from exc
            time.sleep(0.005)
