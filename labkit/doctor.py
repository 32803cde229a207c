"""`labkit doctor`: is this machine ready for the local lab, and can it reach a cluster?

Each check says OK, or what is wrong and the one thing to do about it. The local lab can
run only when every check marked ``needed for the local lab`` passes.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from labkit.cluster.build import TOOLS as CLUSTER_TOOLS

MIN_KERNEL = (5, 8)

# Tools the notebooks run, and the Debian package that brings each.
TOOLS = {
    "ip": "iproute2", "tc": "iproute2", "bpftool": "bpftool", "iptables": "iptables",
    "iptables-save": "iptables", "conntrack": "conntrack", "tcpdump": "tcpdump",
    "ngrep": "ngrep", "strace": "strace", "curl": "curl", "ping": "iputils-ping",
    "ethtool": "ethtool", "lsns": "util-linux", "nsenter": "util-linux", "unshare": "util-linux",
}


@dataclass
class Check:
    """One prerequisite: its name, whether the local lab needs it, its outcome and the fix."""

    name: str
    needed: bool
    ok: bool
    detail: str
    fix: str = ""


def _kernel(release: str) -> Check:
    m = re.match(r"(\d+)\.(\d+)", release)
    version = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
    ok = version >= MIN_KERNEL
    fix = "" if ok else "boot a kernel of 5.8 or newer (Cilium and labkit's eBPF need it)"
    if "microsoft" in release.lower():
        release += " (WSL2: its kernel may lack BPF features; a Linux VM is the safer choice)"
    return Check("kernel >= 5.8", True, ok, release, fix)


def _root() -> Check:
    ok = os.geteuid() == 0
    return Check("root", True, ok, "uid 0" if ok else f"uid {os.geteuid()}",
                 "" if ok else "run as root: sudo .venv/bin/labkit doctor (or sudo make lab)")


def _mounts() -> list[tuple[str, str]]:
    try:
        text = Path("/proc/mounts").read_text()
    except OSError:
        return []
    return [(f[1], f[2]) for f in (line.split() for line in text.splitlines()) if len(f) > 2]


def _bpffs(mounts: list[tuple[str, str]]) -> Check:
    if any(kind == "bpf" for _, kind in mounts):
        where = next(path for path, kind in mounts if kind == "bpf")
        return Check("bpffs", True, True, f"mounted at {where}")
    if "bpf" in Path("/proc/filesystems").read_text():
        return Check("bpffs", True, True, "not mounted, mountable (the lab mounts its own)")
    return Check("bpffs", True, False, "the kernel has no bpf filesystem",
                 "use a kernel built with CONFIG_BPF_SYSCALL")


def _cgroup2(mounts: list[tuple[str, str]]) -> Check:
    mounted = [path for path, kind in mounts if kind == "cgroup2"]
    if mounted:
        return Check("cgroup v2", True, True, f"mounted at {mounted[0]}")
    if "cgroup2" in Path("/proc/filesystems").read_text():
        return Check("cgroup v2", True, True, "available (the lab mounts /run/labkit/cgroupv2)")
    return Check("cgroup v2", True, False, "the kernel has no cgroup2 filesystem",
                 "use a kernel with cgroup v2 (socket load balancing attaches to a cgroup)")


def _headers(release: str) -> Check:
    build = Path(f"/lib/modules/{release}/build")
    if (build / "include").exists():
        return Check("kernel headers", True, True, f"{build} -> {build.resolve()}")
    return Check("kernel headers", True, False, f"{build} missing",
                 "sudo make setup (installs headers and links them for bcc)")


# A trivial program: bcc must compile it with clang and the kernel must accept it.
_TRIVIAL = b"int labkit_doctor(void *ctx) { return 0; }"


def _bcc() -> Check:
    try:
        from bcc import BPF  # noqa: PLC0415 - optional system module
    except ImportError:
        return Check("bcc", True, False, "python module bcc not importable",
                     "sudo make setup (the venv must see Debian's python3-bpfcc)")
    if os.geteuid() != 0:
        return Check("bcc", True, False, "importable; loading a program needs root",
                     "run as root to check that bcc can load a program")
    try:
        bpf = BPF(text=_TRIVIAL)
        bpf.load_func(b"labkit_doctor", BPF.SOCKET_FILTER)
        bpf.cleanup()
    except Exception as e:  # bcc raises bare Exception on compile/load errors
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return Check("bcc", True, False, f"cannot compile or load a program: {first}",
                     "check kernel headers (sudo make setup) and that BPF is allowed here")
    return Check("bcc", True, True, "compiled and loaded a trivial program")


def _tool(name: str, package: str) -> Check:
    path = shutil.which(name) or next(
        (f"{d}/{name}" for d in ("/usr/sbin", "/sbin") if Path(f"{d}/{name}").exists()), None)
    ok = path is not None
    return Check(name, True, ok, path or "not found",
                 "" if ok else f"sudo make setup (or: apt-get install {package})")


def _kubeconfig() -> Check:
    paths = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    paths = paths or [str(Path.home() / ".kube" / "config")]
    found = [p for p in paths if Path(p).is_file()]
    if found:
        return Check("kubeconfig", False, True, found[0])
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return Check("kubeconfig", False, True, "in-cluster service account")
    return Check("kubeconfig", False, False, f"none at {', '.join(paths)}",
                 "only for the cluster lab: copy your cluster's kubeconfig to ~/.kube/config")


def _cluster(kubeconfig: Check, timeout: float) -> Check:
    if not kubeconfig.ok:
        return Check("cluster answers", False, False, "no kubeconfig",
                     "only for the cluster lab: see the kubeconfig line")
    try:
        from kubernetes import client, config  # noqa: PLC0415 - slow import, only here

        config.load_kube_config()
        version = client.VersionApi().get_code(_request_timeout=timeout)
    except Exception as e:  # any failure to reach the cluster is the answer itself
        first = str(e).strip().splitlines()[0][:120] if str(e).strip() else type(e).__name__
        return Check("cluster answers", False, False, first,
                     "only for the cluster lab: check `kubectl cluster-info`")
    return Check("cluster answers", False, True, f"Kubernetes {version.git_version}")


def _cluster_tool(name: str, how: str) -> Check:
    path = shutil.which(name)
    return Check(name, False, path is not None, path or "not found",
                 "" if path else f"only for `labkit cluster up`: {how}")


def checks(cluster_timeout: float = 3.0) -> list[Check]:
    """Runs every check, in the order a learner would fix them."""
    release = platform.release()
    mounts = _mounts()
    found = [_root(), _kernel(release), _bpffs(mounts), _cgroup2(mounts), _headers(release),
             _bcc()]
    found += [_tool(name, package) for name, package in TOOLS.items()]
    kubeconfig = _kubeconfig()
    found += [kubeconfig, _cluster(kubeconfig, cluster_timeout)]
    found += [_cluster_tool(name, how) for name, how in CLUSTER_TOOLS.items()]
    return found


def table(found: list[Check]) -> pd.DataFrame:
    """The checks as a table: check, needed_for, status (OK or what is wrong), fix."""
    return pd.DataFrame(
        {
            "check": [c.name for c in found],
            "needed_for": ["local lab" if c.needed else "cluster lab" for c in found],
            "status": ["OK" if c.ok else "MISSING" for c in found],
            "detail": [c.detail for c in found],
            "fix": [c.fix for c in found],
        }
    )


def local_lab_ready(found: list[Check]) -> bool:
    """True when every check the local lab needs passed."""
    return all(c.ok for c in found if c.needed)


def _text(df: pd.DataFrame) -> str:
    """A left-aligned plain-text table, readable in a terminal."""
    widths = {c: max(len(c), *(len(str(v)) for v in df[c])) for c in df.columns}
    rows = [list(df.columns), *df.astype(str).values.tolist()]
    return "\n".join(
        "  ".join(str(v).ljust(widths[c]) for c, v in zip(df.columns, row, strict=True)).rstrip()
        for row in rows
    )


def run(print_: Callable[[str], None] = print) -> int:
    """Prints the checks as a table; 0 when the local lab can run, 1 otherwise."""
    found = checks()
    print_(_text(table(found)))
    ready = local_lab_ready(found)
    print_("\nthe local lab can run" if ready else
           "\nthe local lab cannot run yet: fix the lines marked MISSING for 'local lab'")
    return 0 if ready else 1

