"""A careless spec or option is a one-line usage error before anything is drawn (oracles/validate.py):
never a vacuous pass, never a traceback from inside NumPy, Hypothesis, PyTorch or JAX."""
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

import reference as R
from oracles import REGISTRY, Float, Index, OneHot, check_layer, layer_spec, run_check
from oracles.options import parse_list
from oracles.spec import resolve, size_names
from subproc import clean_env


class Double:
    def forward(self, x):
        return 2 * x

    def backward(self, dout):
        return 2 * dout


def double(**kw):
    """check_layer on a correct elementwise layer; `kw` overrides one argument."""
    args = dict(inputs={"x": ("n",)}, fn=lambda xp, x: 2 * x, name="double", max_examples=2, record=False)
    make = kw.pop("make", lambda p: Double())
    return check_layer(make, **{**args, **kw})


MUSE = {  # case: (check_layer's overriding arguments, exception, words the one-line message must hold)
    "size 0": (dict(sizes={"n": (0,)}), ValueError, ["double:", "sizes['n']", "vacuous"]),
    "size negative": (dict(sizes={"n": (2, -1)}), ValueError, ["double:", "sizes['n']", "-1 < 1"]),
    "size pool empty": (dict(sizes={"n": ()}), ValueError, ["double:", "sizes['n']", "empty"]),
    "size bare int": (dict(sizes={"n": 3}), TypeError, ["double:", "sizes['n']=3", "tuple", "(3,)"]),
    "size float": (dict(sizes={"n": (2.5,)}), TypeError, ["double:", "sizes['n']", "2.5", "not an int"]),
    "size unused": (dict(sizes={"N": (2,)}), ValueError, ["double:", "['N']", "no shape uses", "['n']"]),
    "shape dim 0": (dict(inputs={"x": ("n", 0)}), ValueError, ["double:", "input 'x'", "dimension 0"]),
    "shape float dim": (dict(inputs={"x": ("n", 2.0)}), TypeError, ["double:", "input 'x'", "2.0"]),
    "shape a string": (dict(inputs={"x": "batch"}), TypeError, ["double:", "input 'x'", "'batch'", "('batch',)"]),
    "product n**2": (dict(inputs={"x": ("n**2",)}), ValueError, ["double:", "input 'x'", "'n**2'", "'*'"]),
    "product n*": (dict(inputs={"x": ("n*",)}), ValueError, ["double:", "input 'x'", "'n*'"]),
    "product n+1": (dict(inputs={"x": ("n+1",)}), ValueError, ["double:", "input 'x'", "'n+1'"]),
    "product 0*n": (dict(inputs={"x": ("0*n",)}), ValueError, ["double:", "input 'x'", "'0*n'"]),
    "params a list": (dict(params=["W"]), TypeError, ["double:", "params=['W']", "dict"]),
    "inputs strings": (dict(inputs=["x"]), TypeError, ["double:", "inputs=['x']", "dict", "Arg"]),
    "inputs tuples": (dict(inputs=[("x", ("n",))]), TypeError, ["double:", "inputs=", "dict", "Arg"]),
    "no inputs, no params": (dict(inputs={}), ValueError, ["double:", "no inputs and no params"]),
    "input = param name": (dict(params={"x": ("n",)}), ValueError, ["double:", "distinct", "'x', 'x'"]),
    "index no classes": (dict(inputs=[Float("x", ("n",)), Index("t", ("n",), classes=None)]), TypeError,
                         ["double:", "input 't'", "classes", "None"]),
    "index unknown size": (dict(inputs=[Float("x", ("n",)), Index("t", ("n",), classes="c")]), ValueError,
                           ["double:", "input 't'", "classes='c'", "names no size"]),
    "onehot no axis": (dict(inputs=[Float("x", ("n",)), OneHot("y", ())]), ValueError, ["double:", "input 'y'", "class axis"]),
    "registry name": (dict(name="sigmoid"), ValueError, ["sigmoid:", "REGISTRY['sigmoid']", "repro", "my_sigmoid"]),
    "make not callable": (dict(make=None), TypeError, ["double:", "make=None", "not callable"]),
    "dtypes empty": (dict(dtypes=()), ValueError, ["double:", "dtypes", "empty", "float64, float32"]),
    "dtypes a string": (dict(dtypes="float64"), TypeError, ["double:", "dtypes='float64'", "string", "float64, float32"]),
    "dtype float16": (dict(dtypes=("float16",)), ValueError, ["double:", "['float16']", "float64, float32"]),
    "dtype bfloat16": (dict(dtypes=("bfloat16",)), ValueError, ["double:", "['bfloat16']", "float64, float32"]),
    "dtype int32": (dict(dtypes=("float64", "int32")), ValueError, ["double:", "['int32']", "float64, float32"]),
    "dtype twice": (dict(dtypes=("float64", "float64")), ValueError, ["double:", "twice"]),
    "backends empty": (dict(oracles=()), ValueError, ["double:", "oracles", "empty", "torch, jax, numerical"]),
    "backend tensorflow": (dict(oracles=("tensorflow",)), ValueError, ["double:", "['tensorflow']", "torch, jax, numerical"]),
    "backends a string": (dict(oracles="torch"), TypeError, ["double:", "oracles='torch'", "string", "('torch',)"]),
    "examples 0": (dict(max_examples=0), ValueError, ["double:", "max_examples=0", ">= 1"]),
    "examples negative": (dict(max_examples=-3), ValueError, ["double:", "max_examples=-3", ">= 1"]),
    "examples float": (dict(max_examples=2.5), TypeError, ["double:", "max_examples=2.5", "int"]),
    "examples bool": (dict(max_examples=True), TypeError, ["double:", "max_examples=True", "int"]),
}


@pytest.mark.parametrize("case", list(MUSE))
def test_misuse_is_a_one_line_usage_error(case):
    kw, exc, words = MUSE[case]
    with pytest.raises(exc) as e:
        double(**kw)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(words[0]), msg
    assert all(w in msg for w in words), (words, msg)


RELU = REGISTRY["relu"]
RUN_MUSE = {  # run_check(spec, dtype, oracles, max_examples): the same checks, before anything is drawn
    "dtype float16": ((RELU, "float16"), {}, ValueError, ["relu:", "['float16']", "float64, float32"]),
    "dtype a tuple": ((RELU, ("float64",)), {}, TypeError, ["relu:", "one dtype"]),
    "backends empty": ((RELU, "float64", ()), {}, ValueError, ["relu:", "empty", "torch, jax, numerical"]),
    "backend tensorflow": ((RELU, "float64", ("tensorflow",)), {}, ValueError, ["relu:", "['tensorflow']"]),
    "examples 0": ((RELU, "float64"), dict(max_examples=0), ValueError, ["relu:", "max_examples=0"]),
    "size 0": ((replace(RELU, name="relu0", sizes={"n": (0,)}), "float64"), {}, ValueError, ["relu0:", "vacuous"]),
    "spec a name": (("relu", "float64"), {}, TypeError, ["run_check:", "LayerSpec"]),
}


@pytest.mark.parametrize("case", list(RUN_MUSE))
def test_run_check_misuse_is_a_usage_error(case):
    args, kw, exc, words = RUN_MUSE[case]
    with pytest.raises(exc) as e:
        run_check(*args, record=False, **kw)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(words[0]) and all(w in msg for w in words), msg


def test_numpy_integers_are_accepted_as_ints():
    spec = layer_spec(lambda p: Double(), inputs={"x": (np.int64(2), "n")}, fn=lambda xp, x: 2 * x,
                      sizes={"n": (np.int64(1), np.int32(3))}, name="double_np")
    assert spec.inputs[0].shape == (2, "n") and type(spec.inputs[0].shape[0]) is int
    assert spec.sizes == {"n": (1, 3)} and all(type(v) is int for v in spec.sizes["n"])
    assert run_check(spec, "float64", ("torch",), max_examples=2, record=False).passed


def test_integer_literals_in_products_multiply():
    assert size_names(("n", "4*h", "2*n", "3")) == ["n", "h", "n"]
    assert resolve(("4*h", "2*n", "c*h*w", "3"), {"h": 5, "n": 3, "c": 2, "w": 7}) == (20, 6, 70, 3)
    report = double(inputs={"x": ("2*n", "3")}, sizes={"n": (1, 2)}, name="double_lit", max_examples=5)
    shapes = {tuple(c.shapes["x"]) for r in report.results.values() for c in r.comparisons}
    assert report.passed and shapes and shapes <= {(2, 3), (4, 3)}, shapes


def test_every_registry_entry_is_valid():
    from oracles.validate import validate_spec

    for spec in REGISTRY.values():
        validate_spec(spec)


def test_a_registered_spec_runs_under_its_own_name():
    """Only another object under a registry name is refused: the entry itself runs as always."""
    assert run_check(REGISTRY["relu"], "float64", ("torch",), max_examples=2, record=False).passed
    assert run_check(replace(REGISTRY["relu"], make=lambda p: R.Relu()), "float64", ("torch",), max_examples=2,
                     record=False).passed


@pytest.mark.parametrize("text", ["", ",", " ", " , "])
def test_an_explicitly_empty_option_list_is_an_error(text):
    with pytest.raises(ValueError, match="--oracle-oracles=.* names no oracle"):
        parse_list(text, ("torch", "jax", "numerical"), "oracle(s)", "--oracle-oracles")


def test_an_unset_option_is_everything():
    assert parse_list(None, ("torch",), "oracle(s)") is None and parse_list("all", ("torch",), "oracle(s)") is None


@pytest.mark.parametrize("option, words", [
    ("--oracle-examples=0", "--oracle-examples=0"),
    ("--oracle-examples=-2", "--oracle-examples=-2"),
    ("--oracle-oracles=,", "--oracle-oracles=',' names no oracle"),
    ("--oracle-oracles= ", "--oracle-oracles=' ' names no oracle"),
    ("--oracle-dtypes=,", "--oracle-dtypes=',' names no dtype"),
    ("--oracle-dtypes=float16", "--oracle-dtypes: unknown dtype(s) ['float16']"),
], ids=["examples 0", "examples negative", "comma", "blank", "dtypes comma", "float16"])  # no "oracle" in ids: -k oracle is the gate
def test_bad_plugin_options_are_usage_errors(option, words):
    res = subprocess.run([sys.executable, "-m", "pytest", "--noconftest", "-q", "-p", "no:randomly", option,
                          "--collect-only", "tests/test_misuse_spec.py"], capture_output=True, text=True, env=clean_env())
    assert res.returncode == 4 and words in res.stderr, (res.returncode, res.stderr)
