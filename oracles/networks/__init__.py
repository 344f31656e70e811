"""Whole networks drawn by Hypothesis from the registry, checked layer by layer.

One network *description* (a list of blocks, each naming a registry entry, plus a seed for the values)
builds the same network three times: from the reference layers, from the registry's PyTorch functions
(one autograd graph over the whole network) and from the registry's JAX functions (each layer's jitted
`jax.vjp`, chained; compiled once per layer and shape, so networks that reuse shapes reuse compiles).
No model is written twice by hand: every layer's math comes from its registry entry.

Every layer of the network is compared: its output, the gradient with respect to its input (the
deltas of the seeds' matrix formulation) and its parameter gradients. When something diverges, errors
propagate (forward errors to every later layer, gradient errors to every earlier one), so the layer
blamed is where the divergence *begins*: the first layer whose output diverges, else the last layer
(the first one backward) whose gradients diverge.

>>> from hypothesis import given, settings
>>> from oracles.networks import check_network, networks
>>> @settings(max_examples=3, deadline=None, database=None)
... @given(networks("mlp", "float64"))
... def test(net):
...     check_network(net).assert_passed()
>>> test()
"""
from __future__ import annotations

from .building import Network, Node, build
from .check import NetworkCheck, NetworkMismatch, NetworkResult, blame, check_network, run_network_check
from .describe import (ACTS, FAMILIES, HEADS, VOCABULARY, Block, Family, NetDesc, networks, register_block,
                       register_network_layer, unregister_network_layer)
from .run import NET_RUNNERS, net_jax, net_reference, net_torch
from .train import train_network

__all__ = [
    "ACTS", "FAMILIES", "HEADS", "VOCABULARY", "Block", "Family", "NetDesc", "networks", "register_block",
    "register_network_layer", "unregister_network_layer",
    "Network", "Node", "build",
    "NET_RUNNERS", "net_jax", "net_reference", "net_torch",
    "NetworkCheck", "NetworkMismatch", "NetworkResult", "blame", "check_network", "run_network_check",
    "train_network",
]

#: Names this package had when it was one module, kept working with a DeprecationWarning.
_RENAMED = {"run_reference": "net_reference", "run_torch": "net_torch", "run_jax": "net_jax", "_blame": "blame"}


def __getattr__(name: str):
    if name in _RENAMED:
        import warnings

        warnings.warn(f"oracles.networks.{name} is now {_RENAMED[name]}", DeprecationWarning, stacklevel=2)
        return globals()[_RENAMED[name]]
    raise AttributeError(f"module 'oracles.networks' has no attribute {name!r}")
