"""Parsers for cilium_status output (being written)."""

__all__: list[str] = []
