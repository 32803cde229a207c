"""Parsers for cilium_monitor output (being written)."""

__all__: list[str] = []
