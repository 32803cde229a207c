"""Lab network namespaces: listing them and setting their sysctls without spawning processes.

Sysctls under /proc/sys/net belong to the network namespace of the thread that opens them, so a
thread that has joined the namespace writes them (see labkit.nsthread).
"""

from __future__ import annotations

from collections.abc import Mapping

from labkit.errors import LabError
from labkit.local.topology import NETNS_DIR, PREFIX
from labkit.nsthread import in_netns


def lab_namespaces() -> list[str]:
    """Every network namespace whose name carries the lab's prefix."""
    if not NETNS_DIR.is_dir():
        return []
    return sorted(p.name for p in NETNS_DIR.iterdir() if p.name.startswith(PREFIX))


def write_sysctls(netns: str, settings: Mapping[str, str]) -> None:
    """Write sysctls such as ``net.ipv4.conf.all.proxy_arp`` inside a lab namespace."""

    def work() -> None:
        for key, value in settings.items():
            with open("/proc/sys/" + key.replace(".", "/"), "w") as f:
                f.write(value)

    try:
        in_netns(NETNS_DIR / netns, work)
    except OSError as exc:
        raise LabError(f"setting sysctls in {netns} failed: {exc}") from exc
