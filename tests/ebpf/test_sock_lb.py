"""Socket load balancing for real, in a throwaway network namespace and cgroup.

A backend listens on 10.244.0.1:8080 inside the namespace; a client in the test's cgroup
connects to the service address 10.96.0.10:80, which has no route at all: only the
connect4 program's rewrite can make the connection succeed. Everything the test makes
(namespace, cgroup, bpffs mount, pins) is removed even when it fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (netns, cgroup, BPF)")

VIP, BACKEND, OTHER = "10.96.0.10", "10.244.0.1", "10.244.0.2"


def _sh(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True)


@pytest.fixture
def sandbox(tmp_path):
    """A netns with two backend addresses, a cgroup2 subtree and a bpffs mount."""
    name = f"lktest-{uuid.uuid4().hex[:6]}"
    cg_mount, bpf_mount = tmp_path / "cg", tmp_path / "bpf"
    cg_mount.mkdir()
    bpf_mount.mkdir()
    cgroup = cg_mount / f"labkit-test-{name}"
    _sh("ip", "netns", "add", name)
    try:
        _sh("ip", "-n", name, "link", "set", "lo", "up")
        for ip in (BACKEND, OTHER):
            _sh("ip", "-n", name, "addr", "add", f"{ip}/32", "dev", "lo")
        _sh("mount", "-t", "cgroup2", "none", str(cg_mount))
        _sh("mount", "-t", "bpf", "bpf", str(bpf_mount))
        cgroup.mkdir()
        yield name, cgroup, bpf_mount
    finally:
        _remove_cgroup(cgroup)
        subprocess.run(["umount", str(cg_mount)], capture_output=True)
        subprocess.run(["umount", str(bpf_mount)], capture_output=True)
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def _remove_cgroup(cgroup: Path) -> None:
    """Kills what is left in the cgroup, waits for it to empty, removes it."""
    for _ in range(100):
        if not cgroup.exists():
            return
        pids = (cgroup / "cgroup.procs").read_text().split()
        for pid in pids:
            subprocess.run(["kill", "-9", pid], capture_output=True)
        try:
            cgroup.rmdir()
            return
        except OSError:
            time.sleep(0.05)


SERVER = textwrap.dedent("""
    import socket, sys, threading
    def tcp(ip, port):
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((ip, port)); s.listen(64)
        while True:
            c, _ = s.accept(); c.sendall(ip.encode()); c.close()
    def udp(ip, port):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((ip, port))
        while True:
            data, peer = s.recvfrom(100); s.sendto(ip.encode(), peer)
    for ip in sys.argv[1:]:
        threading.Thread(target=tcp, args=(ip, 8080), daemon=True).start()
        threading.Thread(target=udp, args=(ip, 5353), daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()
""")

CLIENT = textwrap.dedent("""
    import socket, sys
    vip = sys.argv[1]
    answers = []
    for _ in range(int(sys.argv[2])):
        s = socket.create_connection((vip, 80), timeout=2)
        answers.append((s.recv(100).decode(), s.getpeername()[0]))
        s.close()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(2)
    u.sendto(b"hi", (vip, 53))
    data, peer = u.recvfrom(100)
    for a in answers: print("tcp", *a)
    print("udp", data.decode(), peer[0], peer[1])
""")


def _in(name: str, cgroup: Path | None, code: str, *args: str, **kw):
    enter = f"echo $$ > {cgroup}/cgroup.procs && " if cgroup else ""
    return subprocess.Popen(
        ["sh", "-c", f'{enter}exec ip netns exec {name} {sys.executable} -c "$0" "$@"', code,
         *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_connect_to_a_service_address_reaches_both_backends_and_getpeername_says_vip(sandbox):
    from labkit.ebpf.sock_lb import Backend, SocketLB

    name, cgroup, pins = sandbox
    server = _in(name, None, SERVER, BACKEND, OTHER)
    assert server.stdout.readline().strip() == "ready"
    lb = SocketLB(pins)
    try:
        lb.set_service(VIP, 80, [Backend(1, BACKEND, 8080), Backend(2, OTHER, 8080)],
                       rev_nat_index=7)
        lb.set_service(VIP, 53, [Backend(3, BACKEND, 5353)], protocol="UDP", rev_nat_index=8)
        lb.attach(cgroup, pins / "links")
        client = _in(name, cgroup, CLIENT, VIP, "40")
        out, err = client.communicate(timeout=30)
        assert client.returncode == 0, err
        tcp = [line.split() for line in out.splitlines() if line.startswith("tcp")]
        assert {answer for _, answer, _ in tcp} == {BACKEND, OTHER}
        assert {peer for _, _, peer in tcp} == {VIP}
        assert out.splitlines()[-1].split() == ["udp", BACKEND, VIP, "53"]

        trace = lb.translations()
        connects = trace[trace.hook == "connect"]
        assert len(connects) == 40
        assert set(connects.original_ip) == {VIP}
        assert set(connects.backend_ip) == {BACKEND, OTHER}
        assert "getpeername" in set(trace.hook) and "recvmsg" in set(trace.hook)

        # A process outside the cgroup is not translated: the VIP has no route there.
        outside = _in(name, None, CLIENT, VIP, "1")
        _, err = outside.communicate(timeout=30)
        assert outside.returncode != 0 and "unreachable" in err.lower()
        assert {p.name for p in (pins / "links").iterdir()} == {
            "cil_sock4_connect", "cil_sock4_sendmsg", "cil_sock4_recvmsg",
            "cil_sock4_getpeername"}
    finally:
        server.kill()
        lb.close()


def test_refuses_to_attach_to_a_root_cgroup(sandbox):
    from labkit.ebpf.sock_lb import DatapathError, SocketLB

    _, cgroup, pins = sandbox
    lb = SocketLB(pins)
    try:
        with pytest.raises(DatapathError, match="root cgroup"):
            lb.attach(cgroup.parent, pins / "links")
    finally:
        lb.close()
