"""CPython's own mapping-protocol tests (Lib/test/mapping_tests.py), run against SoftDict in strict mode.

In strict mode ``d[q]`` and ``get`` are exact, as the tests expect of a
dict. The tests are read from the running Python's standard library when it
ships them. Skipped, with the reason: those that need non-string keys or
keyword-argument construction (a SoftDict's keys are text, and its keywords
are its parameters).
"""

import importlib.util
import sysconfig
import unittest
from pathlib import Path

import pytest

from softkv import LexicalEncoder, SoftDict

PATH = Path(sysconfig.get_paths()["stdlib"]) / "test" / "mapping_tests.py"
if not PATH.exists():
    pytest.skip(f"this Python does not ship {PATH}", allow_module_level=True)
_spec = importlib.util.spec_from_file_location("cpython_mapping_tests", PATH)
mapping_tests = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mapping_tests)

ENCODER = LexicalEncoder(n_features=64)


class StrictSoftDict(SoftDict):
    """A SoftDict that is exact through the mapping protocol, with a fast encoder."""

    def __init__(self, data=None, **kwargs):
        kwargs.setdefault("encoder", ENCODER)
        kwargs.setdefault("strict", True)
        super().__init__(data, **kwargs)


def skipped(reason):
    return unittest.skip(reason)(lambda self: None)


class TestBasicMappingProtocol(mapping_tests.BasicTestMappingProtocol):
    type2test = StrictSoftDict


class TestMappingProtocol(mapping_tests.TestMappingProtocol):
    type2test = StrictSoftDict

    # Each of these builds dicts with int keys (1, 4...) or calls type2test(x=1, y=2); the rest of the
    # protocol they check is covered by the tests above and by tests/test_mapping.py.
    _INT_KEYS = "builds a mapping with int keys; a SoftDict's keys are text (embedded by its encoder)"
    test_clear = skipped(_INT_KEYS)
    test_copy = skipped(_INT_KEYS)
    test_fromkeys = skipped(_INT_KEYS + " (fromkeys((4, 5), 0))")
    test_items = skipped(_INT_KEYS)
    test_update = skipped(_INT_KEYS)
    test_values = skipped(_INT_KEYS)
    test_constructor = skipped("type2test(x=1, y=2): a SoftDict's keyword arguments are its parameters")
    test_popitem = pytest.mark.slow(mapping_tests.TestMappingProtocol.test_popitem)  # dicts of up to 2**11 keys


def test_the_skipped_protocol_tests_pass_with_text_keys():
    """What the skipped tests check, with string keys: fromkeys of subclasses, copy, clear, items, values."""

    class Sub(StrictSoftDict):
        pass

    assert type(Sub.fromkeys("ab")) is Sub and Sub.fromkeys("ab") == {"a": None, "b": None}
    d = StrictSoftDict({"1": "one", "2": "two"})
    copy = d.copy()
    assert copy == d and copy is not d and type(copy) is StrictSoftDict
    assert list(d.items()) == [("1", "one"), ("2", "two")] and list(d.values()) == ["one", "two"]
    d.update([("3", "three")], four="4")
    assert d == {"1": "one", "2": "two", "3": "three", "four": "4"}
    with pytest.raises(ValueError):
        d.update([("1", "2", "3")])
    with pytest.raises(KeyError):
        d["missing"]
    d.clear()
    assert d == {} and len(d) == 0
