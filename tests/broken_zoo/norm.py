"""Deliberately broken norm layers (format: see tests/broken_layers.py)."""
BROKEN: dict = {}
