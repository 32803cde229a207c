"""Parsers for cilium_maps output (being written)."""

__all__: list[str] = []
