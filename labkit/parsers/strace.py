"""Parsers for strace output (being written)."""

__all__: list[str] = []
