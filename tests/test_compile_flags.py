"""XLA's compile-time settings for the JAX oracle: what is added, where, and that a user's own wins."""
import os
import re
from pathlib import Path

from oracles.backends import FUSION_EMITTER_FLAG_IN, _jaxlib_version, compile_flags

FAST = "--xla_cpu_use_fusion_emitters=false"


def test_the_pinned_jaxlib_gets_every_setting():
    pin = re.search(r"^jaxlib==([\d.]+)", (Path(__file__).parents[1] / "constraints.txt").read_text(), re.M)
    version = tuple(int(p) for p in pin.group(1).split("."))
    # a new pin must be checked for the flag (XLA aborts on one it does not know), then the window moved
    assert FUSION_EMITTER_FLAG_IN[0] <= version[:2] < FUSION_EMITTER_FLAG_IN[1], version
    flags = compile_flags("", version).split()
    assert flags == ["--xla_backend_optimization_level=0", "--xla_llvm_disable_expensive_passes=true", FAST]


def test_other_jaxlibs_are_not_given_a_flag_they_may_not_know():
    for version in [(0, 4, 30), (0, 9, 9), (0, 11, 0), (1, 0), None]:
        assert FAST not in compile_flags("", version), version
        assert "--xla_backend_optimization_level=0" in compile_flags("", version)


def test_a_users_own_setting_wins():
    mine = "--xla_cpu_use_fusion_emitters=true --xla_backend_optimization_level=2"
    assert compile_flags(mine, (0, 10, 2)) == mine
    assert compile_flags("--xla_dump_to=/tmp/x", (0, 10, 2)).startswith("--xla_dump_to=/tmp/x --xla_backend")


def test_this_process_compiles_with_them():
    # tests/conftest.py configured the oracles before any JAX computation
    assert FAST in os.environ["XLA_FLAGS"].split() or not (
        FUSION_EMITTER_FLAG_IN[0] <= (_jaxlib_version() or (0, 0))[:2] < FUSION_EMITTER_FLAG_IN[1])
