"""Parsers for kubectl output (being written)."""

__all__: list[str] = []
