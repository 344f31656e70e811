"""Deliberately broken losses layers (format: see tests/broken_layers.py)."""
BROKEN: dict = {}
