"""The local lab's command-line verbs: ``labkit up``, ``labkit down [--check]``, ``labkit status``.

labkit/cli.py owns the parser; it calls ``add_commands(subparsers)`` and then runs
``args.func(args)``, which returns the exit code.
"""

from __future__ import annotations

import argparse
import sys

from labkit.errors import LabError
from labkit.local.lab import LocalLab


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register up, down and status on the main parser's subparsers."""
    up = subparsers.add_parser("up", help="bring the local lab up (idempotent)")
    up.add_argument("-f", "--filename", action="append", default=[],
                    help="YAML to apply once the lab is up (repeatable)")
    up.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    up.add_argument("--kube-proxy", choices=["none", "iptables"], default=None,
                    help="service datapath: none = socket LB (default), iptables = "
                         "kube-proxy's rules for comparison")
    up.set_defaults(func=_up)
    down = subparsers.add_parser("down", help="remove everything the local lab made")
    down.add_argument("--check", action="store_true",
                      help="only list what of the lab is left; exit 1 if anything is")
    down.set_defaults(func=_down)
    status = subparsers.add_parser("status", help="is the local lab up, and what runs in it")
    status.set_defaults(func=_status)


def _up(args: argparse.Namespace) -> int:
    lab = LocalLab()
    return _guard(lambda: _bring_up(lab, args))


def _bring_up(lab: LocalLab, args: argparse.Namespace) -> int:
    lab.up(progress=not args.quiet)
    for path in args.filename:
        for line in lab.apply(path):
            print(line)
    if args.kube_proxy:
        print(f"kube-proxy mode: {lab.kube_proxy(args.kube_proxy)}")
    print(f"lab up: nodes {', '.join(lab.nodes()['name'])}; {lab.status()['note']}")
    return 0


def _down(args: argparse.Namespace) -> int:
    lab = LocalLab()
    if args.check:
        left = lab.residue()
        for item in left:
            print(f"left behind: {item}")
        if not left:
            print("nothing of the local lab is left on this machine")
        return 1 if left else 0
    return _guard(lambda: _take_down(lab))


def _take_down(lab: LocalLab) -> int:
    lab.down()
    left = lab.residue()
    for item in left:
        print(f"still left: {item}", file=sys.stderr)
    print("lab down" if not left else "lab down, but something is left (see above)")
    return 1 if left else 0


def _status(args: argparse.Namespace) -> int:
    status = LocalLab().status()
    if status["up"]:
        print(f"local lab up: nodes {', '.join(status['nodes'])}, {status['pods']} pods, "
              f"{status['services']} services")
    else:
        print("local lab down" + (f" (leftovers: {len(status['residue'])}; run 'labkit down')"
                                  if status["residue"] else ""))
    print(status["note"])
    return 0 if status["up"] else 3


def _guard(action) -> int:
    try:
        return action()
    except LabError as exc:
        print(f"labkit: {exc}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    """Run the verbs alone (``python -m labkit.local.cli``), until labkit.cli wires them in."""
    parser = argparse.ArgumentParser(prog="labkit")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
