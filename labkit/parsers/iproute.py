"""Parsers for iproute output (being written)."""

__all__: list[str] = []
