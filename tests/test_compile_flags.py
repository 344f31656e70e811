"""XLA's compile-time settings for the JAX oracle: what is added, where, and that a user's own wins."""
import os
import re
from pathlib import Path

from oracles.backends import FUSION_EMITTER_FLAG_IN, _jaxlib_version, compile_flags

FAST = "--xla_cpu_use_fusion_emitters=false"


def test_the_pinned_jaxlib_gets_every_setting():
    pin = re.search(r"^jaxlib==([\d.]+)", (Path(__file__).parents[1] / "constraints.txt").read_text(), re.M)
    version = tuple(int(p) for p in pin.group(1).split("."))
    assert _jaxlib_version() == version  # the installed one is read, and it is the pin
    # a new pin must be checked for the flag (XLA aborts on one it does not know), then the window moved
    assert FUSION_EMITTER_FLAG_IN[0] <= version[:2] < FUSION_EMITTER_FLAG_IN[1], version
    flags = compile_flags("", version).split()
    assert flags == ["--xla_backend_optimization_level=0", "--xla_llvm_disable_expensive_passes=true", FAST]


def test_other_jaxlibs_are_not_given_a_flag_they_may_not_know():
    for version in [(0, 4, 30), (0, 9, 9), (0, 11, 0), (1, 0), None]:
        assert FAST not in compile_flags("", version), version
        assert "--xla_backend_optimization_level=0" in compile_flags("", version)


def test_a_users_own_setting_of_each_option_wins():
    mine = "--xla_cpu_use_fusion_emitters=true --xla_backend_optimization_level=2 --xla_llvm_disable_expensive_passes=false"
    assert compile_flags(mine, (0, 10, 2)) == mine
    one = compile_flags("--xla_llvm_disable_expensive_passes=false", (0, 10, 2)).split()
    assert one == ["--xla_llvm_disable_expensive_passes=false", "--xla_backend_optimization_level=0", FAST]


def test_an_option_named_inside_a_value_is_not_a_setting():
    dump = "--xla_dump_to=/tmp/xla_cpu_use_fusion_emitters_off"
    assert compile_flags(dump, (0, 10, 2)).split() == [
        dump, "--xla_backend_optimization_level=0", "--xla_llvm_disable_expensive_passes=true", FAST]


def test_jaxlib_versions_are_read_as_released(monkeypatch):
    import importlib.metadata as md

    for text, want in [("0.10.2", (0, 10, 2)), ("0.10.2.dev20260101", (0, 10, 2)), ("0.10rc1", (0, 10)),
                       ("0.10.2+cuda12", (0, 10, 2)), ("nightly", None)]:
        monkeypatch.setattr(md, "version", lambda name, t=text: t)
        assert _jaxlib_version() == want, text

    def missing(name):
        raise md.PackageNotFoundError(name)
    monkeypatch.setattr(md, "version", missing)
    assert _jaxlib_version() is None and FAST not in compile_flags("", _jaxlib_version())


def test_this_process_compiles_with_them():
    # tests/conftest.py configured the oracles before any JAX computation
    assert FAST in os.environ["XLA_FLAGS"].split() or not (
        FUSION_EMITTER_FLAG_IN[0] <= (_jaxlib_version() or (0, 0))[:2] < FUSION_EMITTER_FLAG_IN[1])
