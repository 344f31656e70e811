"""The registry: one LayerSpec per reference layer, tying the class to its math in PyTorch and JAX.

Each framework function is written with that framework's own primitives (F.cross_entropy,
jax.nn.log_softmax, ...) rather than copied from the reference, so that a wrong formula in the reference
cannot be mirrored into its oracles.

This module holds only the (empty) dict and `register`; the entries live in `oracles/zoo/`, one module per
family, and importing `oracles.zoo` registers them all. Code that needs the populated registry imports it
from there: `from oracles.zoo import REGISTRY` (or `from oracles import REGISTRY`), never from here.
"""
from __future__ import annotations

from .spec import LayerSpec

REGISTRY: dict[str, LayerSpec] = {}


def register(spec: LayerSpec) -> LayerSpec:
    """Add a spec to the registry (names are unique: they become test ids)."""
    if spec.name in REGISTRY and REGISTRY[spec.name] is not spec:
        raise ValueError(f"a layer named {spec.name!r} is already registered")
    REGISTRY[spec.name] = spec
    return spec
