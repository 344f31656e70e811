"""Deliberately broken activations layers (format: see tests/broken_layers.py)."""
BROKEN: dict = {}
