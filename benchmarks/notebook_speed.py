"""How long each notebook takes to execute against the lab, against the issue's target: the
whole set in under 3 minutes. Runs them in order (00 brings the lab up, 09 takes it down),
each in a fresh kernel with widgets in their static form, as CI does.

Run as root: .venv/bin/python benchmarks/notebook_speed.py [--rounds N] [NAME_PREFIX ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
TARGET = 180.0


def run(path: Path) -> float:
    """Executes one notebook (outputs are discarded) and returns the seconds it took."""
    book = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(book, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("names", nargs="*", help="only the notebooks starting with these")
    args = parser.parse_args()
    os.environ.setdefault("LABKIT_WIDGETS", "static")
    books = sorted(p for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")
                   if not args.names or p.name.startswith(tuple(args.names)))
    totals = []
    for round_ in range(1, args.rounds + 1):
        total = 0.0
        for path in books:
            try:
                took = run(path)
            except CellExecutionError as e:
                print(f"{path.name:<36} FAILED: {str(e).splitlines()[-1]}", file=sys.stderr)
                return 1
            total += took
            print(f"round {round_}  {path.name:<36} {took:6.1f} s", flush=True)
        totals.append(total)
        print(f"round {round_}  {'all notebooks':<36} {total:6.1f} s "
              f"(target < {TARGET:.0f} s)", flush=True)
    return 0 if max(totals) < TARGET else 2


if __name__ == "__main__":
    sys.exit(main())
