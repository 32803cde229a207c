"""Fixture loading: the seed's outputs (in tests/fixtures/seed) and the real outputs that
others captured (read from ../shared/real-outputs at test time, never copied here).

Both use one format: ``#! key: value`` header lines, a ``#! ---`` line, then the output
verbatim. ``Output.command`` is the command the header names.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "tests" / "fixtures" / "seed"
SHARED = Path(os.environ.get("LABKIT_SHARED", ROOT.parent / "shared"))
REAL = SHARED / "real-outputs"


@dataclass(frozen=True)
class Output:
    path: Path
    header: dict
    text: str

    @property
    def command(self) -> str:
        """The command, without a collector's trailing note such as ``(excerpt; IPv6)``."""
        return re.sub(r"\s+\([^()]*\s[^()]*\)\s*$", "", self.header["command"])

    @property
    def kind(self) -> str:
        return self.header.get("kind", "")


def load(path: Path) -> Output:
    raw = path.read_text()
    head, sep, body = raw.partition("#! ---\n")
    if not sep:
        raise ValueError(f"{path}: no '#! ---' line")
    header = {}
    for line in head.splitlines():
        if line.startswith("#! ") and ":" in line:
            key, _, value = line[3:].partition(":")
            header.setdefault(key.strip(), value.strip())
    return Output(path, header, body)


def seed(name: str) -> Output:
    """A seed output by file name without .txt (see tests/fixtures/seed)."""
    return load(SEED / f"{name}.txt")


def real(relpath: str) -> Output:
    """A real output from ../shared/real-outputs; skips the test when that folder is absent."""
    if not REAL.is_dir():
        pytest.skip(f"{REAL} is absent: the real-output corpus lives beside the project")
    return load(REAL / relpath)


def real_dir(name: str) -> list[Output]:
    """Every real output of one command folder (e.g. 'cilium-service-list')."""
    if not REAL.is_dir():
        pytest.skip(f"{REAL} is absent: the real-output corpus lives beside the project")
    return [load(p) for p in sorted((REAL / name).iterdir()) if p.is_file()]


def real_ids(name: str) -> list[str]:
    """File names of one real-output folder, for parametrize (empty if the corpus is absent)."""
    folder = REAL / name
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
