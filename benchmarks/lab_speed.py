"""How fast the local lab is: up (three nodes, testpc, the seed's three pods), down, and the
median of lab.exec(pod, "true"), against the issue's targets on a 2-core machine.

Run as root: .venv/bin/python benchmarks/lab_speed.py [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import time

from labkit import data
from labkit.local import LocalLab

SEED_PODS = data.path(data.SEED_PODS)
TARGETS = {"up": 5.0, "down": 2.0, "exec": 0.020}


def measure(rounds: int, execs: int) -> dict[str, float]:
    lab = LocalLab()
    lab.down()
    ups, downs, runs = [], [], []
    try:
        for _ in range(rounds):
            start = time.perf_counter()
            lab.up(progress=False)
            lab.apply(SEED_PODS)
            ups.append(time.perf_counter() - start)
            for _ in range(execs):
                start = time.perf_counter()
                lab.exec("netpod", "true", check=True)
                runs.append(time.perf_counter() - start)
            start = time.perf_counter()
            lab.down()
            downs.append(time.perf_counter() - start)
    finally:
        lab.down()
    return {"up": statistics.median(ups), "down": statistics.median(downs),
            "exec": statistics.median(runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--execs", type=int, default=50)
    args = parser.parse_args()
    figures = measure(args.rounds, args.execs)
    print(f"{'what':6} {'median':>10} {'target':>10} {'ratio':>7}")
    for name, seconds in figures.items():
        target = TARGETS[name]
        print(f"{name:6} {seconds * 1000:8.1f}ms {target * 1000:8.0f}ms {seconds / target:7.2f}")


if __name__ == "__main__":
    main()
