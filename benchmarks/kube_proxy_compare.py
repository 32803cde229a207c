"""Socket LB against kube-proxy's iptables DNAT on the local lab, as notebook 10 measures it:
for N services, connections per second and request latency (median, p99) from netpod to
(a) the pod IPs directly, (b) the ClusterIP through the socket LB, (c) the ClusterIP
through iptables DNAT; the rule install time; every figure also as a ratio to (a).

Run as root: .venv/bin/python benchmarks/kube_proxy_compare.py [--counts 1,100,1000,5000,10000]
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from labkit import checks
from labkit.data import path as data_path
from labkit.local import LocalLab, compare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default=",".join(map(str, compare.COUNTS)))
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    counts = tuple(int(n) for n in args.counts.split(","))
    lab = LocalLab()
    lab.down()
    start = time.perf_counter()
    try:
        lab.up(progress=False)
        lab.apply(data_path("pods.yaml"))
        lab.apply(data_path("svc.yaml"))
        figures = compare.measure(lab, counts, args.requests, args.repeats)
    finally:
        lab.down()
    summary = compare.summary(figures)
    with pd.option_context("display.width", 160, "display.max_columns", 20,
                           "display.float_format", "{:.3f}".format):
        print(summary.to_string(index=False))
    print(f"\n{args.repeats} repeats of {args.requests} requests per path and count; "
          f"{time.perf_counter() - start:.0f} s in all")
    try:
        print(checks.socket_lb_close_to_direct(summary))
        print(checks.iptables_cost_grows(summary))
    except checks.CheckFailed as e:
        print(f"check failed: {e}")
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
