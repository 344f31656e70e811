"""Deliberately broken attention layers (format: see tests/broken_layers.py)."""
BROKEN: dict = {}
