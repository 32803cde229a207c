"""Compiles one of labkit's C files with bcc, its maps pinned in a bpffs directory.

Every process that compiles the same file with the same directory gets the same maps
(bcc reuses pinned maps), which is how the CLI, the notebooks and the tests all see one
datapath. Compiling takes a few tenths of a second, once per process and file.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from labkit.errors import LabkitError

HERE = Path(__file__).parent


class DatapathError(LabkitError):
    """The eBPF datapath could not be loaded or attached."""


def compile_pinned(source: str, pin_dir: Path | str):
    """A bcc BPF object for ``source`` (a file beside this module), maps under ``pin_dir``."""
    from bcc import BPF  # noqa: PLC0415 - system module, imported where it is needed

    pin_dir = Path(pin_dir)
    if not pin_dir.is_dir():
        raise DatapathError(f"{pin_dir} does not exist: mount a bpffs there first")
    text = (HERE / source).read_text().replace("PIN_DIR", str(pin_dir))
    try:
        return BPF(text=text.encode(), cflags=[f"-I{HERE}"])
    except Exception as e:  # bcc raises bare Exception on compile errors
        raise DatapathError(
            f"cannot compile {source}: {e}; run `labkit doctor` to check bcc and kernel headers"
        ) from e


def load(bpf, name: str, prog_type: int, attach_type: int = -1):
    """Loads one function of a compiled object as a program the kernel accepts."""
    try:
        return bpf.load_func(name.encode(), prog_type, attach_type=attach_type)
    except Exception as e:  # bcc raises bare Exception when the verifier refuses
        raise DatapathError(f"the kernel refused {name}: {e}; `labkit doctor` checks that "
                            "this kernel loads BPF programs (it needs 5.8 or newer)") from e


@contextlib.contextmanager
def loaded(bpf, programs: dict[str, tuple[int, int]]) -> Iterator[dict[str, int]]:
    """Loads programs (name -> (program type, attach type)) for the time of an attach and
    yields their fds; then lets go of them. What attached them (a link, a tc filter) keeps
    them alive, and no process keeps a program of the lab after `labkit down`."""
    fds = {name: load(bpf, name, prog_type, attach_type).fd
           for name, (prog_type, attach_type) in programs.items()}
    try:
        yield fds
    finally:
        for name, fd in fds.items():
            bpf.funcs.pop(name.encode(), None)
            os.close(fd)
