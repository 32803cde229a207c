"""Parsers for cilium_endpoints output (being written)."""

__all__: list[str] = []
