"""Shared fixtures: the real model once per session, fast deterministic encoders otherwise."""

import hashlib
import os

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing in the tests may ever reach a model hub
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import pytest
from hypothesis import settings

from softkv.encoders import FunctionEncoder, LexicalEncoder, default_encoder


@pytest.fixture(autouse=True, scope="session")
def kept_catalog_stores(tmp_path_factory):
    """Stores the command keeps for catalogs queried directly go to a folder of this session, not the home's."""
    os.environ["SOFTKV_CATALOG_CACHE"] = str(tmp_path_factory.mktemp("kept-catalogs"))
    return os.environ["SOFTKV_CATALOG_CACHE"]


settings.register_profile("ci", max_examples=200, deadline=None)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(scope="session")
def minilm():
    """The bundled all-MiniLM-L6-v2, loaded once; SoftDicts built without encoder= share it."""
    encoder = default_encoder()
    encoder.encode(["warm up"])
    return encoder


@pytest.fixture(scope="session")
def lexical():
    return LexicalEncoder()


class CountingEncoder:
    """A deterministic encoder that records every batch it is asked to embed."""

    def __init__(self, dim: int = 16):
        self.dim = dim
        self.calls: list[list[str]] = []

    def encode(self, texts):
        self.calls.append(list(texts))
        rows = []
        for text in texts:
            seed = int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")
            rows.append(np.random.default_rng(seed).standard_normal(self.dim))
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), self.dim)

    @property
    def texts(self):
        return [t for call in self.calls for t in call]


@pytest.fixture
def counting():
    return CountingEncoder()


def table_encoder(vectors: dict) -> FunctionEncoder:
    """An encoder that looks texts up in a fixed table of vectors."""
    default = [1.0] * len(next(iter(vectors.values())))  # any other text (e.g. a save's probe)
    return FunctionEncoder(lambda texts: [vectors.get(t, default) for t in texts], name="table")


def sweep(values, every: int = 6, ids=None) -> list:
    """Parameters of a sweep over settings: every ``every``-th (the first included) runs in the fast suite
    (``-m "not slow"``), and all of them in the full one."""
    names = ids or [str(value) for value in values]
    return [pytest.param(value, id=names[i], marks=() if i % every == 0 else pytest.mark.slow)
            for i, value in enumerate(values)]
