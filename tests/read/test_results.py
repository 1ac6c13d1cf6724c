"""What a read returns is made once, complete, and never changed afterwards; a miss is scored and worded once."""

import dataclasses

import pytest

from softkv import LexicalEncoder, SoftDict

ENCODER = LexicalEncoder(n_features=64)


def test_results_are_frozen_records_with_every_field_set_when_made():
    value = (1, "one")  # a category: stored as it is
    d = SoftDict({"north": value, "south": (2, "two")}, encoder=ENCODER, threshold=None)
    exact, soft = d.lookup("north"), d.lookup("nort")
    assert exact.value is value and exact.exact and not exact.missed
    assert soft.value == value and soft.distribution is not None and soft.cutoff is None and soft.p_miss is None
    for result in (exact, soft, d.lookup_many(["nort", "north"])):
        with pytest.raises(dataclasses.FrozenInstanceError):
            result.missed = True  # type: ignore[misc]


def test_a_batch_row_is_the_lookup_of_its_query():
    d = SoftDict({"north": 1.0, "south": 2.0, "east": 3.0}, encoder=ENCODER, threshold=0.5)
    batch = d.lookup_many(["nort", "south", "zzz"], on_miss="ignore")
    for i, query in enumerate(batch.queries):
        one, row = d.lookup(query, on_miss="ignore"), batch[i]
        assert (row.missed, row.exact, row.cutoff, row.nearest) == (one.missed, one.exact, one.cutoff, one.nearest)
        # BLAS multiplies a batch of three and a batch of one with different kernels on some CPUs (on AMD EPYC
        # the scores differ in the last float32 bit), so the blend agrees to float32 rounding, not bit for bit
        assert row.value == pytest.approx(one.value, rel=1e-6)
        assert row.reason == one.reason


def test_a_miss_is_scored_once_and_its_error_says_what_its_result_says(monkeypatch):
    import softkv.read._pipeline as pipeline

    d = SoftDict({"north": 1.0, "south": 2.0, "east": 3.0}, encoder=ENCODER, threshold=0.99)
    calls = []
    score = pipeline.score
    monkeypatch.setattr(pipeline, "score", lambda *args, **kwargs: calls.append(1) or score(*args, **kwargs))
    reason = d.lookup("zzz", on_miss="ignore").reason
    calls.clear()
    with pytest.raises(KeyError) as error:
        d.lookup("zzz")
    assert len(calls) == 1 and reason is not None and reason in str(error.value)
    calls.clear()
    with pytest.raises(KeyError, match="query 2 of 2"):
        d.lookup_many(["north", "zzz"], weights=False)
    assert len(calls) == 1
