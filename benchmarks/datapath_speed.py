"""What the local lab's eBPF datapath costs: a TCP connection plus a small HTTP request
from netpod to webpod1 by its pod IP, and to the service's ClusterIP through the socket LB
(which translates once, at connect(), not per packet), measured side by side in one run;
and the time bcc takes to compile and load the programs at `labkit up`.

Run as root: .venv/bin/python benchmarks/datapath_speed.py [--requests N] [--rounds N]
Targets: ClusterIP/pod-IP ratio under 1.05; `up` under 5 s in all.
"""

from __future__ import annotations

import argparse
import statistics
import time

from labkit import data
from labkit.ebpf.lxc import EndpointPrograms
from labkit.ebpf.sock_lb import SocketLB
from labkit.local import LocalLab, compare, datapath


def connection_times(lab: LocalLab, requests: int) -> tuple[list[float], list[float]]:
    """Per-request seconds to webpod1's pod IP and to the service's ClusterIP, side by side."""
    pod_ip = lab.pod_ip("webpod1")
    svc = lab.services()
    vip = svc.loc[svc.name == "svc", "cluster_ip"].item()
    times = compare.connection_times(lab, [pod_ip, vip], requests)
    return times[pod_ip], times[vip]


def compile_time() -> float:
    start = time.perf_counter()
    EndpointPrograms(datapath.MAPS_DIR).close()
    SocketLB(datapath.MAPS_DIR).close()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    lab = LocalLab()
    lab.down()
    try:
        start = time.perf_counter()
        lab.up(progress=False)
        lab.apply(data.path(data.SEED_PODS))
        lab.apply(data.path(data.SEED_SERVICE))
        up = time.perf_counter() - start
        compiled = compile_time()
        # The service has two backends; pin it to webpod1 so both paths reach the same pod.
        lab.delete("pod/webpod2")
        ratios, direct, via = [], [], []
        for _ in range(args.rounds):
            d, v = connection_times(lab, args.requests)
            direct.append(statistics.median(d))
            via.append(statistics.median(v))
            ratios.append(via[-1] / direct[-1])
    finally:
        lab.down()
    print(f"up (3 nodes, testpc, seed pods and service): {up:.2f} s (target 5 s)")
    print(f"bcc compile of bpf_lxc.c and sock_lb.c: {compiled:.2f} s (programs load at each "
          "attach, in milliseconds)")
    print(f"{'round':>5} {'pod IP':>10} {'ClusterIP':>10} {'ratio':>7}")
    for i, (d, v, r) in enumerate(zip(direct, via, ratios, strict=True), start=1):
        print(f"{i:>5} {d * 1e6:8.0f}us {v * 1e6:8.0f}us {r:7.3f}")
    ratio = statistics.median(ratios)
    print(f"median ratio ClusterIP/pod IP: {ratio:.3f} (target < 1.05; spread "
          f"{min(ratios):.3f}-{max(ratios):.3f})")
    raise SystemExit(0 if ratio < 1.05 and up < 5 else 1)


if __name__ == "__main__":
    main()
