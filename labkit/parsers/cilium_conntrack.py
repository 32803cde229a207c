"""Parsers for cilium_conntrack output (being written)."""

__all__: list[str] = []
