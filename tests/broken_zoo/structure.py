"""Deliberately broken structure layers (format: see tests/broken_layers.py)."""
BROKEN: dict = {}
