"""What the lab has built, in /run/labkit/state.json, shared by the CLI and every notebook.

Teardown never depends on it (names and the cgroup tree are enough); it is what lets a new
Python process see the pods, services and keeper processes another one created. Changes happen
under an exclusive lock so a notebook and the CLI cannot interleave.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator

from labkit.local.topology import RUN_DIR

STATE_FILE = RUN_DIR / "state.json"
LOCK_FILE = RUN_DIR / "lock"
EMPTY = {"up": False, "machines": {}, "pods": {}, "services": {}, "deployments": {}}


def read() -> dict:
    try:
        data = json.loads(STATE_FILE.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        data = {}
    return {**json.loads(json.dumps(EMPTY)), **data}


def write(state: dict) -> None:
    tmp = STATE_FILE.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
    os.replace(tmp, STATE_FILE)


@contextlib.contextmanager
def locked() -> Iterator[dict]:
    """Hold the lab lock; yields the state, written back even if the block fails half-way
    (what was built before the failure must stay visible). Teardown removes RUN_DIR, and
    then nothing is written."""
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    with open(LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = read()
        try:
            yield state
        finally:
            if RUN_DIR.is_dir():
                write(state)
