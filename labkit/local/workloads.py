"""The lab's long-lived processes: keepers that hold a machine's or pod's namespaces, and the
whoami server of traefik/whoami pods.

A keeper is ``sleep infinity`` that has joined the pod's network namespace, made a UTS
namespace with the pod's hostname and moved itself into the pod's cgroup - all by exec, so its
pid is the one Popen returns. Commands run later enter the keeper's namespaces with nsenter.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from labkit.errors import LabError
from labkit.local import cgroups
from labkit.local.process import SH, enter_argv
from labkit.local.topology import CGROUP_ROOT, RUN_DIR

WHOAMI = Path(__file__).with_name("whoami.py")
SYSTEM_PYTHON = "/usr/bin/python3"
LOG_DIR = RUN_DIR / "logs"
KEEPER = 'echo $$ > "$1" && echo "$0" > /proc/sys/kernel/hostname && exec sleep infinity'


def start_keeper(netns: str, hostname: str, cgroup: str) -> int:
    procs = cgroups.create(cgroup)
    argv = ["nsenter", f"--net=/run/netns/{netns}", "--", "unshare", "--uts", "--",
            SH, "-c", KEEPER, hostname, str(procs)]
    return _spawn(argv, None).pid


def wait_keepers(pids: dict[str, int], timeout: float = 5.0) -> None:
    """Wait until each keeper has become ``sleep`` (so its namespaces and cgroup are set)."""
    deadline = time.monotonic() + timeout
    pending = dict(pids)
    while pending:
        for name, pid in list(pending.items()):
            try:
                comm = Path(f"/proc/{pid}/comm").read_text().strip()
            except OSError:
                raise LabError(f"the keeper process of {name} died while starting; "
                               "run 'labkit down' and then 'labkit up' again") from None
            if comm == "sleep":
                del pending[name]
        if pending and time.monotonic() > deadline:
            raise LabError(f"keepers of {', '.join(pending)} did not start within {timeout} s")
        if pending:
            time.sleep(0.002)


def start_whoami(keeper: int, netns: str, cgroup: str, port: int, log_name: str) -> int:
    procs = CGROUP_ROOT / cgroup / "cgroup.procs"
    argv = enter_argv(procs, keeper, netns,
                      [SYSTEM_PYTHON, "-I", str(WHOAMI), "--port", str(port)])
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    return _spawn(argv, LOG_DIR / f"{log_name}.log").pid


def alive(pid: int | None, cgroup: str) -> bool:
    """Whether pid is still running inside the cgroup (guards against a reused pid)."""
    return pid is not None and pid in cgroups.pids(CGROUP_ROOT / cgroup)


def listening(keeper: int, port: int) -> bool:
    """Whether a TCP socket listens on port in the keeper's network namespace."""
    try:
        lines = Path(f"/proc/{keeper}/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return False
    suffix = f":{port:04X}"
    return any(f[1].endswith(suffix) and f[3] == "0A" for f in (line.split() for line in lines))


def _spawn(argv: list[str], log: Path | None) -> subprocess.Popen:
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - handed to the child
    try:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                start_new_session=True, close_fds=True)
    finally:
        if log:
            out.close()
