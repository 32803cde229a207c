"""A lab process killed at any point, then `labkit down`: nothing of the lab is left."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from labkit.local import LocalLab
from labkit.local.topology import NETNS_DIR

from .conftest import SEED_PODS

pytestmark = pytest.mark.root

BUILDER = f"""
import time
from labkit.local import LocalLab
lab = LocalLab()
lab.up(progress=False)
lab.apply({str(SEED_PODS)!r})
print("ready", flush=True)
time.sleep(60)
"""


def _labkit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labkit.cli", *args], capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("kill_when", ["lk-vpc", "lk-pod-netpod", None],
                         ids=["during-up", "during-apply", "when-ready"])
def test_killed_lab_process_then_down_leaves_nothing(_session_lab: LocalLab, kill_when):
    _session_lab.down()
    builder = subprocess.Popen([sys.executable, "-c", BUILDER], stdout=subprocess.PIPE,
                               text=True)
    try:
        if kill_when is None:
            assert builder.stdout.readline().strip() == "ready"
        else:  # kill as soon as the namespace appears: half a lab is built
            deadline = time.monotonic() + 20
            while not (NETNS_DIR / kill_when).exists() and time.monotonic() < deadline:
                time.sleep(0.001)
    finally:
        builder.send_signal(signal.SIGKILL)
        builder.wait()
    down = _labkit("down")
    assert down.returncode == 0, down.stderr
    check = _labkit("down", "--check")
    assert check.returncode == 0, check.stdout
    assert LocalLab().residue() == []


def test_down_check_lists_leftovers_and_fails(_session_lab: LocalLab):
    _session_lab.up(progress=False)
    check = _labkit("down", "--check")
    assert check.returncode == 1 and "network namespace lk-k8s-s" in check.stdout
    _session_lab.down()
