"""Deliberately broken conv layers (format: see tests/broken_layers.py)."""
BROKEN: dict = {}
