"""Parsers for cilium_services output (being written)."""

__all__: list[str] = []
