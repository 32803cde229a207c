"""Running a function inside another network namespace, without a new process.

Some things belong to the network namespace of the calling thread: sysctls under
/proc/sys/net, the ifindex the bpf() system call reads. A short-lived thread that has
joined the namespace does that work (as CNI plugins do) and leaves the rest of the
process where it was.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def in_netns(netns: Path, work: Callable[[], T]) -> T:
    """Runs ``work()`` in a thread that has entered the namespace at ``netns`` (a path such
    as /run/netns/NAME) and returns its result; its exception is raised here."""
    result: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            fd = os.open(netns, os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns into {netns}: {os.strerror(err)}")
            finally:
                os.close(fd)
            result.append(work())
        except BaseException as exc:  # handed to the caller's thread below
            failure.append(exc)

    thread = threading.Thread(target=run, name=f"netns-{Path(netns).name}")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]
