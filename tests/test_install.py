"""A researcher installs the package into a fresh environment, writes a layer and a short test in their
own folder, runs `pytest -k oracle`, and gets a pass, or a failure that names stage, shapes, oracle
and error. The plugin leaves a test suite that does not use it alone.

The package is built as a wheel and installed (no editable install, no source tree on the path) into a
new virtual environment. Its dependencies (torch, jax, hypothesis, pytest, ...) are taken from the
running environment through a .pth file: installing torch again would only re-test pip.
"""
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest
from subproc import clean_env

ROOT = Path(__file__).resolve().parents[1]

LAYER = '''
import numpy as np


class GLU:
    """Gated linear unit: out = (x @ W + b) * sigmoid(x @ V + c)."""

    param_names = ("W", "b", "V", "c")

    def __init__(self, W, b, V, c):
        self.W, self.b, self.V, self.c = W, b, V, c

    def forward(self, x):
        self.x = x
        self.a = x @ self.W + self.b
        self.g = 1.0 / (1.0 + np.exp(-(x @ self.V + self.c)))
        return self.a * self.g

    def backward(self, dout):
        da = dout * self.g
        dz = dout * self.a * self.g * (1.0 - self.g)
        self.dW, self.db = self.x.T @ da, da.sum(axis=0)
        self.dV, self.dc = self.x.T @ dz, dz.sum(axis=0)
        return da @ self.W.T + dz @ self.V.T


class BrokenGLU(GLU):
    def backward(self, dout):
        dx = super().backward(dout)
        self.dc = self.dc * 0.5  # a classic: half the gate bias gradient
        return dx
'''

TEST = '''
import pytest
from oracles import assert_layer

from my_layer import GLU, {cls}


def glu_math(xp, x, W, b, V, c):
    return (x @ W + b) * (1 / (1 + xp.exp(-(x @ V + c))))


@pytest.mark.oracle
def test_glu_oracle():
    assert_layer(lambda p: {cls}(p["W"], p["b"], p["V"], p["c"]), name="glu",
                 inputs={{"x": ("n", "i")}}, params={{"W": ("i", "o"), "b": ("o",), "V": ("i", "o"), "c": ("o",)}},
                 fn=glu_math)
'''


@pytest.fixture(scope="module")
def fresh_env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("install")
    wheels = tmp / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(wheels), str(ROOT)], check=True, capture_output=True)
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = Path(subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    wheel = next(wheels.glob("*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--quiet", "--no-deps",
                    "--no-index", str(wheel)], check=True, capture_output=True)
    return py, tmp


def _research_folder(tmp: Path, name: str, cls: str) -> Path:
    d = tmp / name
    d.mkdir()
    (d / "my_layer.py").write_text(textwrap.dedent(LAYER))
    (d / "test_my_layer.py").write_text(textwrap.dedent(TEST.format(cls=cls)))
    (d / "test_plain.py").write_text("def test_plain():\n    assert 1 + 1 == 2\n")
    return d


def _pytest(py: Path, folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(py), "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=folder,
                          capture_output=True, text=True, env=clean_env())


def test_installed_package_is_not_the_source_tree(fresh_env):
    py, _ = fresh_env
    where = subprocess.run([py, "-c", "import oracles, reference; print(oracles.__file__, reference.__file__)"],
                           capture_output=True, text=True, check=True, cwd="/").stdout
    assert str(ROOT) not in where and "site-packages" in where, where


def test_researcher_folder_passes_with_k_selection(fresh_env):
    py, tmp = fresh_env
    folder = _research_folder(tmp, "good", "GLU")
    res = _pytest(py, folder, "-k", "oracle", "--hypothesis-profile=ci", "--oracle-examples", "8")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "1 passed" in res.stdout and "oracle summary" in res.stdout
    assert list((folder / "build" / "oracle" / "records").glob("records-*.jsonl"))


def test_researcher_broken_layer_fails_naming_stage_and_shapes(fresh_env):
    py, tmp = fresh_env
    folder = _research_folder(tmp, "broken", "BrokenGLU")
    res = _pytest(py, folder, "-m", "oracle", "--hypothesis-profile=ci", "--oracle-examples", "8", "--oracle-dtypes", "float64")
    assert res.returncode == 1
    for part in ("glu [float64] grad_c vs torch", "shapes:", "max_abs=", "atol=", "reproduce with"):
        assert part in res.stdout, part


def test_plugin_leaves_other_suites_alone(fresh_env):
    py, tmp = fresh_env
    folder = _research_folder(tmp, "plain", "GLU")
    res = _pytest(py, folder, "test_plain.py")
    assert res.returncode == 0 and "1 passed" in res.stdout, res.stdout + res.stderr
    assert "oracle summary" not in res.stdout
    assert not (folder / "build").exists(), "no records when no oracle check ran"
    heavy = subprocess.run([py, "-c", "import sys, oracles.pytest_plugin; print('torch' in sys.modules, 'jax' in sys.modules)"],
                           capture_output=True, text=True, check=True, cwd=folder).stdout.split()
    assert heavy == ["False", "False"], "loading the plugin must not import torch or JAX"
