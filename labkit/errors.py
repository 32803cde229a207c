"""The errors labkit raises: each says what happened and what to do about it."""

from __future__ import annotations


class LabkitError(Exception):
    """Base of every error labkit raises on purpose."""


class ParseError(LabkitError, ValueError):
    """A command's output held something the parser does not understand.

    It quotes the offending line and its number (1-based, in the output as given), so a
    learner can see at once which line of a pasted output is the problem.
    """

    def __init__(
        self,
        message: str,
        *,
        line: str | None = None,
        line_number: int | None = None,
        parser: str | None = None,
    ) -> None:
        self.message = message
        self.line = line
        self.line_number = line_number
        self.parser = parser
        where = f"{parser}: " if parser else ""
        if line_number is not None:
            where += f"line {line_number}: "
        quoted = f": {line!r}" if line is not None else ""
        super().__init__(f"{where}{message}{quoted}")
