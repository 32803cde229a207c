"""The `labkit` command: `labkit doctor` checks the machine; the lab verbs come from the labs."""

from __future__ import annotations

import argparse
import sys

from labkit.cluster.cli import add_commands as cluster_lab_commands
from labkit.local.cli import add_commands as local_lab_commands


def _doctor(args: argparse.Namespace) -> int:
    from labkit import doctor

    return doctor.run()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="labkit", description="See how Cilium moves packets, on a cluster or a local lab.")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    doctor = verbs.add_parser("doctor", help="check what the local and the cluster lab need")
    doctor.set_defaults(func=_doctor)
    local_lab_commands(verbs)
    cluster_lab_commands(verbs)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
