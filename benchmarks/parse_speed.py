"""How fast labkit parses big outputs: 100,000 rows of each, against a 1-second target.

Builds synthetic outputs (shapes from the seed, ../shared/FORMATS.md and the real outputs)
for `cilium bpf lb list` (1.16 grouped form and 1.17+ per-slot form), `cilium bpf ipcache
list`, `conntrack -L` and strace call lines, parses each through `labkit.parse`, and prints
rows, seconds, rows per second and the ratio of the time taken to the target. A command that
labkit has no parser for yet is skipped, saying so. Exit status 1 when one misses the target.

    .venv/bin/python benchmarks/parse_speed.py [--rows N]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labkit import ParseError, parse  # noqa: E402

TARGET_SECONDS = 1.0  # for 100,000 rows; scaled with --rows


def _ip(i: int, net: str = "172.16") -> str:
    return f"{net}.{(i >> 8) & 255}.{i & 255}"


def lb_list_grouped(rows: int) -> str:
    """1.16 as in the seed: a frontend row, then its backends indented under it."""
    out = ["SERVICE ADDRESS       BACKEND ADDRESS"]
    for i in range(rows // 4):
        frontend = f"10.{96 + (i >> 16)}.{(i >> 8) & 255}.{i & 255}:80"
        out.append(f"{frontend:<22}0.0.0.0:0 ({i + 1}) [ClusterIP, non-routable]")
        for b in range(3):
            out.append(f"{'':<22}{_ip(i * 3 + b)}:80 ({i + 1})")
    return "\n".join(out) + "\n"


def lb_list_per_slot(rows: int) -> str:
    """1.17+: one row per slot, `/TCP` suffixes, trailing padding."""
    out = ["SERVICE ADDRESS               BACKEND ADDRESS (REVNAT_ID) (SLOT)"]
    for i in range(rows // 4):
        frontend = f"10.{96 + (i >> 16)}.{(i >> 8) & 255}.{i & 255}:80/TCP"
        out.append(f"{frontend + ' (0)':<31}0.0.0.0:0 ({i + 1}) (0) [ClusterIP, non-routable]   ")
        for slot in range(1, 4):
            backend = f"{_ip(i * 3 + slot)}:80/TCP ({i + 1}) ({slot})"
            out.append(f"{frontend + f' ({slot})':<31}{backend}        ")
    return "\n".join(out) + "\n"


def ipcache_list(rows: int) -> str:
    out = ["IP PREFIX/ADDRESS   IDENTITY"]
    for i in range(rows):
        out.append(f"{_ip(i) + '/32':<20}identity={1000 + i % 50000} encryptkey=0 "
                   f"tunnelendpoint=192.168.10.{101 + i % 2} flags=hastunnel   ")
    return "\n".join(out) + "\n"


def conntrack_list(rows: int) -> str:
    out = []
    for i in range(rows):
        src, dst, sport = _ip(i), _ip(i + 7, "10.0"), 30000 + i % 30000
        out.append(f"tcp      6 431995 ESTABLISHED src={src} dst={dst} sport={sport} dport=80 "
                   f"src={dst} dst={src} sport=80 dport={sport} [ASSURED] mark=0 use=1")
    out.append(f"conntrack v1.4.7 (conntrack-tools): {rows} flow entries have been shown.")
    return "\n".join(out) + "\n"


def strace_lines(rows: int) -> str:
    out = []
    for i in range(rows):
        stamp = f"08:{19 + i // 6_000_000 % 40:02d}:{i // 100_000 % 60:02d}.{i % 1_000_000:06d}"
        pid = 1234 + i % 3
        if i % 2:
            out.append(f"[pid  {pid}] {stamp} connect(5, {{sa_family=AF_INET, sin_port=htons(80), "
                       f'sin_addr=inet_addr("10.10.124.15")}}, 16) = -1 EINPROGRESS '
                       "(Operation in progress)")
        else:
            out.append(f"[pid  {pid}] {stamp} getsockname(5, {{sa_family=AF_INET, "
                       f'sin_port=htons({40000 + i % 20000}), sin_addr=inet_addr("172.16.0.132")}}'
                       ", [128 => 16]) = 0")
    return "\n".join(out) + "\n"


CASES: list[tuple[str, str, Callable[[int], str]]] = [
    ("cilium bpf lb list (1.16 grouped)", "cilium bpf lb list", lb_list_grouped),
    ("cilium bpf lb list (1.17+ per slot)", "cilium bpf lb list", lb_list_per_slot),
    ("cilium bpf ipcache list", "cilium bpf ipcache list", ipcache_list),
    ("conntrack -L", "conntrack -L", conntrack_list),
    ("strace -f -tt (call lines)", "strace -f -tt curl -s 10.10.124.15", strace_lines),
]


def main() -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--rows", type=int, default=100_000, help="rows per output")
    rows = args.parse_args().rows
    target = TARGET_SECONDS * rows / 100_000
    print(f"target: {rows:,} rows in {target:.2f} s each\n")
    print(f"{'output':<38}{'rows':>10}{'seconds':>10}{'rows/s':>12}{'x target':>10}")
    missed = []
    for label, command, build in CASES:
        text = build(rows)
        start = time.perf_counter()
        try:
            df = parse(command, text)
        except ParseError as e:
            if "no parser" in str(e):
                print(f"{label:<38}  skipped: labkit has no parser for `{command}` yet")
                continue
            print(f"{label:<38}  FAILED to parse: {e}")
            missed.append(label)
            continue
        seconds = time.perf_counter() - start
        ratio = seconds / target
        print(f"{label:<38}{len(df):>10,}{seconds:>10.3f}{len(df) / seconds:>12,.0f}"
              f"{ratio:>9.2f}x{'  MISSED' if ratio > 1 else ''}")
        if ratio > 1:
            missed.append(label)
    if missed:
        print(f"\nmissed the target: {', '.join(missed)}")
        return 1
    print("\nevery output parsed within the target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
