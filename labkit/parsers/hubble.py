"""Parsers for hubble output (being written)."""

__all__: list[str] = []
