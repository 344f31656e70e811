"""Oracles for the NumPy reference: PyTorch autograd, JAX and central differences, driven by Hypothesis.

Heavy imports (torch, jax) happen on first use of an attribute, so that merely loading the pytest
plugin costs nothing.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "Arg": "spec", "Convention": "spec", "Domain": "spec", "Float": "spec", "Index": "spec", "OneHot": "spec", "LayerSpec": "spec",
    "Stage": "names", "FORWARD": "names", "FRAMEWORKS": "names",
    "Tol": "tolerances", "TOLERANCES": "tolerances", "tolerance_for": "tolerances",
    "Case": "strategies", "cases": "strategies", "DTYPES": "names",
    "Comparison": "comparison", "Measurement": "comparison", "measure": "comparison", "compare": "judge",
    "Outcome": "judge", "Verdict": "judge",
    "ORACLES": "names", "JAX_STATS": "backends", "configure": "backends",
    "CheckResult": "result", "OracleMismatch": "result", "OracleNotRun": "result", "OracleInconclusiveWarning": "result", "OracleError": "check",
    "evaluate_case": "check", "run_check": "check", "replay": "check",
    "REGISTRY": "zoo", "register": "registry",
    "check_function": "function", "FunctionReport": "function", "BadFunction": "function_adapt",
    "check_layer": "api", "assert_layer": "api", "check_layer_directional": "api", "DirectionalResult": "api", "LayerReport": "api", "layer_spec": "api",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'oracles' has no attribute {name!r}")
