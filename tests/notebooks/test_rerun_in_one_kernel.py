"""Every cell can be run again: each notebook's cells, run top to bottom and then all again
in the same kernel (as an instructor re-running a lesson does), against the local lab.

`make notebooks` runs each notebook in a fresh kernel with nbval, twice; this runs each one's
cells twice in one kernel, where a cell that only works once (a name it rebinds, a state it
assumes) would fail.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
BOOKS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))

pytestmark = pytest.mark.root


@pytest.fixture(autouse=True)
def _this_process_lets_go_of_the_lab():
    """Earlier lab tests in this process hold the lab's programs open; notebook 09's teardown
    could not unload them, and its residue check would rightly say so."""
    from labkit.local import datapath

    datapath.forget()


@pytest.mark.parametrize("path", BOOKS, ids=lambda p: p.name)
def test_every_cell_runs_again_in_the_same_kernel(path: Path, monkeypatch: pytest.MonkeyPatch):
    if os.geteuid() != 0:
        pytest.skip("needs root (the notebooks drive the local lab): sudo make test")
    monkeypatch.setenv("LABKIT_WIDGETS", "static")
    monkeypatch.setenv("LABKIT_COUNTS", "1,100,1000")  # notebook 10: fewer service counts
    book = nbformat.read(path, as_version=4)
    again = [nbformat.v4.new_code_cell(c.source) for c in book.cells if c.cell_type == "code"]
    book.cells = book.cells + again
    NotebookClient(book, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
