"""The committed notebooks: one per chapter, without outputs, each opening on the lab and
ending its lesson with check cells (CI executes them: `make notebooks`)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
BOOKS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def test_there_is_a_notebook_per_chapter_00_to_09_and_the_experiment_10():
    assert [p.name[:2] for p in BOOKS] == [f"{i:02d}" for i in range(11)]


@pytest.mark.parametrize("path", BOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs_or_execution_counts(path: Path):
    book = nbformat.read(path, as_version=4)
    dirty = [i for i, cell in enumerate(book.cells) if cell.cell_type == "code"
             and (cell.outputs or cell.execution_count is not None)]
    assert not dirty, (f"{path.name}: cells {dirty} carry outputs or execution counts; clear "
                       "them (Edit > Clear Outputs of All Cells) before committing")


@pytest.mark.parametrize("path", BOOKS, ids=lambda p: p.name)
def test_notebook_opens_on_the_lab_and_checks_what_it_claims(path: Path):
    book = nbformat.read(path, as_version=4)
    nbformat.validate(book)
    assert book.cells[0].cell_type == "markdown" and "What you will see" in book.cells[0].source
    code = [c.source for c in book.cells if c.cell_type == "code"]
    assert "lab = labkit.connect()" in code[0]
    assert any("checks." in c for c in code), "a lesson ends with check cells"
    assert book.metadata["kernelspec"]["name"] == "python3"


def test_no_notebook_code_addresses_a_host_off_the_machine():
    for path in BOOKS:
        book = nbformat.read(path, as_version=4)
        code = "\n".join(c.source for c in book.cells if c.cell_type == "code")
        for outside in ("8.8.8.8", "wttr.in", "google", "1.1.1.1", "http://", "https://"):
            assert outside not in code, f"{path.name} runs something with {outside}"
