"""BPF links, made with the bpf() system call and pinned in bpffs.

A pinned link keeps its program attached after the process that made it exits (a notebook
kernel restarts, `labkit up` returns), and unpinning it - or deleting the interface or
cgroup it holds - detaches it. This is how the lab's programs stay put between cells and
leave nothing behind at `labkit down`. bcc 0.26 has no call for tcx or cgroup links, so
the few bpf() commands needed are made here.
"""

from __future__ import annotations

import ctypes as ct
import functools
import os
import platform
import re
import subprocess
from pathlib import Path

from labkit.errors import LabkitError
from labkit.nsthread import in_netns

_SYS_BPF = {"x86_64": 321, "aarch64": 280, "armv7l": 386, "ppc64le": 361, "s390x": 351}
_BPF_OBJ_PIN = 6
_BPF_OBJ_GET = 7
_BPF_LINK_CREATE = 28

TCX_INGRESS = 46
TCX_EGRESS = 47

_libc = ct.CDLL(None, use_errno=True)


class LinkError(LabkitError):
    """A program could not be attached or pinned."""


class _LinkCreate(ct.Structure):
    _fields_ = [("prog_fd", ct.c_uint32), ("target", ct.c_uint32),
                ("attach_type", ct.c_uint32), ("flags", ct.c_uint32),
                ("relative", ct.c_uint32), ("pad", ct.c_uint32),
                ("expected_revision", ct.c_uint64), ("rest", ct.c_uint8 * 48)]


class _ObjPin(ct.Structure):
    _fields_ = [("pathname", ct.c_uint64), ("bpf_fd", ct.c_uint32),
                ("file_flags", ct.c_uint32), ("path_fd", ct.c_int32), ("pad", ct.c_uint32)]


def _bpf(cmd: int, attr: ct.Structure) -> int:
    number = _SYS_BPF.get(platform.machine())
    if number is None:
        machine = platform.machine()
        raise LinkError(f"labkit does not know the bpf() system call number on {machine}; "
                        "the local lab runs on x86_64, aarch64, armv7l, ppc64le and s390x")
    result = _libc.syscall(number, cmd, ct.byref(attr), ct.sizeof(attr))
    if result < 0:
        err = ct.get_errno()
        raise OSError(err, os.strerror(err))
    return result


def link_create(prog_fd: int, target: int, attach_type: int) -> int:
    """A new link (its fd) attaching a program to a target: an ifindex or a cgroup fd."""
    return _bpf(_BPF_LINK_CREATE, _LinkCreate(prog_fd=prog_fd, target=target,
                                              attach_type=attach_type))


def pin(fd: int, path: Path) -> None:
    """Pins a BPF object (program, map or link) at a bpffs path."""
    raw = str(path).encode()
    buf = ct.create_string_buffer(raw)
    _bpf(_BPF_OBJ_PIN, _ObjPin(pathname=ct.addressof(buf), bpf_fd=fd))


def attach_tcx(prog_fd: int, netns: Path, ifname: str, attach_type: int, pin_path: Path) -> None:
    """Attaches a tc program to an interface in another network namespace (tcx, kernel 6.6+)
    and pins the link. The link is made from a thread that has entered that namespace,
    because the kernel reads the ifindex in the caller's namespace."""

    def work() -> None:
        link = link_create(prog_fd, socket_if_nametoindex(ifname), attach_type)
        try:
            pin(link, pin_path)
        finally:
            os.close(link)

    try:
        in_netns(netns, work)
    except (OSError, LinkError) as e:
        raise LinkError(f"cannot attach to {ifname} in {netns}: {e}; is the lab up "
                        "(`labkit status`)? `labkit down` and `labkit up` rebuild it") from e


def socket_if_nametoindex(ifname: str) -> int:
    """The ifindex of an interface in the calling thread's network namespace."""
    index = _libc.if_nametoindex(ifname.encode())
    if index == 0:
        raise LinkError(f"no interface {ifname!r} here")
    return index


def attach_cgroup(prog_fd: int, cgroup: Path, attach_type: int, pin_path: Path) -> None:
    """Attaches a cgroup program through a link and pins it."""
    fd = os.open(cgroup, os.O_RDONLY | os.O_DIRECTORY)
    try:
        link = link_create(prog_fd, fd, attach_type)
    except OSError as e:
        raise LinkError(f"cannot attach to cgroup {cgroup}: {e}; the kernel needs cgroup v2 "
                        "and BPF links (`labkit doctor` checks both)") from e
    finally:
        os.close(fd)
    try:
        pin(link, pin_path)
    finally:
        os.close(link)


def tcx_supported() -> bool:
    """True when the kernel has tcx links (Linux 6.6) and the machine's bpftool can show
    them (bpftool 7.3): a learner must see with `bpftool net show` what the lab attached,
    so with an older bpftool the lab attaches through clsact instead, as Cilium did before
    1.16."""
    return _version(platform.release()) >= (6, 6) and _bpftool_version() >= (7, 3)


def _version(text: str) -> tuple[int, int]:
    m = re.match(r"v?(\d+)\.(\d+)", text)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


@functools.cache
def _bpftool_version() -> tuple[int, int]:
    try:
        out = subprocess.run(["bpftool", "version"], capture_output=True, text=True).stdout
    except FileNotFoundError:
        return (0, 0)
    m = re.search(r"bpftool (v?[\d.]+)", out)
    return _version(m.group(1)) if m else (0, 0)
