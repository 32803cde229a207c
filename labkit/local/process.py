"""Running commands for the lab: results shaped like subprocess's, errors that say what to do.

A lab machine or pod is entered with ``nsenter`` after the wrapper shell has put itself in the
target's cgroup, so every process the lab runs is inside the lab's cgroup subtree (where the
eBPF socket programs attach) and inside the target's network and UTS namespaces.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Sequence
from pathlib import Path

from labkit.errors import CommandFailed, ExecTimeout, LabError, NotRootError

SH = "/bin/sh"
# $0 is the cgroup.procs file; the rest are nsenter's arguments and the command.
ENTER = 'echo $$ > "$0" && exec nsenter "$@"'


class ExecResult(subprocess.CompletedProcess):
    """What a command in the lab gave back; check_returncode() raises CommandFailed."""

    def __init__(self, args, returncode, stdout, stderr, where: str) -> None:
        super().__init__(args, returncode, stdout, stderr)
        self.where = where

    def check_returncode(self) -> None:
        if self.returncode != 0:
            raise CommandFailed(
                f"{shlex.join(self.args)!r} exited {self.returncode} in {self.where}: "
                f"{(self.stderr or '').strip()[:500]}",
                returncode=self.returncode,
                stdout=self.stdout,
                stderr=self.stderr,
            )


def require_root() -> None:
    if os.geteuid() != 0:
        raise NotRootError(
            "the local lab needs root (it creates network namespaces, veths and cgroups): "
            "run as root, e.g. 'sudo .venv/bin/labkit up' or 'sudo make lab'"
        )


def as_argv(command: str | Sequence[str], shell: bool) -> list[str]:
    if shell:
        if not isinstance(command, str):
            command = shlex.join(command)
        return [SH, "-c", command]
    argv = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
    if not argv:
        raise LabError("empty command: give a program and its arguments, e.g. 'ip -4 addr'")
    return argv


def enter_argv(
    cgroup_procs: Path, keeper_pid: int | None, netns: str, argv: list[str]
) -> list[str]:
    """The argv that runs argv in a lab machine's cgroup and namespaces."""
    if keeper_pid is None:
        target = [f"--net=/run/netns/{netns}"]
    else:
        target = ["-t", str(keeper_pid), "-n", "-u"]
    return [SH, "-c", ENTER, str(cgroup_procs), *target, "--", *argv]


def run_in(
    cgroup_procs: Path,
    keeper_pid: int | None,
    netns: str,
    argv: list[str],
    *,
    where: str,
    timeout: float | None,
    check: bool,
    input: str | None = None,
) -> ExecResult:
    full = enter_argv(cgroup_procs, keeper_pid, netns, argv)
    try:
        done = subprocess.run(
            full, input=input, capture_output=True, text=True, timeout=timeout,
            stdin=None if input is not None else subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise ExecTimeout(
            f"{shlex.join(argv)!r} in {where} did not finish within {timeout} s and was "
            "killed; pass a larger timeout= if it needs longer"
        ) from exc
    result = ExecResult(argv, done.returncode, done.stdout, done.stderr, where)
    if check:
        result.check_returncode()
    return result


def ip_batch(lines: Sequence[str], netns: str | None = None) -> None:
    """Run iproute2 commands in one process (optionally inside a lab namespace)."""
    if not lines:
        return
    argv = ["ip", "-batch", "-"] if netns is None else ["ip", "-n", netns, "-batch", "-"]
    done = subprocess.run(argv, input="\n".join(lines) + "\n", capture_output=True, text=True)
    if done.returncode != 0:
        where = f" in {netns}" if netns else ""
        raise LabError(f"ip -batch{where} failed: {done.stderr.strip()}")
