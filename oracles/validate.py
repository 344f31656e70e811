"""Usage checks, before anything is drawn: a spec or an option that would crash deep inside NumPy,
Hypothesis, PyTorch or JAX, or worse pass vacuously (a size 0 compares empty arrays; an empty list of
oracles compares nothing), is a one-line `ValueError` (`TypeError` for a value of the wrong type) that
starts with the layer's name and says what was expected.

    validate_spec(spec)                         the whole LayerSpec: names, shapes, sizes, domains, the
                                                calling protocol (outputs, forward_kwargs), relations
    validate_options(dtypes, oracles, n)        what to run: dtypes, oracles, max_examples (None: default)
    validate_run(spec, dtype, oracles, n, ...)  both, for run_check (one dtype)
    validate_layer_args(name, inputs, ...)      check_layer's / layer_spec's raw arguments
    check_custom_name(spec)                     a researcher's spec is not named like a registry entry
    check_names, check_examples                 shared with the pytest plugin's options (options.py)

What needs an instance of the layer (its `param_names` against the spec's params) is checked at the
first example, not here.
"""
from __future__ import annotations

import math

from .names import DIRECTIONAL, DTYPES, ORACLES
from .relations import parse_relation
from .spec import Arg, Domain, LayerSpec, factors, size_names
from .strategies import related_sizes

#: Oracles a check can ask (the directional one by name only), besides runners passed to run_check.
CHECK_ORACLES: tuple[str, ...] = ORACLES + (DIRECTIONAL,)
KINDS = ("float", "index", "onehot")


def _at(layer: str | None) -> str:
    return f"{layer}: " if layer else ""


# --- options ------------------------------------------------------------------------------------------------

def check_names(items, allowed, what: str, where: str) -> None:
    """`items` is a non-empty tuple (or list) of names from `allowed`, each once. `what` names one
    ("dtype(s)"), `where` the argument or option in the message ("layer: dtypes", "--oracle-dtypes")."""
    choose = f"choose from {', '.join(allowed)}"
    if isinstance(items, str):
        raise TypeError(f"{where}={items!r} is a string; give a tuple of {what}, e.g. ({items!r},); {choose}")
    if not isinstance(items, (tuple, list)):
        raise TypeError(f"{where}={items!r}: give a tuple of {what}; {choose}")
    if not items:
        raise ValueError(f"{where} is empty: nothing would be checked; {choose}")
    bad = [t for t in items if not isinstance(t, str) or t not in allowed]
    if bad:
        raise ValueError(f"{where}: unknown {what} {bad}; {choose}")
    twice = sorted({t for t in items if items.count(t) > 1})
    if twice:
        raise ValueError(f"{where}: {what} {twice} given twice; {choose}")


def check_examples(max_examples, where: str) -> None:
    """None (the Hypothesis profile's number) or an int >= 1."""
    if max_examples is None:
        return
    if isinstance(max_examples, bool) or not isinstance(max_examples, int):
        raise TypeError(f"{where}={max_examples!r}: give an int >= 1 (or None for the profile's number)")
    if max_examples < 1:
        raise ValueError(f"{where}={max_examples}: give an int >= 1; with no example nothing is checked")


def validate_options(dtypes, oracles, max_examples, *, layer: str | None = None, runners=None) -> None:
    """dtypes / oracles: None (every one) or a non-empty tuple of known names; max_examples: None or >= 1.
    `runners` (run_check's) adds the oracles it names to the known ones."""
    if dtypes is not None:
        check_names(dtypes, DTYPES, "dtype(s)", f"{_at(layer)}dtypes")
    if oracles is not None:
        allowed = CHECK_ORACLES + tuple(k for k in (runners or {}) if k not in CHECK_ORACLES)
        check_names(oracles, allowed, "oracle(s)", f"{_at(layer)}oracles")
    check_examples(max_examples, f"{_at(layer)}max_examples")


def check_limits(work_budget, hang_guard, layer: str | None = None, *,
                 names: tuple[str, str] = ("work_budget", "hang_guard")) -> None:
    """work_budget: None or an int >= 1 (forward calls); hang_guard: None or a number of seconds > 0.
    `names`: how the message calls them (the plugin's option names)."""
    at, (wb, hg) = _at(layer), names
    if work_budget is not None:
        if isinstance(work_budget, bool) or not isinstance(work_budget, int):
            raise TypeError(f"{at}{wb}={work_budget!r}: give an int >= 1 (forward calls of the layer)")
        if work_budget < 1:
            raise ValueError(f"{at}{wb}={work_budget}: give an int >= 1; with no work nothing is checked")
    if hang_guard is not None:
        if isinstance(hang_guard, bool) or not isinstance(hang_guard, (int, float)):
            raise TypeError(f"{at}{hg}={hang_guard!r}: give a number of seconds > 0")
        if not hang_guard > 0:
            raise ValueError(f"{at}{hg}={hang_guard}: give a number of seconds > 0")


def validate_run(spec: LayerSpec, dtype: str, oracles, max_examples, runners=None, work_budget=None,
                 hang_guard=None) -> None:
    """run_check's arguments: the spec, one dtype, the oracles, the number of examples, the limits."""
    if not isinstance(spec, LayerSpec):
        raise TypeError(f"run_check: spec={spec!r}: give a LayerSpec (e.g. oracles.REGISTRY['relu'] or layer_spec(...))")
    validate_spec(spec)
    if not isinstance(dtype, str):
        raise TypeError(f"{spec.name}: dtype={dtype!r}: give one dtype, one of {', '.join(DTYPES)}")
    validate_options((dtype,), oracles, max_examples, layer=spec.name, runners=runners)
    check_limits(work_budget, hang_guard, spec.name)


# --- the spec -----------------------------------------------------------------------------------------------

def _check_shape(layer: str, what: str, shape) -> None:
    """A tuple of ints >= 1, size names and products of names and integers ("c*h*w", "4*h")."""
    if isinstance(shape, str):
        raise TypeError(f"{layer}: {what} has shape {shape!r}, a string; write a tuple: ({shape!r},)")
    if not isinstance(shape, tuple):
        raise TypeError(f"{layer}: {what} has shape {shape!r}; give a tuple of ints and size names, e.g. ('n', 'd')")
    for d in shape:
        if isinstance(d, str):
            try:
                factors(d)
            except ValueError as e:
                raise ValueError(f"{layer}: {what} shape {shape!r}: {e}") from None
        elif isinstance(d, bool) or not isinstance(d, int):
            raise TypeError(f"{layer}: {what} shape {shape!r}: dimension {d!r} is neither an int nor a size name")
        elif d < 1:
            raise ValueError(f"{layer}: {what} shape {shape!r}: dimension {d} < 1 (an empty array passes vacuously)")


def _shape_names(spec: LayerSpec) -> set[str]:
    """The size names the shapes of inputs and parameters use (not class counts)."""
    shapes = [s for a in spec.inputs for s in a.shapes()] + list(spec.params.values())
    return {n for s in shapes for n in size_names(s)}


def _check_arg(spec: LayerSpec, a: Arg) -> None:
    layer, what = spec.name, f"input {a.name!r}"
    if not isinstance(a.name, str) or not a.name.isidentifier():
        raise ValueError(f"{layer}: input name {a.name!r}: give a Python identifier (it names a gradient stage)")
    if a.kind not in KINDS:
        raise ValueError(f"{layer}: {what}: kind {a.kind!r}; expected one of {', '.join(KINDS)}")
    if not isinstance(a.alternatives, tuple):
        raise TypeError(f"{layer}: {what}: alternatives={a.alternatives!r}; give a tuple of shapes")
    for s in a.shapes():
        _check_shape(layer, what, s)
    if a.kind == "index":
        c = a.classes
        if isinstance(c, str):
            if c not in _shape_names(spec) | set(spec.sizes):
                raise ValueError(f"{layer}: {what}: classes={c!r} names no size of the layer "
                                 f"(its shapes use {sorted(_shape_names(spec))}); name the class axis' size")
        elif isinstance(c, bool) or not isinstance(c, int):
            raise TypeError(f"{layer}: {what}: an index input needs classes, a size name or an int >= 1, not {c!r}")
        elif c < 1:
            raise ValueError(f"{layer}: {what}: classes={c}; give at least 1")
    if a.kind == "onehot" and any(len(s) == 0 for s in a.shapes()):
        raise ValueError(f"{layer}: {what}: a one-hot input needs a class axis (its last); give a shape like ('n', 'c')")
    if a.domain is not None:
        _check_domain(layer, f"{what} domain", a.domain)


def _check_domain(layer: str, what: str, d) -> None:
    if not isinstance(d, Domain):
        raise TypeError(f"{layer}: {what}={d!r}; give a Domain(low, high)")
    if not (math.isfinite(d.low) and math.isfinite(d.high) and d.low < d.high):
        raise ValueError(f"{layer}: {what}: low={d.low} and high={d.high}; give finite bounds with low < high")


def _check_pool(layer: str, name, pool) -> None:
    where = f"sizes[{name!r}]={pool!r}"
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"{layer}: sizes key {name!r}: give a size name (an identifier used in a shape)")
    if not isinstance(pool, tuple):
        raise TypeError(f"{layer}: {where}: give a tuple of sizes to draw from, e.g. (1, 2, 3) or ({pool!r},)")
    if not pool:
        raise ValueError(f"{layer}: {where} is empty; give the sizes to draw from, e.g. (1, 2, 3)")
    for v in pool:
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"{layer}: {where}: size {v!r} is not an int; give ints >= 1")
        if v < 1:
            raise ValueError(f"{layer}: {where}: size {v} < 1; sizes are >= 1 (a size 0 draws empty arrays, "
                             f"which compare equal and pass vacuously)")


def _check_sizes(spec: LayerSpec) -> None:
    layer = spec.name
    if not isinstance(spec.sizes, dict):
        raise TypeError(f"{layer}: sizes={spec.sizes!r}; give a dict size name -> tuple of sizes, e.g. {{'n': (1, 2, 3)}}")
    for name, pool in spec.sizes.items():
        _check_pool(layer, name, pool)
    used = set(spec.size_names())
    unused = sorted(set(spec.sizes) - used)
    if unused:
        raise ValueError(f"{layer}: sizes names {unused}, which no shape uses (the shapes use {sorted(used)})")


def _check_params(spec: LayerSpec) -> None:
    layer = spec.name
    if not isinstance(spec.params, dict):
        raise TypeError(f"{layer}: params={spec.params!r}; give a dict name -> shape, e.g. {{'W': ('i', 'o')}}")
    for name, shape in spec.params.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"{layer}: parameter name {name!r}: give a Python identifier (fn takes it by keyword)")
        _check_shape(layer, f"parameter {name!r}", shape)


def _check_callables(spec: LayerSpec) -> None:
    if not callable(spec.make):
        raise TypeError(f"{spec.name}: make={spec.make!r} is not callable; give make(params) -> layer")
    for key in ("fn", "torch_fn", "jax_fn"):
        f = getattr(spec, key)
        if f is not None and not callable(f):
            raise TypeError(f"{spec.name}: {key}={f!r} is not callable")


def validate_spec(spec: LayerSpec) -> None:
    """The whole spec, before anything is drawn (see the module docstring)."""
    if not isinstance(spec.name, str) or not spec.name.strip() or "\n" in spec.name:
        raise TypeError(f"layer name {spec.name!r}: give a non-empty one-line str")
    layer = spec.name
    _check_callables(spec)
    if not spec.inputs and not spec.params:
        raise ValueError(f"{layer}: no inputs and no params: nothing to compare; give inputs={{'x': ('n',)}}")
    for a in spec.inputs:
        _check_arg(spec, a)
    _check_params(spec)
    _check_sizes(spec)
    _check_domain(layer, "domain", spec.domain)
    _check_domain(layer, "param_domain", spec.param_domain)
    for dtype, d in spec.dtype_domains.items():
        if dtype not in DTYPES:
            raise ValueError(f"{layer}: dtype_domains[{dtype!r}]: unknown dtype; choose from {', '.join(DTYPES)}")
        _check_domain(layer, f"dtype_domains[{dtype!r}]", d)
    _check_protocol(spec)
    _check_relations(spec)
    for key in ("layouts", "jax_layouts"):
        v = getattr(spec, key)
        if (v is not None or key == "layouts") and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            raise ValueError(f"{layer}: {key}={v!r}; give an int >= 0")


def _check_protocol(spec: LayerSpec) -> None:
    """outputs, forward_kwargs and keyword_inputs: how the layer is called (oracles/protocol.py)."""
    layer = spec.name
    if not isinstance(spec.outputs, tuple):
        raise TypeError(f"{layer}: outputs={spec.outputs!r}; give a tuple of output names, e.g. ('h', 'c')")
    for o in spec.outputs:
        if not isinstance(o, str) or not o.isidentifier():
            raise ValueError(f"{layer}: output name {o!r}: give a Python identifier (it names the stage 'forward_<name>')")
    if len(set(spec.outputs)) != len(spec.outputs):
        raise ValueError(f"{layer}: outputs={spec.outputs}: each output name once")
    if len(spec.outputs) == 1:
        raise ValueError(f"{layer}: outputs={spec.outputs} names one output; leave outputs out for a single output "
                         "(its stage is 'forward')")
    kw = spec.forward_kwargs
    if not isinstance(kw, dict) or not all(isinstance(k, str) and k.isidentifier() for k in kw):
        raise TypeError(f"{layer}: forward_kwargs={kw!r}; give a dict of keyword flags, e.g. {{'train_flg': True}}")
    clash = sorted(set(kw) & {a.name for a in spec.inputs}) if spec.keyword_inputs else []
    if clash:
        raise ValueError(f"{layer}: forward_kwargs {clash} are also inputs passed by keyword")
    if not isinstance(spec.keyword_inputs, bool):
        raise TypeError(f"{layer}: keyword_inputs={spec.keyword_inputs!r}; give True or False")


def _check_relations(spec: LayerSpec) -> None:
    """Each relation parses and names sizes of the layer; together they leave a layout to draw."""
    layer = spec.name
    if not isinstance(spec.relations, tuple):
        raise TypeError(f"{layer}: relations={spec.relations!r}; give a tuple of strings, e.g. ('k <= h',)")
    used = spec.size_names()
    for text in spec.relations:
        try:
            rel = parse_relation(text)
        except (TypeError, ValueError) as e:
            raise type(e)(f"{layer}: {e}") from None
        unknown = [n for n in rel.names() if n not in used]
        if unknown:
            raise ValueError(f"{layer}: relation {text!r} names {unknown}, which no shape uses (the shapes use {used})")
    if spec.relations and not related_sizes(spec):
        pools = {n: spec.size_pool(n) for n in used}
        raise ValueError(f"{layer}: relations {list(spec.relations)} cannot all hold for any sizes drawn from {pools}; "
                         "widen the size pools (sizes=...) or fix the relations")


# --- the public API's raw arguments -------------------------------------------------------------------------

def validate_layer_args(name, inputs, params, sizes, config) -> None:
    """check_layer's / layer_spec's arguments, before a spec is built from them."""
    if not isinstance(name, str) or not name.strip() or "\n" in name:
        raise TypeError(f"name={name!r}: give the layer a non-empty one-line str name")
    if isinstance(inputs, dict):
        bad = [k for k in inputs if not isinstance(k, str)]
    elif isinstance(inputs, (tuple, list)):
        bad = [a for a in inputs if not isinstance(a, Arg)]
    else:
        bad = [inputs]
    if bad:
        raise TypeError(f"{name}: inputs={inputs!r}: give a dict name -> shape, e.g. {{'x': ('n', 'd')}}, "
                        f"or a sequence of Arg (Float, Index, OneHot)")
    for key, v, example in (("params", params, "{'W': ('i', 'o')}"), ("sizes", sizes, "{'n': (1, 2, 3)}"),
                            ("config", config, "{'axis': -1}")):
        if v is not None and not isinstance(v, dict):
            raise TypeError(f"{name}: {key}={v!r}; give a dict, e.g. {example}")


def check_custom_name(spec: LayerSpec) -> None:
    """A researcher's spec does not take a registry entry's name (its repro snippet would replay that one)."""
    from .zoo import REGISTRY

    if spec.name in REGISTRY and REGISTRY[spec.name] is not spec:
        raise ValueError(f"{spec.name}: a registered layer has this name (oracles.REGISTRY[{spec.name!r}]); "
                         f"a repro snippet would replay that one: name yours differently, e.g. 'my_{spec.name}'")
