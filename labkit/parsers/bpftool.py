"""Parsers for bpftool output (being written)."""

__all__: list[str] = []
