"""Throwaway namespaces, cgroups and bpffs mounts for the eBPF tests; always removed."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest


def sh(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def bpffs(tmp_path):
    """A bpffs mount of the test's own; unmounted afterwards (pins go with it)."""
    if os.geteuid() != 0:
        pytest.skip("needs root (bpffs, BPF)")
    mount = tmp_path / "bpf"
    mount.mkdir()
    sh("mount", "-t", "bpf", "bpf", str(mount))
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)


@pytest.fixture
def netns():
    """A factory of named network namespaces, all deleted at the end."""
    made: list[str] = []

    def make() -> str:
        name = f"lktest-{uuid.uuid4().hex[:6]}"
        sh("ip", "netns", "add", name)
        made.append(name)
        sh("ip", "-n", name, "link", "set", "lo", "up")
        return name

    try:
        yield make
    finally:
        for name in made:
            subprocess.run(["ip", "netns", "del", name], capture_output=True)


def netns_path(name: str) -> Path:
    return Path("/run/netns") / name
