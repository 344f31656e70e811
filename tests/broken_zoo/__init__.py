"""Broken variants of the zoo's layers, one module per family, merged into one table."""
from . import activations, attention, conv, losses, misc, norm, recurrent, structure

BROKEN: dict = {}
for _m in (activations, attention, conv, losses, misc, norm, recurrent, structure):
    BROKEN.update(_m.BROKEN)
