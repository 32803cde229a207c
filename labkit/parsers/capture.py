"""Parsers for capture output (being written)."""

__all__: list[str] = []
