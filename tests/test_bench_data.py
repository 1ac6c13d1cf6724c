"""The quality benchmarks' data: every task names keys its catalog holds, must-miss queries name none, no query is
already a key, and the held-out catalogs share no key or query with the dev benchmark's."""

import sys
from pathlib import Path

import pytest

pytest.importorskip("babel")  # the [datasets] extra
BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def benchmarks(request):
    sys.path.insert(0, str(BENCHMARKS))
    request.addfinalizer(lambda: sys.path.remove(str(BENCHMARKS)))
    import devdata
    import heldout

    return devdata, (devdata.catalogs(), devdata.tasks()), heldout.build()


@pytest.mark.parametrize("which", [1, 2], ids=["dev", "held out"])
def test_each_task_names_keys_of_its_catalog_and_no_query_is_a_key(benchmarks, which):
    devdata, found, all_tasks = benchmarks[0], *benchmarks[which]
    assert all_tasks
    for task in all_tasks:
        keys = found[task.catalog]
        assert len(task.queries) == len(task.right)
        for query, right in zip(task.queries, task.right):
            assert query not in keys, (task.catalog, task.kind, query)
            assert (not right) == (task.kind in devdata.MISSES), (task.catalog, task.kind, query)
            assert right <= set(keys), (task.catalog, task.kind, query)


def test_the_held_out_catalogs_share_no_key_or_query_with_the_dev_benchmark(benchmarks):
    _, (dev, dev_tasks), (held, held_tasks) = benchmarks
    for catalog, dev_catalog in (("people", "people"), ("cities", "cities"), ("words", "vocabulary")):
        # FEBRL draws both files' names from the same name lists, and the dev vocabulary holds emoji names
        # ("bacon"): a few keys recur by chance, none of the queries
        shared = set(held[catalog]) & set(dev[dev_catalog])
        assert len(shared) <= 0.05 * len(held[catalog]), (catalog, len(shared), sorted(shared)[:5])
    dev_queries = {q for task in dev_tasks for q in task.queries}
    held_queries = {q for task in held_tasks if task.kind != "unrelated" for q in task.queries}
    assert not held_queries & dev_queries


def test_no_unrelated_query_over_an_airport_catalog_is_an_airport(benchmarks):
    # an airport abroad over US airports is of the catalog's own domain: a query it does not hold
    devdata, (found, all_tasks) = benchmarks[0], benchmarks[1]
    airports = set(devdata.datasets.world_airports()) | set(found["US airports"]) | set(found["world airports"])
    unrelated = [task for task in all_tasks if task.kind == "unrelated" and "airports" in task.catalog]
    assert len(unrelated) == 2
    for task in unrelated:
        assert not airports & set(task.queries), task.catalog
    abroad = [task for task in all_tasks if task.catalog == "US airports" and task.kind == "not in catalog"]
    assert abroad and set(abroad[0].queries) <= airports
