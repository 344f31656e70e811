"""Deliberately broken recurrent layers (format: see tests/broken_layers.py)."""
BROKEN: dict = {}
