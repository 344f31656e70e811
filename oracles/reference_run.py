"""The reference side of one example: build the layer, forward, backward, and say how it broke the
protocol if it did. Everything the layer returns or exposes is copied the moment it is returned, so a
layer that reuses its buffers, writes gradients in place or is called again later cannot change what
gets compared. How a layer is called and read (its style: flags, several outputs, params/grads lists)
is oracles/protocol.py; `weighted_sum` and `forward_outputs` are re-exported here for the oracles.

Two hygiene checks no oracle can make, each a plain reference-against-reference comparison:
- nondeterminism: a fresh instance given the same input and cotangent must give the same results;
- stale state: the instance just used, given a second input and cotangent, must give what a fresh
  instance gives for them (catches caches filled once, gradients accumulated across calls with +=).
"""
from __future__ import annotations

import traceback
from dataclasses import dataclass, field

import numpy as np

from .names import Stage
from .protocol import (as_tuple, call_backward, call_forward, copy, forward_outputs, ignored_gradients, input_grads,
                       param_grads, split_outputs, weighted_sum)
from .spec import LayerSpec
from .strategies import Case, cotangents
from .tolerances import tolerance_for

__all__ = ["ReferenceRun", "run_reference", "reference_pass", "hygiene", "short_exc", "normalize_input_grads",
           "forward_outputs", "weighted_sum"]


@dataclass
class ReferenceRun:
    """stage -> value the reference gave (copies), stage -> what went wrong; `layer` for the hygiene."""

    values: dict[str, object] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    layer: object = None
    given: dict[str, object] = field(default_factory=dict)  # the arrays handed to the layer (inputs, "dout")

    @property
    def broken(self) -> bool:
        return any(self.notes.values())

    def note(self, stages, text: str) -> None:
        for s in stages:
            self.notes.setdefault(s, []).append(text)


def short_exc(e: BaseException) -> str:
    # the innermost frames, less the harness's own forward counter (oracles/work.py)
    frames = [f for f in traceback.extract_tb(e.__traceback__) if not f.filename.endswith(("oracles/work.py", "oracles\\work.py"))]
    tb = "".join(["Traceback (most recent call last):\n", *traceback.format_list(frames[-3:]),
                  *traceback.format_exception_only(type(e), e)])
    return f"{type(e).__name__}: {e}\n  layer traceback (innermost frames):\n    " + tb.strip().replace("\n", "\n    ")


normalize_input_grads = input_grads  # the name before oracles/protocol.py


def _changed(inputs: dict, originals: dict) -> list[str]:
    return [k for k in inputs if not np.array_equal(inputs[k], originals[k], equal_nan=True)]


def run_reference(spec: LayerSpec, case: Case, ct) -> ReferenceRun:
    """make, forward and backward of the reference layer on copies of the example's arrays. `ct`: the
    cotangent, or a tuple of them (one per output) for a layer with several outputs."""
    run = ReferenceRun()
    stages = spec.stages()
    grads = [s for s in stages if not Stage(s).is_forward]
    inputs = {k: np.array(v, copy=True) for k, v in case.inputs.items()}
    try:
        run.layer = spec.make({k: np.array(v, copy=True) for k, v in case.params.items()}, **spec.config)
        returned = call_forward(spec, run.layer, inputs)
    except Exception as e:
        run.note(stages, f"{'make()' if run.layer is None else 'forward'} raised {short_exc(e)}")
        return run
    outputs, problem = split_outputs(spec, returned)
    if problem:
        run.note(stages, problem)
        return run
    run.values.update(outputs)
    undeclared = _undeclared_params(spec, run.layer)
    if undeclared:
        run.note(stages, undeclared)
    if _changed(inputs, case.inputs):
        run.note(spec.forward_stages(), f"forward mutated its input(s) {_changed(inputs, case.inputs)} in place")
    douts = tuple(np.array(c, copy=True) for c in as_tuple(ct))
    run.given = {**inputs, **_dout_names(douts)}
    try:
        g = call_backward(spec, run.layer, douts if spec.outputs else douts[0])
    except Exception as e:
        run.note(grads, f"backward raised {short_exc(e)}")
        return run
    # copies at once: a later call (the hygiene's) may write into the same buffers (grads[0][...] = dW)
    in_grads, problem = input_grads(spec, g)
    in_grads = {k: copy(v) for k, v in in_grads.items()}
    p_grads, p_notes = param_grads(spec, run.layer, case.params)
    _backward_notes(run, spec, case, as_tuple(ct), douts, inputs, returned, grads)
    if problem:
        run.note([Stage.grad(n) for n in spec.diff_inputs], problem)
    ignored = ignored_gradients(spec, g)
    if ignored:
        run.note(grads or stages, ignored)
    run.values.update({Stage.grad(k): v for k, v in in_grads.items()})
    run.values.update(p_grads)
    for stage, text in p_notes.items():
        run.note([stage], text)
    return run


def _undeclared_params(spec: LayerSpec, layer) -> str:
    """The layer's own `param_names` against the spec's params: a parameter the spec does not list would
    never have its gradient checked."""
    declared = getattr(layer, "param_names", None)
    if not isinstance(declared, (tuple, list)) or set(declared) == set(spec.params):
        return ""
    return (f"the layer declares param_names {tuple(declared)} but the check lists params {tuple(spec.params)}: "
            f"{sorted(set(declared) ^ set(spec.params))} would not be checked (list every parameter in params)")


def _backward_notes(run: ReferenceRun, spec, case, cts, douts, inputs, returned, grads) -> None:
    if any(not np.array_equal(d, c) for d, c in zip(douts, cts)):
        run.note(grads, "backward mutated dout in place (the caller's upstream gradient changes under it)")
    if _changed(inputs, case.inputs):
        run.note(grads, f"backward mutated the input(s) {_changed(inputs, case.inputs)} in place")
    now = returned if spec.outputs else (returned,)
    now = [now[o] for o in spec.outputs] if isinstance(now, dict) else list(now)
    for stage, value in zip(spec.forward_stages(), now):
        before = run.values[stage]
        if isinstance(value, np.ndarray) and np.shape(value) == np.shape(before) and not np.array_equal(
                value, before, equal_nan=True):
            run.note([stage], "backward overwrote the output array that forward returned")


def reference_pass(spec: LayerSpec, layer, inputs: dict, ct) -> dict[str, object]:
    """forward + backward of `layer` on copies of `inputs` and `ct`: every stage's value (copies)."""
    vals, _ = split_outputs(spec, call_forward(spec, layer, {k: np.array(v, copy=True) for k, v in inputs.items()}))
    douts = tuple(np.array(c, copy=True) for c in as_tuple(ct))
    in_grads, _ = input_grads(spec, call_backward(spec, layer, douts if spec.outputs else douts[0]))
    vals.update({Stage.grad(k): copy(v) for k, v in in_grads.items()})
    vals.update(param_grads(spec, layer)[0])
    return vals


def _differences(spec: LayerSpec, dtype: str, a: dict, b: dict) -> dict[str, float]:
    """Stages where a and b disagree beyond the exact-oracle tolerance: stage -> max |a - b|."""
    out = {}
    for stage, va in a.items():
        try:
            va, vb = np.asarray(va, dtype=np.float64), np.asarray(b.get(stage), dtype=np.float64)
        except (TypeError, ValueError):
            continue
        if va.shape != vb.shape:
            out[stage] = np.inf
            continue
        tol = tolerance_for(dtype, "torch", stage, spec.tolerances)
        if not np.allclose(va, vb, atol=tol.atol, rtol=tol.rtol, equal_nan=True):
            out[stage] = float(np.max(np.abs(va - vb)))
    return out


def _second_input(spec: LayerSpec, case: Case) -> dict[str, np.ndarray]:
    """A different input of the same shapes and domain: each float input's values rolled by one place
    (a permutation, so bounds, kink margins and tie-free spacing all still hold)."""
    out = {}
    for a in spec.inputs:
        v = np.asarray(case.inputs[a.name])
        out[a.name] = np.roll(v.reshape(-1), 1).reshape(v.shape) if a.kind == "float" else v
    return out


def _dout_names(douts: tuple) -> dict:
    """"dout" for one cotangent, "dout0", "dout1", ... for several."""
    return {"dout": douts[0]} if len(douts) == 1 else {f"dout{i}": d for i, d in enumerate(douts)}


def _mutated_later(run: ReferenceRun, case: Case, ct) -> str:
    """The arrays handed to the first call, checked after the layer's next call: a layer that keeps a
    reference to its input (or dout) and writes into it later corrupts its caller's arrays."""
    original = {**case.inputs, **_dout_names(as_tuple(ct))}
    changed = [k for k, v in run.given.items() if not np.array_equal(v, original[k], equal_nan=True)]
    if not changed:
        return ""
    return (f"the layer kept a reference to {changed} from the first call and changed it in place on the next "
            "call (its caller's arrays change under it; keep a copy instead)")


def hygiene(spec: LayerSpec, case: Case, ct: np.ndarray, run: ReferenceRun) -> dict[str, str]:
    """stage -> what the nondeterminism and stale-state checks found (see the module docstring)."""
    def fresh():
        return spec.make({k: np.array(v, copy=True) for k, v in case.params.items()}, **spec.config)

    notes: dict[str, str] = {}
    try:
        for stage, d in _differences(spec, case.dtype, run.values, reference_pass(spec, fresh(), case.inputs, ct)).items():
            notes[stage] = (f"nondeterministic: a second identical call (fresh instance, same input and cotangent) "
                            f"gave a different {stage} (max difference {d:.3g})")
        x2 = _second_input(spec, case)
        ct2 = cotangents(spec, [np.shape(c) for c in as_tuple(ct)], case.dtype, (case.seed + 1) % 2**32)
        reused = reference_pass(spec, run.layer, x2, ct2)
        kept = _mutated_later(run, case, ct)
        for stage in spec.forward_stages() if kept else ():
            notes[stage] = kept
        for stage, d in _differences(spec, case.dtype, reference_pass(spec, fresh(), x2, ct2), reused).items():
            notes.setdefault(stage, f"stale state: the same instance used again on a second input gave a {stage} that differs "
                                    f"from a fresh instance's by {d:.3g} (state kept from the first call?)")
    except Exception as e:  # a layer that cannot be called twice is broken in its own way
        for stage in spec.stages():
            notes.setdefault(stage, f"calling the layer a second time raised {short_exc(e)}")
    return notes
