"""Parsers for system output (being written)."""

__all__: list[str] = []
