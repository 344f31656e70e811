"""The layer zoo's registry entries, one module per family; importing a module registers its layers.

The import order below is the registry's order, hence the order of test ids: the seeds first, then the
families alphabetically. `REGISTRY` is re-exported from here, populated (it is the same dict as
`oracles.registry.REGISTRY`, which is empty until this package is imported).
"""
from ..registry import REGISTRY, register  # noqa: F401
from . import seeds  # noqa: F401  (first: the seed layers lead the registry)
from . import activations, attention, conv, losses, misc, norm, recurrent, structure  # noqa: F401

__all__ = ["REGISTRY", "register"]
