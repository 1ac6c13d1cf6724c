"""The torch module: the same read as numpy, gradients everywhere, the round trip, hops."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from softkv import SoftDict, attention  # noqa: E402
from softkv.nn import SoftKVMemory  # noqa: E402

rng = np.random.default_rng(7)
K = rng.standard_normal((12, 6)).astype(np.float32)
V = rng.standard_normal((12, 3)).astype(np.float32)
Q = rng.standard_normal((5, 6)).astype(np.float32)


@pytest.mark.parametrize("scoring", attention.SCORINGS)
@pytest.mark.parametrize("temperature", ["auto", 0.3])
@pytest.mark.parametrize("top_k", [None, 4])
def test_torch_and_numpy_reads_agree(scoring, temperature, top_k):
    S = attention.scores(Q, K, scoring)
    W = attention.attention_weights(S, temperature, top_k)
    expected = attention.blend(W, V.astype(np.float64))
    memory = SoftKVMemory(K, V, temperature=temperature, scoring=scoring, top_k=top_k)
    values, weights = memory(torch.as_tensor(Q))
    np.testing.assert_allclose(weights.detach().numpy(), W, atol=1e-5)
    np.testing.assert_allclose(values.detach().numpy(), expected, atol=1e-5)


def test_softdict_and_its_module_agree(counting):
    d = SoftDict({f"key {i}": float(i) for i in range(20)}, encoder=counting, top_k=5, spelling_weight=0,
                 threshold=None)
    memory = d.to_module()
    queries = ["query one", "query two"]
    batch = d.lookup_many(queries)
    values, weights = memory(counting.encode(queries))
    order = [list(d).index(k) for k in batch.keys]  # module rows follow iteration order
    np.testing.assert_allclose(weights.detach().numpy()[:, order], batch.weight_array, atol=1e-5)
    np.testing.assert_allclose(values.detach().numpy(), batch.values, atol=1e-5)


def double_memory(**options):
    memory = SoftKVMemory(
        torch.tensor(K[:6], dtype=torch.float64), torch.tensor(V[:6], dtype=torch.float64), **options
    )
    return memory.double()


cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=cuda)])
@pytest.mark.parametrize("top_k", [None, 3])
@pytest.mark.parametrize("scoring", ["cosine", "scaled_dot", "neg_l2"])
def test_gradcheck_values_keys_query_and_temperature(scoring, top_k, device):
    memory = double_memory(scoring=scoring, top_k=top_k, temperature=0.7).to(device)
    query = torch.tensor(Q[:2], dtype=torch.float64, device=device, requires_grad=True)
    keys = memory.key_embeddings.clone().requires_grad_()
    values = memory.values.clone().requires_grad_()
    log_t = memory.log_temperature.clone().requires_grad_()

    def read(query, keys, values, log_t):
        memory.key_embeddings, memory.values, memory.log_temperature = keys, values, log_t
        return memory(query)[0]

    assert torch.autograd.gradcheck(read, (query, keys, values, log_t), eps=1e-6, atol=1e-5)


def test_gradcheck_through_auto_temperature_and_projection():
    memory = double_memory(temperature="auto", query_projection=True, learn_projection=False)
    query = torch.tensor(Q[:2], dtype=torch.float64, requires_grad=True)
    projection = memory.query_projection.detach().clone().requires_grad_()

    def read(query, projection):
        memory.query_projection = projection
        return memory(query)[0]

    assert torch.autograd.gradcheck(read, (query, projection), eps=1e-6, atol=1e-5)


def test_parameters_and_buffers_follow_the_flags():
    memory = SoftKVMemory(K, V, temperature=0.5, learn_values=True, learn_temperature=True, query_projection=True)
    assert {n for n, _ in memory.named_parameters()} == {"values", "log_temperature", "query_projection"}
    assert {n for n, _ in memory.named_buffers()} == {"key_embeddings", "alias_embeddings", "alias_rows"}
    with pytest.raises(ValueError, match="must start from a number"):
        SoftKVMemory(K, V, temperature="auto", learn_temperature=True)
    with pytest.raises(ValueError, match="one value per key"):
        SoftKVMemory(K, V[:3])


@cuda
@pytest.mark.parametrize("scoring", attention.SCORINGS)
@pytest.mark.parametrize("options", [{"temperature": "auto", "top_k": 4, "query_projection": True},
                                     {"temperature": 0.3, "hops": 2}])
def test_cuda_read_matches_cpu(scoring, options):
    memory = SoftKVMemory(K, V, scoring=scoring, **options)
    if options.get("hops") == 2:
        torch.nn.init.normal_(memory.hop_projections[0].weight, std=0.5, generator=torch.Generator().manual_seed(0))
    cpu_values, cpu_weights = memory(Q)
    memory = memory.to("cuda")
    values, weights = memory(Q)  # numpy queries follow the module to the GPU
    assert values.device.type == weights.device.type == "cuda"
    np.testing.assert_allclose(values.cpu().detach().numpy(), cpu_values.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(weights.cpu().detach().numpy(), cpu_weights.detach().numpy(), atol=1e-5)


@cuda
def test_a_module_trained_on_cuda_goes_back_into_its_softdict(counting):
    d = SoftDict({f"key {i}": float(i) for i in range(10)}, encoder=counting, temperature=0.5)
    memory = d.to_module(learn=("values", "temperature", "projection")).to("cuda")
    optimizer = torch.optim.SGD(memory.parameters(), lr=0.1)
    values, _ = memory(counting.encode(["a query", "another"]))
    values.sum().backward()
    assert all(p.grad is not None and p.grad.device.type == "cuda" for p in memory.parameters())
    optimizer.step()
    d.update_from_module(memory)
    assert list(d) == [f"key {i}" for i in range(10)] and d.temperature != 0.5
    np.testing.assert_allclose(list(d.values()), memory.values.detach().cpu().numpy().ravel(), rtol=1e-6)


def test_round_trip_keeps_keys_values_and_parameters(counting):
    d = SoftDict({"a": [1.0, 2.0], "b": [3.0, 4.0], "c": [5.0, 6.0]}, encoder=counting, temperature=0.4)
    memory = d.to_module(learn=("values", "keys", "temperature", "projection"))
    with torch.no_grad():
        memory.values.add_(1.0)
        memory.key_embeddings.mul_(2.0)
        memory.log_temperature.fill_(np.log(0.2))
        memory.query_projection.mul_(0.5)
    d.update_from_module(memory)
    assert list(d) == ["a", "b", "c"] and d.temperature == pytest.approx(0.2)
    np.testing.assert_allclose(d["b"], [4.0, 5.0])
    np.testing.assert_allclose(d.key_embeddings, 2 * counting.encode(["a", "b", "c"]), rtol=1e-6)
    np.testing.assert_allclose(d.query_projection, 0.5 * np.eye(16))
    clone = SoftDict.from_module(memory, encoder=counting)
    assert clone == d and clone.temperature == pytest.approx(0.2)
    np.testing.assert_allclose(clone["query"], d["query"], rtol=1e-6)


def test_modules_refuse_what_a_softdict_cannot_hold(counting):
    with pytest.raises(TypeError, match="numeric values"):
        SoftDict({"a": "x"}, encoder=counting).to_module()
    d = SoftDict({"a": 1.0, "b": 2.0}, encoder=counting)
    with pytest.raises(ValueError, match="one hop"):
        d.update_from_module(d.to_module(hops=2))
    with pytest.raises(ValueError, match="learn takes any of"):
        d.to_module(learn=("everything",))
    other = SoftDict({"x": 1.0, "y": 2.0}, encoder=counting).to_module(learn=("values",))
    with pytest.raises(ValueError, match="does not hold this SoftDict's keys"):
        d.update_from_module(other)


def chain_task(n_keys=32, dim=8, seed=0):
    """Key i holds (y_i, one-hot of next(i)); the target for query k_i is y_next(i): two reads away."""
    g = torch.Generator().manual_seed(seed)
    keys = torch.nn.functional.normalize(torch.randn(n_keys, dim, generator=g), dim=1)
    nxt = torch.randperm(n_keys, generator=g)
    y = torch.randn(n_keys, generator=g)
    values = torch.cat([y[:, None], torch.eye(n_keys)[nxt]], dim=1)
    return keys, values, y[nxt]


def train_chain(hops, steps=400):
    """Fraction of the target variance left after training temperature (and hop projections)."""
    torch.manual_seed(0)
    keys, values, target = chain_task()
    memory = SoftKVMemory(keys, values, temperature=0.1, hops=hops, learn_temperature=True)
    optimizer = torch.optim.Adam(memory.parameters(), lr=0.05)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = ((memory(keys)[0][:, 0] - target) ** 2).mean()
        loss.backward()
        optimizer.step()
    return float(loss.detach()) / float(target.var())


def test_two_hops_solve_a_chain_that_one_hop_cannot():
    # One read sees only y of the query's neighbours, unrelated to y_next(i): the best it can do
    # is the mean. The second hop follows the pointer that the first read returned.
    one, two = train_chain(hops=1), train_chain(hops=2)
    assert two < 0.05, f"2 hops left {two:.3f} of the variance"
    assert one > 0.8, f"1 hop should not solve the chain, left {one:.3f}"


def test_a_learned_temperature_starts_from_the_one_a_default_dict_reads_with(counting):
    d = SoftDict({f"item {i}": float(i) for i in range(8)}, encoder=counting)  # temperature "auto"
    module = d.to_module(learn=("values", "temperature"))
    started = float(torch.exp(module.log_temperature.detach()))
    reads = d.lookup_many(list(d), exclude=list(d), on_miss="ignore").temperatures
    assert d.temperature == "auto" and started == pytest.approx(float(np.median(reads)), rel=1e-4)
    with pytest.raises(ValueError, match="at least 2 keys"):
        SoftDict({"only": 1.0}, encoder=counting).to_module(learn=("temperature",))
