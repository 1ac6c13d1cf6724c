"""The service's JSON API through FastAPI's test client: every endpoint, every refusal, writes and their token,
and reads that stay consistent while writes land."""

import threading

import numpy as np
import pytest
from fastapi.testclient import TestClient

from softkv import SoftDict
from softkv.serve import Limits, Service, create_app

FRUIT = {"apple": 10, "banana": 5, "cherry": 7, "chair": 2, "sofa": 1, "table": 4}


@pytest.fixture
def fruit(minilm):
    return SoftDict(FRUIT)


def client_of(d, **options):
    return TestClient(create_app(Service(d, **options)))


def test_lookup_answers_as_the_dict_and_the_command_do(fruit):
    from softkv.read import as_record

    client = client_of(fruit)
    for query in ("aple", "fruit", "chair", "quantum chromodynamics"):
        got = client.get("/lookup", params={"q": query, "rows": 3}).json()
        assert got == as_record(fruit.lookup(query, on_miss="ignore"), 3)
    missed = client.get("/lookup", params={"q": "quantum chromodynamics"}).json()
    assert missed["miss"] and missed["answer"] is None and "threshold" in missed["reason"]
    hit = client.get("/lookup", params={"q": "aple"}).json()
    assert (hit["nearest"], hit["nearest_value"], hit["miss"]) == ("apple", 10, False) and 9 < hit["answer"] <= 10
    blank = client.get("/lookup", params={"q": "  "}).json()
    assert blank["miss"] and "blank" in blank["reason"] and blank["nearest"] is None


def test_a_temperature_rereads_one_query_and_leaves_the_dict_as_it_was(fruit):
    client = client_of(fruit)
    sharp = client.get("/lookup", params={"q": "fruit"}).json()
    warm = client.get("/lookup", params={"q": "fruit", "temperature": "2"}).json()
    assert warm["temperature"] == 2.0 and max(warm["weights"].values()) < max(sharp["weights"].values())
    assert fruit.params["temperature"] == "auto"
    assert client.get("/lookup", params={"q": "fruit", "temperature": "auto"}).json() == sharp


def test_a_batch_is_one_read_of_many_queries(fruit):
    client = client_of(fruit)
    got = client.post("/lookup", json={"queries": ["fruit", "seat", "apple"], "rows": 2}).json()["results"]
    batch = fruit.lookup_many(["fruit", "seat", "apple"])
    np.testing.assert_allclose([r["answer"] for r in got], batch.values, rtol=1e-5)
    assert [r["nearest"] for r in got] == batch.nearest and all(len(r["weights"]) == 2 for r in got)


def test_explain_keys_health_page_and_schema(fruit):
    client = client_of(fruit)
    explained = client.get("/explain", params={"q": "fruit", "k": 2, "rows": 3}).json()
    expected = fruit.explain("fruit", k=2, rows=3)
    assert [p["key"] for p in explained["parts"]] == [p.key for p in expected.parts]
    assert explained["parts"][0]["meaning"] == pytest.approx(expected.parts[0].meaning, abs=1e-5)
    assert explained["half_weight_temperature"] == pytest.approx(expected.half_weight_temperature, rel=1e-5)
    first = client.get("/keys", params={"offset": 0, "limit": 4}).json()
    rest = client.get("/keys", params={"offset": 4, "limit": 4}).json()
    assert first["total"] == 6 and [k["key"] for k in first["keys"] + rest["keys"]] == list(FRUIT)
    assert first["keys"][0] == {"key": "apple", "value": 10, "aliases": []}
    assert client.get("/keys", params={"offset": 10**30}).json()["keys"] == []
    health = client.get("/health").json()
    assert (health["status"], health["keys"], health["value_kind"], health["writable"]) == ("ok", 6, "scalar", False)
    assert health["params"]["temperature"] == "auto" and health["encoder"] == "MiniLMEncoder"
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert 'id="q"' in page.text and 'id="temperature"' in page.text and "innerHTML" not in page.text
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/lookup", "/explain", "/keys", "/keys/{key}", "/health", "/save"} <= set(paths)
    assert set(paths["/lookup"]) == {"get", "post"} and set(paths["/keys/{key}"]) == {"put", "delete"}


REFUSED = [
    ("get", "/lookup", {"params": {"q": "fruit", "colour": "red"}}, 400, "unknown parameter 'colour'"),
    ("get", "/lookup", {}, 400, "q: Field required"),
    ("get", "/lookup", {"params": {"q": "fruit", "rows": "many"}}, 400, "rows"),
    ("get", "/lookup", {"params": {"q": "fruit", "rows": 0}}, 400, "rows and k must be from 1 to 100"),
    ("get", "/lookup", {"params": {"q": "fruit", "temperature": "-1"}}, 400, "temperature must be"),
    ("get", "/lookup", {"params": {"q": "fruit", "temperature": "hot"}}, 400, "temperature must be"),
    ("get", "/lookup", {"params": {"q": "x" * 1001}}, 413, "1,001 characters; at most 1,000"),
    ("post", "/lookup", {"json": {"queries": ["a"] * 257}}, 413, "257 queries in one batch; at most 256"),
    ("post", "/lookup", {"json": {"queries": []}}, 400, "queries is empty"),
    ("post", "/lookup", {"json": {"queries": ["a"], "colour": 1}}, 400, "colour: Extra inputs are not permitted"),
    ("post", "/lookup", {"json": {"queries": "fruit"}}, 400, "queries: Input should be a valid list"),
    ("post", "/lookup", {"content": b'{"queries": [', "headers": {"content-type": "application/json"}}, 400,
     "not valid JSON"),
    ("post", "/lookup", {"content": b"x" * (1 << 20 + 1), "headers": {"content-type": "application/json"}}, 413,
     "over the limit of 1,048,576 bytes"),
    ("get", "/explain", {"params": {"q": "fruit", "k": 500}}, 400, "rows and k"),
    ("get", "/keys", {"params": {"limit": 5000}}, 400, "limit from 1 to 1,000"),
    ("get", "/keys", {"params": {"offset": -1}}, 400, "offset must be >= 0"),
    ("get", "/health", {"params": {"verbose": 1}}, 400, "it takes none"),
    ("get", "/nowhere", {}, 404, "no endpoint GET /nowhere"),
    ("delete", "/lookup", {}, 405, "no endpoint DELETE /lookup"),
    ("put", "/keys/pear", {"json": {"value": 3}}, 403, "read-only: start it with softkv serve --writable"),
    ("delete", "/keys/apple", {}, 403, "read-only"),
    ("post", "/save", {}, 403, "read-only"),
]


@pytest.mark.parametrize("method, path, options, status, message", REFUSED,
                         ids=[f"{m} {p} {s} {msg[:24]}" for m, p, _, s, msg in REFUSED])
def test_bad_requests_answer_4xx_with_a_one_line_reason_and_change_nothing(fruit, method, path, options, status,
                                                                           message):
    client = client_of(fruit)
    before = dict(fruit.items())
    response = getattr(client, method)(path, **options) if method != "delete" or "json" not in options else None
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert message in error and "\n" not in error and len(error) <= 500
    assert dict(fruit.items()) == before and fruit.params["temperature"] == "auto"


def test_a_chunked_body_over_the_limit_is_refused_too(fruit):
    client = TestClient(create_app(Service(fruit, limits=Limits(max_body_bytes=100))))

    def chunks():
        for _ in range(10):
            yield b'{"queries": ["' + b"a" * 20 + b'"], '

    response = client.post("/lookup", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413 and "over the limit of 100 bytes" in response.json()["error"]


def test_writes_need_writable_and_the_token(fruit, tmp_path):
    client = client_of(fruit, path=tmp_path / "fruit.softkv", writable=True, token="s3cret")
    assert client.put("/keys/pear", json={"value": 3}).status_code == 401
    wrong = client.put("/keys/pear", json={"value": 3}, headers={"Authorization": "Bearer guess"})
    assert wrong.status_code == 401 and "Authorization: Bearer" in wrong.json()["error"] and "pear" not in fruit
    auth = {"Authorization": "Bearer s3cret"}
    assert client.put("/keys/pear", json={"value": 3}, headers=auth).json() == {"key": "pear", "keys": 7}
    assert fruit["pear"] == 3 and client.get("/health").json()["unsaved"]
    assert client.delete("/keys/pear", headers=auth).json() == {"deleted": "pear", "keys": 6}
    assert client.delete("/keys/pear", headers=auth).status_code == 404  # a soft match is never deleted
    assert client.post("/save", headers=auth).json()["keys"] == 6
    assert dict(SoftDict.load(tmp_path / "fruit.softkv").items()) == FRUIT


def test_a_write_is_checked_whole_and_a_refused_one_writes_nothing(fruit, tmp_path):
    client = client_of(fruit, path=tmp_path / "fruit.softkv", writable=True)  # loopback: no token needed
    before = dict(fruit.items())
    infinite = client.put("/keys/pear", content=b'{"value": 1e400}', headers={"content-type": "application/json"})
    assert infinite.status_code == 400 and "holds inf" in infinite.json()["error"] and "pear" not in fruit
    assert client.put("/keys/%20", json={"value": 3}).status_code == 400
    surrogate = client.put("/keys/pear", content=b'{"value": "\\ud800"}', headers={"content-type": "application/json"})
    assert surrogate.status_code == 400 and "lone surrogate" in surrogate.json()["error"] and "pear" not in fruit
    nested = 1
    for _ in range(40):
        nested = [nested]
    deep = client.post("/keys", json={"pairs": {"pear": 3, "plum": nested}})
    assert deep.status_code == 400 and "nested deeper" in deep.json()["error"] and "pear" not in fruit
    half_bad = client.post("/keys", json={"pairs": {"pear": 3, "  ": 4}})
    assert half_bad.status_code == 400 and "non-blank" in half_bad.json()["error"] and dict(fruit.items()) == before
    assert client.post("/keys", json={"pairs": {"a" * 1001: 1}}).status_code == 413
    assert client.post("/keys", json={"pairs": {"pear": 3, "plum": 4}}).json() == {"written": 2, "keys": 8}
    assert client.put("/keys/pear", json={"value": 3, "colour": 1}).status_code == 400


def test_unsaved_writes_are_saved_when_the_service_stops(fruit, tmp_path):
    path = tmp_path / "fruit.softkv"
    with client_of(fruit, path=path, writable=True) as client:  # the context runs the app's startup and shutdown
        client.put("/keys/pear", json={"value": 3})
        assert not path.exists()
    assert SoftDict.load(path)["pear"] == 3


def test_reads_during_writes_see_one_state_each(fruit):
    client = client_of(fruit, writable=True)
    client.post("/keys", json={"pairs": {"apple": -1, "banana": -1}})  # the two keys equal from the start
    stop, seen, problems = threading.Event(), [], []

    def write():
        for i in range(60):
            client.post("/keys", json={"pairs": {"apple": i, "banana": i}})  # both keys change in one write
            client.put(f"/keys/new key {i}", json={"value": i})
        stop.set()

    def read():
        while not stop.is_set():
            response = client.post("/lookup", json={"queries": ["apple", "banana"]})
            if response.status_code != 200:
                problems.append(response.text)
                continue
            apple, banana = (r["answer"] for r in response.json()["results"])
            seen.append(apple)
            if apple != banana:
                problems.append((apple, banana))

    threads = [threading.Thread(target=write)] + [threading.Thread(target=read) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not problems and len(set(seen)) > 1 and len(fruit) == 66
