"""The cluster lab's command-line verbs: ``labkit cluster up`` and ``labkit cluster down``.

labkit/cli.py owns the parser; it calls ``add_commands(subparsers)`` and then runs
``args.func(args)``, which returns the exit code.
"""

from __future__ import annotations

import argparse
import sys

from labkit.errors import LabError


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``cluster up`` and ``cluster down`` on the main parser's subparsers."""
    cluster = subparsers.add_parser(
        "cluster", help="a kind cluster with Cilium 1.16.3, as in the study (needs docker, "
                        "kind, helm)")
    verbs = cluster.add_subparsers(dest="cluster_verb", required=True, metavar="VERB")
    up = verbs.add_parser("up", help="create the kind cluster and install Cilium (idempotent)")
    up.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    up.set_defaults(func=_up)
    down = verbs.add_parser("down", help="delete the kind cluster")
    down.set_defaults(func=_down)


def _up(args: argparse.Namespace) -> int:
    from labkit.cluster import build  # noqa: PLC0415

    def bring_up() -> None:
        build.up(progress=not args.quiet)
        print(f"cluster up: kubectl context {build.CONTEXT}; in a notebook: "
              f"labkit.connect('cluster')")
    return _guard(bring_up)


def _down(args: argparse.Namespace) -> int:
    from labkit.cluster import build  # noqa: PLC0415

    return _guard(build.down)


def _guard(action) -> int:
    try:
        action()
    except LabError as exc:
        print(f"labkit: {exc}", file=sys.stderr)
        return 2
    return 0
