"""How a NumPy layer is called and read, whatever style it is written in (the one place that knows).

- forward: `forward(*inputs, **forward_kwargs)`, or by keyword with `keyword_inputs`
  (`forward(x=..., h=..., train_flg=True)`);
- outputs: one array, or with `LayerSpec.outputs = ("h", "c")` a tuple/list in that order or a dict keyed
  by those names; each is its own stage ("forward_h", "forward_c") with its own cotangent;
- backward: `backward(dout)`; with several outputs `backward(dh, dc)`, or `backward((dh, dc))` when it
  takes a single argument. It returns the input gradients: one array, a tuple (one per differentiable
  input, or one per input), or a dict {input name: gradient};
- parameter gradients: attributes `d<name>` (book 1), or else the `grads` list in the order of the spec's
  `params` (book 2: `self.grads[0][...] = dW`), read the moment backward returns.

Every value handed on is a copy: a layer that writes into its buffers later cannot change it.

>>> weighted_sum((np.ones(2), np.ones(3)), (np.full(2, 2.0), np.full(3, -1.0)))
1.0
"""
from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from contextlib import contextmanager

import numpy as np

from .names import Stage
from .spec import LayerSpec


@contextmanager
def spurious_blas_flags():
    """Inside a check, NumPy's "invalid value encountered in dot" (matmul, ...) is not taken as the layer's.

    BLAS kernels now and then leave the invalid-operation flag set on finite data (numpy/numpy#24067,
    OpenMathLib/OpenBLAS#1924), and NumPy reports the flag as that warning; under a warnings-as-errors
    filter (this project's pytest configuration) a correct layer's forward then raised: seen once in 40
    soak seeds of the gate (affine float32, x (3, 5) and W (5, 1), all finite; the same seed green on
    rerun). The values are compared anyway: a product that really made a NaN or an infinity still fails."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"invalid value encountered in (dot|matmul|vecdot|matvec|vecmat|inner)$",
                                category=RuntimeWarning)
        yield


def copy(v):
    """A copy of what a layer returned (None stays None)."""
    return None if v is None else np.array(v, copy=True)


def as_tuple(v) -> tuple:
    """One output or cotangent as a 1-tuple; several (a tuple or list) as a tuple."""
    return tuple(v) if isinstance(v, (tuple, list)) else (v,)


def weighted_sum(outputs, cotangents) -> float:
    """sum over outputs i of sum(cotangent_i * output_i), in float64: the scalar whose gradient a layer's
    backward returns. `outputs` and `cotangents`: one array each, or tuples of the same length (a layer with
    several outputs). The numerical oracles differentiate this (pass output differences to keep the
    cancellation exact: weighted_sum(up - down, ct))."""
    outs, cts = as_tuple(outputs), as_tuple(cotangents)
    if len(outs) != len(cts):
        raise ValueError(f"weighted_sum: {len(outs)} output(s) but {len(cts)} cotangent(s)")
    return float(sum(float(np.sum(np.asarray(c, dtype=np.float64) * np.asarray(o, dtype=np.float64)))
                     for o, c in zip(outs, cts)))


def call_forward(spec: LayerSpec, layer, inputs: dict):
    """layer.forward on `inputs` (name -> array; passed as they are, copy them first if they must survive)."""
    return _caller(spec, inputs)(layer)


def _caller(spec: LayerSpec, inputs: dict) -> Callable:
    """layer -> layer.forward(...) on `inputs`, the arguments gathered once (the same array objects)."""
    kw = spec.forward_kwargs
    if spec.keyword_inputs:
        named = {a.name: inputs[a.name] for a in spec.inputs}
        return lambda layer: layer.forward(**named, **kw)
    args = [inputs[a.name] for a in spec.inputs]
    return lambda layer: layer.forward(*args, **kw)


def split_outputs(spec: LayerSpec, returned) -> tuple[dict[str, np.ndarray], str]:
    """forward stage -> a copy of that output; or ({}, what is wrong with what forward returned)."""
    if not spec.outputs:
        if isinstance(returned, (list, tuple, dict)):
            return {}, (f"forward returned a {type(returned).__name__}, not an array: the harness checks one output "
                        "unless the check names several (return the array itself, or give outputs=('h', 'c'))")
        return {Stage.forward(): copy(returned)}, ""
    n = len(spec.outputs)
    if isinstance(returned, dict):
        if set(returned) != set(spec.outputs):
            return {}, f"forward returned a dict with keys {sorted(returned)} but outputs={spec.outputs}"
        values = [returned[o] for o in spec.outputs]
    elif isinstance(returned, (tuple, list)) and len(returned) == n:
        values = list(returned)
    else:
        got = f"{len(returned)} outputs" if isinstance(returned, (tuple, list)) else "one array"
        return {}, f"forward returned {got} but outputs={spec.outputs} names {n}"
    return {Stage.forward(o): copy(v) for o, v in zip(spec.outputs, values)}, ""


def forward_outputs(spec: LayerSpec, layer, inputs: dict) -> tuple[np.ndarray, ...]:
    """The layer's outputs on `inputs`, as float64 copies in the order of `spec.outputs` (one for a
    single-output layer); a ValueError saying why when forward's return does not fit the protocol."""
    return outputs_of(spec, inputs)(layer)


def outputs_of(spec: LayerSpec, inputs: dict) -> Callable[[object], tuple[np.ndarray, ...]]:
    """layer -> forward_outputs(spec, layer, inputs), the call's arguments gathered once: the numerical
    oracle calls it per step, on the same arrays (perturbed in place)."""
    call = _caller(spec, inputs)

    def outputs(layer) -> tuple[np.ndarray, ...]:
        returned = call(layer)
        if not spec.outputs and not isinstance(returned, (list, tuple, dict)):  # one array: split_outputs' answer
            return (np.array(returned, dtype=np.float64, copy=True),)
        values, problem = split_outputs(spec, returned)
        if problem:
            raise ValueError(f"{spec.name}: {problem}")
        return tuple(np.array(v, dtype=np.float64, copy=True) for v in values.values())

    return outputs


def _takes_one(method) -> bool:
    """Whether `method` takes exactly one positional argument (backward((dh, dc)) rather than backward(dh, dc))."""
    try:
        ps = list(inspect.signature(method).parameters.values())
    except (TypeError, ValueError):
        return False
    if any(p.kind == p.VAR_POSITIONAL for p in ps):
        return False
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in ps) == 1


def call_backward(spec: LayerSpec, layer, cts):
    """layer.backward with the cotangent(s): one array, or one per output (see the module docstring)."""
    if not spec.outputs:
        return layer.backward(cts)
    cts = as_tuple(cts)
    return layer.backward(cts) if _takes_one(layer.backward) else layer.backward(*cts)


def input_grads(spec: LayerSpec, g) -> tuple[dict[str, object], str]:
    """Map backward's return value onto the differentiable inputs; say what is wrong if it does not fit."""
    diff = spec.diff_inputs
    names = [a.name for a in spec.inputs]
    if isinstance(g, dict):
        unknown = sorted(str(k) for k in g if k not in names)
        if unknown:
            return {}, f"backward returned gradients for {unknown}, which are not inputs of the layer {names}"
        missing = [n for n in diff if g.get(n) is None]
        if missing:
            return {}, f"backward returned a dict without a gradient for the differentiable input(s) {missing}"
        return {n: g[n] for n in diff}, ""
    g = as_tuple(g)
    if len(g) == len(diff):
        return dict(zip(diff, g)), ""
    if len(g) == len(names):  # one per input, non-differentiable ones ignored
        return {n: v for n, v in zip(names, g) if n in diff}, ""
    return {}, f"backward returned {len(g)} gradient(s) but the layer has {len(diff)} differentiable input(s) {diff}"


def ignored_gradients(spec: LayerSpec, g) -> str:
    """backward returned a gradient for a float input declared diff=False (one per input, or by name in a
    dict): that gradient would never be compared."""
    if isinstance(g, dict):
        given = {k: v for k, v in g.items() if v is not None}
    else:
        g = as_tuple(g)
        if len(g) != len(spec.inputs) or len(g) == len(spec.diff_inputs):
            return ""
        given = {a.name: v for a, v in zip(spec.inputs, g) if v is not None}
    names = [a.name for a in spec.inputs if a.kind == "float" and not a.diff and a.name in given]
    if not names:
        return ""
    return (f"backward returned a gradient for {names}, declared diff=False: it would never be compared "
            "(declare the input differentiable, or return None for it)")


def param_grads(spec: LayerSpec, layer, given: dict | None = None) -> tuple[dict[str, object], dict[str, str]]:
    """grad stage -> a copy of each parameter's gradient, and grad stage -> what is wrong. `d<name>`
    attributes first; else the layer's `grads` list in the order of `spec.params` (checked against its
    `params` list, when `given`, the arrays handed to make, is known)."""
    values: dict[str, object] = {}
    notes: dict[str, str] = {}
    listed = getattr(layer, "grads", None)
    listed = listed if isinstance(listed, (list, tuple)) else None
    for i, p in enumerate(spec.params):
        stage, value = Stage.grad(p), getattr(layer, "d" + p, None)
        if value is None and listed is not None:
            notes_p = _list_problem(spec, layer, listed, i, p, given)
            if notes_p:
                notes[stage] = notes_p
                continue
            value = listed[i]
        if value is None:
            notes[stage] = (f"layer has no gradient attribute d{p} after backward (parameter {p}), "
                            "and no grads list to read it from")
        else:
            values[stage] = copy(value)
    return values, notes


def _list_problem(spec: LayerSpec, layer, listed, i: int, p: str, given: dict | None) -> str:
    """What keeps grads[i] from being parameter p's gradient (book 2 style), or ""."""
    order = tuple(spec.params)
    if len(listed) != len(order):
        return (f"the layer's grads list has {len(listed)} entries but the check lists params {order}: list every "
                "parameter, in the order of the layer's params list")
    own = getattr(layer, "params", None)
    if given is not None and isinstance(own, (list, tuple)) and len(own) == len(order):
        mine = np.asarray(own[i])
        if mine.shape != np.shape(given[p]) or not np.array_equal(mine, given[p], equal_nan=True):
            return (f"the layer's params[{i}] is not the {p} given to make (params are read in the order {order}): "
                    "list params in the order of the layer's self.params")
    return ""
