"""The gate: hostile globals are refused (statically and in find_class) and nothing from the file runs."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from legacy_world import LegacyWorld
from legacy_world.containers import hostile_pickle

from migrate.errors import RefusedFile
from migrate.read import inventory, read_legacy
from migrate.unpickler import GlobalPolicy, GlobalRefused, RestrictedUnpickler
from simple_ckpt.opcode_scan import scan_pickle

# Nothing named like a legacy package may be importable: the reader must not find the legacy code.
pytestmark = pytest.mark.usefixtures("no_legacy_modules")

HOSTILE_GLOBALS = [
    ("os", "system"),
    ("posix", "system"),
    ("subprocess", "check_output"),
    ("builtins", "eval"),
    ("__builtin__", "exec"),
    ("builtins", "getattr"),
    ("builtins", "__import__"),
    ("builtins", "compile"),
    ("importlib", "import_module"),
    ("runpy", "run_path"),
    ("pickle", "loads"),
    ("torch", "load"),
    ("torch.hub", "load"),
    ("torch.serialization", "load"),
    ("torch._utils", "_rebuild_wrapper_subclass"),
]


@pytest.mark.parametrize(("module", "name"), HOSTILE_GLOBALS)
def test_hostile_global_is_refused_and_nothing_runs(
    legacy_world: LegacyWorld, module: str, name: str
) -> None:
    command, sentinel = legacy_world.sentinel_command()
    arg = command if name in ("system", "check_output") else f"__import__('os').system({command!r})"
    path = legacy_world.write_hostile(legacy_world.root / "model_0001.pt", module, name, arg=arg)
    with pytest.raises(RefusedFile) as caught:
        read_legacy(path)
    message = str(caught.value)
    assert str(path) in message and f"{module}.{name}" in message
    assert caught.value.global_name == f"{module}.{name}"
    assert not sentinel.exists()
    assert [use.handling for use in inventory(path)] == ["refused"]


@pytest.mark.parametrize("style", ["global", "stack_global", "memo", "inst", "nested"])
@pytest.mark.parametrize("container", ["zip", "package"])
def test_every_spelling_of_a_global_is_caught_statically(
    legacy_world: LegacyWorld, style: str, container: str
) -> None:
    command, sentinel = legacy_world.sentinel_command()
    path = legacy_world.write_hostile(
        legacy_world.root / "model_0002.pt", "os", "system", command, style, container
    )
    refused = [use for use in inventory(path) if use.handling == "refused"]
    assert {use.qualified_name for use in refused} == {"os.system"}
    with pytest.raises(RefusedFile, match=r"model_0002\.pt: refused: global os\.system"):
        read_legacy(path)
    assert not sentinel.exists()


def test_raw_pickle_outside_a_zip_is_refused_too(legacy_world: LegacyWorld) -> None:
    command, sentinel = legacy_world.sentinel_command()
    path = legacy_world.write_hostile(
        legacy_world.root / "evil.pkl", "os", "system", command, "global", "pickle"
    )
    with pytest.raises(RefusedFile, match="os.system"):
        read_legacy(path)
    assert not sentinel.exists()


@pytest.mark.parametrize("style", ["global", "stack_global", "memo", "inst"])
def test_find_class_is_the_gate_even_without_the_static_scan(tmp_path: Path, style: str) -> None:
    sentinel = tmp_path / "RAN"
    data = hostile_pickle("os", "system", f"touch {sentinel}", style)
    with pytest.raises(GlobalRefused, match="os.system"):
        RestrictedUnpickler(io.BytesIO(data), policy=GlobalPolicy()).load()
    assert not sentinel.exists()


def test_stack_global_with_computed_operands_is_unresolved_and_refused(legacy_world: LegacyWorld) -> None:
    # Operands pushed as a tuple and unpacked would defeat a literal-only scanner: here the module name is
    # the result of a call, so the scan cannot know it and must refuse rather than guess.
    data = (
        b"\x80\x04c_codecs\nencode\n"
        + b"\x8c\x02os\x8c\x06latin1\x86R"  # _codecs.encode('os', 'latin1') -> a computed value
        + b"\x8c\x06system\x93"
        + b"\x8c\x04true\x85R."
    )
    scan = scan_pickle(data, "x")
    assert scan.unresolved_stack_globals == 1
    path = legacy_world.root / "model_0003.pt"
    from legacy_world.containers import write_torch_zip

    write_torch_zip(path, data)
    with pytest.raises(RefusedFile, match="not resolvable statically"):
        read_legacy(path)


def test_scan_resolves_memoized_operands_of_legitimate_protocol_4_pickles() -> None:
    import pickle
    from collections import OrderedDict

    data = pickle.dumps([OrderedDict(a=1), OrderedDict(b=2)], protocol=4)
    scan = scan_pickle(data, "x")
    assert scan.globals == [("collections", "OrderedDict")]
    assert scan.unresolved_stack_globals == 0


def test_allow_list_is_explicit_not_everything_under_torch() -> None:
    policy = GlobalPolicy()
    assert policy.decide("torch._utils", "_rebuild_tensor_v2").handling == "allowed"
    assert policy.decide("torch.nn.modules.linear", "Linear").handling == "allowed"
    assert policy.decide("torch", "float32").handling == "allowed"
    assert policy.decide("numpy.core.multiarray", "_reconstruct").handling == "allowed"
    assert policy.decide("numpy._core.multiarray", "scalar").handling == "allowed"
    assert policy.decide("__builtin__", "long").handling == "allowed"
    for module, name in [
        ("torch", "load"),
        ("torch.hub", "load"),
        ("torch.serialization", "load"),
        ("torch", "save"),
    ]:
        assert policy.decide(module, name).handling == "refused"
    assert policy.decide("torch.nn.modules.module", "register_module_forward_hook").handling == "refused"
    assert policy.decide("numpy", "load").handling == "refused"
    assert policy.decide("metta.agent.metta_agent", "MettaAgent").handling == "stub"
    # protocol 4 dotted names cannot walk into a class's function globals
    assert (
        policy.decide("metta.agent.policy_record", "PolicyRecord.__init__.__globals__").handling == "refused"
    )
    assert policy.decide("os system", "x").handling == "refused"


def test_real_class_lookup_never_imports_outside_allowed_prefixes(legacy_world: LegacyWorld) -> None:
    from migrate.model import ReadOptions

    with legacy_world.importable():
        policy = GlobalPolicy(ReadOptions(), agent_package="metta")
        assert policy.decide("omegaconf.dictconfig", "DictConfig").handling == "stub"
        assert policy.decide("gymnasium.spaces.box", "Box").handling == "stub"
        assert "omegaconf" not in sys.modules and "gymnasium" not in sys.modules
        assert policy.decide("metta.agent.metta_agent", "MettaAgent").handling == "real"
        no_real = GlobalPolicy(ReadOptions(import_real_classes=False), agent_package="metta")
        assert no_real.decide("metta.agent.metta_agent", "MettaAgent").handling == "stub"


def test_oversized_allocation_requests_are_refused(legacy_world: LegacyWorld) -> None:
    from legacy_world.containers import write_torch_zip

    data = (
        b"\x80\x02c__builtin__\nbytearray\n\x8a\x08\x00\x00\x00\x00\x00\x01\x00\x00\x85R."  # bytearray(2**48)
    )
    path = legacy_world.root / "model_0004.pt"
    write_torch_zip(path, data)
    from migrate.errors import CorruptFile

    with pytest.raises(CorruptFile, match="more memory"):
        read_legacy(path)


def _legit_values():
    from collections import OrderedDict

    from hypothesis import strategies as st

    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        st.text(max_size=8),
        st.binary(max_size=8),
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.tuples(inner, inner),
            st.dictionaries(st.text(max_size=4), inner, max_size=4),
            st.dictionaries(st.text(max_size=4), inner, max_size=4).map(OrderedDict),
            st.frozensets(st.integers(), max_size=3),
        ),
        max_leaves=20,
    )


def test_scan_never_misreads_legitimate_pickles() -> None:
    """Over every protocol, the static scan resolves every global of an ordinary pickle, and the gate agrees."""
    import pickle

    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=150, deadline=None)
    @given(value=_legit_values(), protocol=st.integers(min_value=0, max_value=5), repeat=st.booleans())
    def check(value: object, protocol: int, repeat: bool) -> None:
        data = pickle.dumps([value, value] if repeat else value, protocol=protocol)
        scan = scan_pickle(data, "x")
        assert scan.unresolved_stack_globals == 0
        policy = GlobalPolicy()
        assert all(policy.decide(m, n).handling == "allowed" for m, n in scan.globals), scan.globals
        assert RestrictedUnpickler(io.BytesIO(data), policy=policy).load() == (
            [value, value] if repeat else value
        )

    check()
