"""Parsers for netfilter output (being written)."""

__all__: list[str] = []
