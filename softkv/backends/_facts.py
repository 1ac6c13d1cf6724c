"""The facts of a Milvus collection of names, in one row of ``<collection>_softkv``: the embedding width, the
value kind and shape, and the fingerprint of the encoder that embedded the names (another one is refused)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._rows import create_collection

__all__ = ["check_encoder", "fingerprint_of", "load", "read_facts", "write_facts"]


def load(client: Any, names: list[str]) -> None:
    """Load those of the collections ``names`` that exist and are not loaded: Milvus Lite opens a file again
    with every collection released, and a ``get`` or ``search`` of a released collection fails."""
    for name in names:
        if client.has_collection(name) and getattr(client.get_load_state(name).get("state"), "name", "") != "Loaded":
            client.load_collection(name)


def read_facts(client: Any, name: str) -> dict[str, Any] | None:
    if not client.has_collection(name):
        return None
    found = client.get(name, ids=["facts"], output_fields=["info"])
    return dict(found[0]["info"]) if found else None


def write_facts(client: Any, name: str, facts: dict[str, Any], consistency: str) -> None:
    if not client.has_collection(name):
        create_collection(client, name, 2, [("info", "JSON")], consistency)
    client.upsert(name, [{"id": "facts", "embedding": [1.0, 0.0], "info": facts}])


def fingerprint_of(encoder: Any) -> list[float] | None:
    """What the facts record of an encoder (:func:`softkv.encoders.fingerprint`); None without one."""
    if encoder is None:
        return None
    from ..encoders import fingerprint

    return [float(x) for x in fingerprint(encoder)]


def check_encoder(facts: dict[str, Any] | None, encoder: Any, collection: str) -> None:
    """ValueError unless ``encoder`` embeds as the one the facts record (nothing to check without either)."""
    saved = None if facts is None else facts.get("fingerprint")
    if saved is None or encoder is None:
        return
    now = np.asarray(fingerprint_of(encoder), dtype=np.float64)
    saved_vector = np.asarray(saved, dtype=np.float64)
    cosine = float(saved_vector @ now) / max(float(np.linalg.norm(saved_vector) * np.linalg.norm(now)), 1e-30) \
        if saved_vector.shape == now.shape else 0.0
    if cosine < 0.999:
        raise ValueError(f"collection {collection!r} was written with another encoder; open it with the encoder "
                         "its keys were embedded with")
