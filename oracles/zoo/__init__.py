"""The layer zoo's registry entries, one module per family; importing a module registers its layers."""
from . import activations, attention, conv, losses, misc, norm, recurrent, structure  # noqa: F401
