"""Deliberately broken misc layers (format: see tests/broken_layers.py)."""
BROKEN: dict = {}
