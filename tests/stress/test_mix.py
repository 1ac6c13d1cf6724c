"""A short run of the threaded mix (ten minutes of it: benchmarks/untrusted.py --mix 600)."""

import pytest

from tests.stress.mix import FAILURES, run_mix

pytestmark = pytest.mark.stress


def test_the_threaded_mix_never_overfills_fabricates_or_saves_what_cannot_load(tmp_path):
    mix = run_mix(8.0, tmp_path)
    assert {kind: mix.counts[kind] for kind in FAILURES} == dict.fromkeys(FAILURES, 0), mix.problems
    for job in ("write", "tune", "read", "duplicate", "save"):
        assert mix.counts[f"{job} calls"] > 5, mix.counts  # every kind of work really ran
