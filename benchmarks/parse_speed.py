"""How fast labkit parses big outputs: 100,000 rows of each, against a 1-second target.

Builds synthetic outputs, shaped like the real ones in tests/fixtures (seed, local, invented)
and ../shared/real-outputs, for `cilium bpf lb list` (the 1.16 grouped form and the 1.17+
per-slot form), `cilium bpf ipcache list`, `conntrack -L` and `strace -f -tt` call lines.
Each is parsed through `labkit.parse` --repeat times (3 by default); the table shows the
best and the median time, rows per second (from the best) and the best time as a fraction
of the target. Every parse must give the expected number of rows. A command that labkit has
no parser for yet is skipped, saying so.

Exit status 1 when an output fails to parse, gives the wrong number of rows, or its best
time misses the target.

    .venv/bin/python benchmarks/parse_speed.py [--rows N] [--repeat N]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labkit import ParseError, parse  # noqa: E402

TARGET_SECONDS = 1.0  # for 100,000 rows; scaled with --rows


def _ip(i: int, net: str = "172.16") -> str:
    return f"{net}.{(i >> 8) & 255}.{i & 255}"


def _frontend(i: int) -> str:
    return f"10.{96 + (i >> 16) % 64}.{(i >> 8) & 255}.{i & 255}"


def lb_list_grouped(rows: int) -> str:
    """1.16 as in the seed (1.0-1.16 print the same way): a frontend row holding the master
    `0.0.0.0:0 (revnat) [type, scope]`, then its backends indented under it."""
    out = ["SERVICE ADDRESS       BACKEND ADDRESS"]
    i = 0
    while len(out) <= rows:
        out.append(f"{_frontend(i) + ':80':<22}0.0.0.0:0 ({i + 1}) [ClusterIP, non-routable]")
        out.extend(f"{'':<22}{_ip(i * 3 + b)}:80 ({i + 1})" for b in range(3))
        i += 1
    return "\n".join(out[:rows + 1]) + "\n"


def lb_list_per_slot(rows: int) -> str:
    """1.17+ (real 1.18 output): one row per slot, `/TCP` suffixes, trailing padding."""
    out = ["SERVICE ADDRESS               BACKEND ADDRESS (REVNAT_ID) (SLOT)"]
    i = 0
    while len(out) <= rows:
        frontend = f"{_frontend(i)}:80/TCP"
        out.append(f"{frontend + ' (0)':<31}0.0.0.0:0 ({i + 1}) (0) [ClusterIP, non-routable]   ")
        for slot in range(1, 4):
            backend = f"{_ip(i * 3 + slot)}:80/TCP ({i + 1}) ({slot})"
            out.append(f"{frontend + f' ({slot})':<31}{backend:<62}")
        i += 1
    return "\n".join(out[:rows + 1]) + "\n"


def ipcache_list(rows: int) -> str:
    """1.16+: pods on other nodes (tunnel, flags=hastunnel), local ones (0.0.0.0, with the
    comma some versions print), trailing padding."""
    out = ["IP PREFIX/ADDRESS   IDENTITY"]
    for i in range(rows):
        if i % 4:
            value = (f"identity={1000 + i % 50000} encryptkey=0 "
                     f"tunnelendpoint=192.168.10.{101 + i % 2} flags=hastunnel")
        else:
            value = f"identity={1000 + i % 50000} encryptkey=0 tunnelendpoint=0.0.0.0, flags=<none>"
        out.append(f"{_ip(i) + '/32':<20}{value:<76}")
    return "\n".join(out) + "\n"


def conntrack_list(rows: int) -> str:
    """`conntrack -L 2>&1` as captured: mostly TCP, some DNS over UDP and pings, then the
    trailer line conntrack prints on stderr."""
    out = []
    for i in range(rows):
        src, dst, sport = _ip(i), _ip(i + 7, "10.0"), 30000 + i % 30000
        if i % 10 < 8:
            out.append(f"tcp      6 431995 ESTABLISHED src={src} dst={dst} sport={sport} dport=80 "
                       f"src={dst} dst={src} sport=80 dport={sport} [ASSURED] mark=0 use=1")
        elif i % 10 == 8:
            out.append(f"udp      17 25 src={src} dst={dst} sport={sport} dport=53 [UNREPLIED] "
                       f"src={dst} dst={src} sport=53 dport={sport} mark=0 use=1")
        else:
            out.append(f"icmp     1 29 src={src} dst={dst} type=8 code=0 id={i % 65536} "
                       f"src={dst} dst={src} type=0 code=0 id={i % 65536} mark=0 use=1")
    out.append(f"conntrack v1.4.7 (conntrack-tools): {rows} flow entries have been shown.")
    return "\n".join(out) + "\n"


def strace_lines(rows: int) -> str:
    """`strace -f -tt` of curl, as in the seed: connect() and getsockname() lines."""
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


# label, command, builder; each builder's output has exactly `rows` rows.
CASES: list[tuple[str, str, Callable[[int], str]]] = [
    ("cilium bpf lb list (1.16 grouped)", "cilium bpf lb list", lb_list_grouped),
    ("cilium bpf lb list (1.17+ per slot)", "cilium bpf lb list", lb_list_per_slot),
    ("cilium bpf ipcache list", "cilium bpf ipcache list", ipcache_list),
    ("conntrack -L", "conntrack -L", conntrack_list),
    ("strace -f -tt (call lines)", "strace -f -tt curl -s 10.10.124.15", strace_lines),
]


def measure(command: str, text: str, repeat: int) -> tuple[list[float], int]:
    """The time of each of `repeat` parses, and the rows the parse gave."""
    times, count = [], 0
    for _ in range(repeat):
        gc.collect()  # each run starts from the same heap, not the last run's garbage
        start = time.perf_counter()
        df = parse(command, text)
        times.append(time.perf_counter() - start)
        count = len(df)
        del df
    return times, count


def main() -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--rows", type=int, default=100_000, help="rows per output")
    args.add_argument("--repeat", type=int, default=3, help="parses of each output")
    opts = args.parse_args()
    rows, repeat = opts.rows, max(1, opts.repeat)
    target = TARGET_SECONDS * rows / 100_000
    print(f"target: {rows:,} rows in {target:.2f} s each (best of {repeat}; "
          f"{os.cpu_count()} CPUs)\n")
    print(f"{'output':<38}{'rows':>9}{'best s':>9}{'median s':>10}{'rows/s':>11}{'x target':>10}")
    failed = []
    for label, command, build in CASES:
        text = build(rows)
        try:
            times, count = measure(command, text, repeat)
        except ParseError as e:
            if "no parser" in str(e):
                print(f"{label:<38}  skipped: labkit has no parser for `{command}` yet")
                continue
            print(f"{label:<38}  FAILED to parse: {e}")
            failed.append(label)
            continue
        best, median = min(times), statistics.median(times)
        ratio = best / target
        verdict = "  MISSED" if ratio > 1 else ""
        if count != rows:
            verdict = f"  WRONG: {count:,} rows, not {rows:,}"
        print(f"{label:<38}{count:>9,}{best:>9.3f}{median:>10.3f}{count / best:>11,.0f}"
              f"{ratio:>9.2f}x{verdict}")
        if verdict:
            failed.append(label)
    if failed:
        print(f"\nmissed the target or failed: {', '.join(failed)}")
        return 1
    print("\nevery output parsed within the target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
