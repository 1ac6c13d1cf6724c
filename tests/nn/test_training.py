"""SoftDict.fit: what it learns, what it keeps, what it refuses."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from softkv import SoftDict  # noqa: E402


def distorted_memory(seed=0, n_keys=40, dim=6):
    """Keys with values; queries are a fixed linear distortion of keys that only a projection can undo."""
    rng = np.random.default_rng(seed)
    keys = rng.standard_normal((n_keys, dim))
    values = keys @ rng.standard_normal(dim)  # a smooth function of the key
    distortion = np.eye(dim) + 0.8 * rng.standard_normal((dim, dim))
    d = SoftDict.from_embeddings([f"k{i}" for i in range(n_keys)], keys, list(values), temperature=0.1)
    queries = keys @ distortion.T
    return d, queries, values


def mse(d, queries, targets):
    return float(((d.lookup_many(queries).values - targets) ** 2).mean())


def test_a_query_projection_undoes_a_linear_distortion_of_the_queries():
    d, queries, values = distorted_memory()
    before = mse(d, queries, values)
    temperature_only = d.copy()
    temperature_only.fit(list(queries), values, learn=("temperature",), epochs=300)
    projected = d.copy()
    history = projected.fit(list(queries), values, learn=("temperature", "projection"), epochs=600,
                            learning_rate=0.03)
    assert projected.query_projection is not None and projected.query_projection.shape == (6, 6)
    assert mse(projected, queries, values) < 0.5 * min(before, mse(temperature_only, queries, values))
    assert history.best_validation_loss < history.initial_validation_loss
    assert len(history.train_loss) == len(history.validation_loss) >= history.best_epoch + 1


def test_the_temperature_is_fitted_first_and_the_rest_never_ends_worse_on_validation():
    d, queries, values = distorted_memory(seed=3)
    temperature_only = d.copy().fit(list(queries), values, learn=("temperature",), epochs=200)
    both = d.copy().fit(list(queries), values, learn=("temperature", "projection"), epochs=200)
    assert temperature_only.first_stage_epochs == 0
    # the first stage is the temperature-only run itself: same split, same steps, same losses
    assert 0 < both.first_stage_epochs == len(temperature_only.train_loss)
    assert both.validation_loss[: both.first_stage_epochs] == pytest.approx(temperature_only.validation_loss)
    assert both.best_validation_loss <= temperature_only.best_validation_loss


def test_values_learned_by_gradient_are_written_back_and_keys_kept():
    d, queries, values = distorted_memory(seed=1)
    shifted = values + 5.0
    history = d.fit(list(queries), shifted, learn=("values",), epochs=300, learning_rate=0.1)
    assert list(d) == [f"k{i}" for i in range(40)]
    assert history.best_validation_loss < 0.5 * history.initial_validation_loss
    assert np.mean(list(d.values())) > np.mean(values) + 3.0  # the values moved towards the targets


def test_fit_keeps_the_starting_state_when_no_epoch_helps():
    d, queries, values = distorted_memory(seed=2)
    d.temperature = 0.1
    noise = np.random.default_rng(0).standard_normal(len(values)) * 100  # targets unrelated to anything
    history = d.fit(list(queries), noise, learn=("temperature",), epochs=50, learning_rate=1e-9)
    if history.best_epoch == -1:
        assert d.temperature == pytest.approx(0.1)
    assert history.best_validation_loss <= history.initial_validation_loss


def test_fit_takes_queries_from_a_generator(counting):
    d = SoftDict({f"key {i}": float(i % 2) for i in range(30)}, encoder=counting, temperature=0.05)
    history = d.fit((key for key in list(d)), list(d.values()), learn=("temperature",), epochs=5)
    assert history.initial_validation_loss > 0  # read once: embedded, not found empty


def test_queries_that_are_keys_are_read_leave_one_out(counting):
    d = SoftDict({f"key {i}": float(i % 2) for i in range(30)}, encoder=counting, temperature=0.05)
    history = d.fit(list(d), list(d.values()), learn=("temperature",), epochs=5)
    # with its own key excluded, no query can predict its value perfectly from itself
    assert history.initial_validation_loss > 0.01


def test_fit_refuses_bad_input_and_changes_nothing(counting):
    d = SoftDict({"a": 1.0, "b": 2.0, "c": 3.0}, encoder=counting)
    with pytest.raises(ValueError, match="at least 2"):
        d.fit(["x"], [1.0])
    with pytest.raises(ValueError, match="at least 2"):
        d.fit(["x", "y"], [1.0])
    with pytest.raises(ValueError, match="values' shape"):
        d.fit(["x", "y"], [[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(ValueError, match="finite"):
        d.fit(["x", "y"], [1.0, float("nan")])
    with pytest.raises(ValueError, match=r"targets are numbers with the values' shape \(\), one per query"):
        d.fit(["x", "y"], ["one", "two"])
    with pytest.raises(ValueError, match="learn takes any of"):
        d.fit(["x", "y"], [1.0, 2.0], learn=("metric",))
    for option in ({"learning_rate": float("nan")}, {"learning_rate": 0}, {"projection_decay": -1.0},
                   {"epochs": 0}, {"patience": 2.5}):
        with pytest.raises(ValueError, match=f"{next(iter(option))} must be"):
            d.fit(["x", "y"], [1.0, 2.0], **option)
    with pytest.raises(ValueError, match="torch device"):
        d.fit(["x", "y"], [1.0, 2.0], device="nowhere")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            d.fit(["x", "y"], [1.0, 2.0], device="cuda")
    with pytest.raises(TypeError, match="numeric values"):
        SoftDict({"a": "x", "b": "y"}, encoder=counting).fit(["q", "r"], [1.0, 2.0])
    d.scoring = "dot"
    with pytest.raises(ValueError, match="spelling weight .* scoring='cosine'"):
        d.fit(["x", "y"], [1.0, 2.0], learn=("spelling",))
    assert d.temperature == "auto" and d.query_projection is None and dict(d) == {"a": 1.0, "b": 2.0, "c": 3.0}


def test_fit_improves_held_out_error_on_cars(minilm):
    cars = pytest.importorskip("softkv.datasets").cars
    try:
        mpg = cars()
    except ImportError:
        pytest.skip("the [datasets] extra is not installed")
    names = sorted(mpg)
    np.random.default_rng(0).shuffle(names)
    memory, held_out = names[:60], names[60:120]
    truth = np.array([mpg[n] for n in held_out])
    # Read by meaning alone, the channel the projection transforms; every held-out car gets an answer.
    d = SoftDict({n: mpg[n] for n in memory}, threshold=None, spelling_weight=0)
    untrained = np.abs(d.lookup_many(held_out).values - truth).mean()
    d.fit(memory, [mpg[n] for n in memory], learn=("temperature",))
    trained = np.abs(d.lookup_many(held_out).values - truth).mean()
    assert trained < untrained


@pytest.mark.slow
def test_a_learned_projection_beats_the_temperature_alone_on_held_out_cars(minilm):
    """The split of examples/train_memory.py: 60 cars in memory, 150 training queries, 94 held out."""
    datasets = pytest.importorskip("softkv.datasets")
    try:
        mpg = datasets.cars()
    except ImportError:
        pytest.skip("the [datasets] extra is not installed")
    names = sorted(mpg)
    np.random.default_rng(0).shuffle(names)
    memory, train, held_out = names[:60], names[60:210], names[210:]
    truth = np.array([mpg[n] for n in held_out])
    # Read by meaning alone, the channel the projection transforms; every held-out car gets an answer.
    d = SoftDict({n: mpg[n] for n in memory}, threshold=None, spelling_weight=0)
    errors = {}
    for learn in [("temperature",), ("temperature", "projection")]:
        trained = d.copy()
        trained.fit(train, [mpg[n] for n in train], learn=learn)
        errors[learn] = np.abs(trained.lookup_many(held_out).values - truth).mean()
    assert errors[("temperature", "projection")] < 0.95 * errors[("temperature",)]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_fit_on_cuda_learns_what_it_learns_on_the_cpu():
    d, queries, values = distorted_memory(seed=4)
    on_cpu, on_gpu = d.copy(), d.copy()
    cpu = on_cpu.fit(list(queries), values, learn=("temperature", "projection"), epochs=100)
    gpu = on_gpu.fit(list(queries), values, learn=("temperature", "projection"), epochs=100, device="cuda")
    assert isinstance(on_gpu.query_projection, np.ndarray) and isinstance(on_gpu.temperature, float)
    assert gpu.best_validation_loss == pytest.approx(cpu.best_validation_loss, rel=1e-3)
    np.testing.assert_allclose(on_gpu.query_projection, on_cpu.query_projection, atol=1e-3)


def test_the_module_of_a_default_dict_reads_text_as_the_dict_does_spelling_included(counting):
    d = SoftDict({f"key {i}": float(i % 3) for i in range(12)}, encoder=counting, threshold=None)
    assert d.spelling_weight == "auto"
    memory = d.to_module()
    queries = ["query d", "kye 4", "key 7"]  # a new text, a typo, an exact key
    values, weights = memory(queries)
    batch = d.lookup_many(queries)
    order = [list(d).index(k) for k in batch.keys]
    np.testing.assert_allclose(weights.detach().numpy()[:, order], batch.weight_array, atol=1e-5)
    np.testing.assert_allclose(values.detach().numpy(), batch.values, atol=1e-5)
    d.fit(["query a", "query b", "query c"], [0.0, 1.0, 2.0], learn=("temperature",), epochs=5)
    assert d.spelling_weight == "auto"  # the trained read is the dict's own read, spelling and all


def test_the_spelling_weight_can_be_learned(counting):
    keys = {f"item {name}": float(i) for i, name in enumerate(["alpha", "bravo", "charlie", "delta", "echo"])}
    d = SoftDict(keys, encoder=counting, temperature=0.05, spelling_weight=0.1)
    typos = ["item alpah", "itme bravo", "item charlei", "item detla", "item ecoh", "tiem alpha", "item brvao",
             "item chralie"]
    targets = [0.0, 1.0, 2.0, 3.0, 4.0, 0.0, 1.0, 2.0]
    history = d.fit(typos, targets, learn=("spelling",), epochs=200, learning_rate=0.1, validation_fraction=0.25)
    assert history.best_validation_loss < history.initial_validation_loss
    assert d.spelling_weight > 0.1  # random encodings say nothing of typos: spelling does
