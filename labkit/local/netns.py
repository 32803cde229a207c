"""Lab network namespaces: listing them and setting their sysctls without spawning processes.

Sysctls under /proc/sys/net belong to the network namespace of the thread that opens them, so a
short-lived thread that has joined the namespace writes them (as CNI plugins do).
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Mapping

from labkit.errors import LabError
from labkit.local.topology import NETNS_DIR, PREFIX

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def lab_namespaces() -> list[str]:
    """Every network namespace whose name carries the lab's prefix."""
    if not NETNS_DIR.is_dir():
        return []
    return sorted(p.name for p in NETNS_DIR.iterdir() if p.name.startswith(PREFIX))


def write_sysctls(netns: str, settings: Mapping[str, str]) -> None:
    """Write sysctls such as ``net.ipv4.conf.all.proxy_arp`` inside a lab namespace."""
    failure: list[BaseException] = []

    def work() -> None:
        try:
            fd = os.open(NETNS_DIR / netns, os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns into {netns}: {os.strerror(err)}")
            finally:
                os.close(fd)
            for key, value in settings.items():
                with open("/proc/sys/" + key.replace(".", "/"), "w") as f:
                    f.write(value)
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=work, name=f"sysctl-{netns}")
    thread.start()
    thread.join()
    if failure:
        raise LabError(f"setting sysctls in {netns} failed: {failure[0]}") from failure[0]
