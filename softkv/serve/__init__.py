"""``softkv serve``: one saved store behind a JSON API and a page, in a process that stays up.

The store is loaded once, so a lookup costs what ``d.lookup`` costs plus the HTTP round trip (a fresh
``softkv query`` process pays about a second to open the model first). :func:`create_app` builds the ASGI
app (FastAPI, the ``[serve]`` extra) over a :class:`Service`; :func:`run` serves it with uvicorn, bound to
127.0.0.1 unless told otherwise.

Endpoints: ``GET /lookup?q=`` and ``POST /lookup`` (a batch), ``GET /explain?q=``, ``GET /keys`` (paged),
``GET /health``; with ``writable=True``: ``PUT /keys/{key}``, ``DELETE /keys/{key}``, ``POST /keys`` (pairs,
checked whole) and ``POST /save``; the OpenAPI schema at ``/openapi.json`` (browsable at ``/docs``); the
page at ``/``.

>>> from fastapi.testclient import TestClient
>>> from softkv import SoftDict
>>> client = TestClient(create_app(Service(SoftDict({"apple": 10, "banana": 5, "chair": 2}))))
>>> found = client.get("/lookup", params={"q": "aple"}).json()
>>> found["answer"], found["nearest"], found["miss"]
(10.0, 'apple', False)
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any

from ._app import Service, create_app
from ._limits import Limits

__all__ = ["TOKEN_VARIABLE", "Limits", "Service", "create_app", "is_loopback", "run"]

TOKEN_VARIABLE = "SOFTKV_TOKEN"
"""The environment variable a write token may come from instead of ``--token`` (it stays out of ``ps``)."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(d: Any, path: Path | None, *, host: str = "127.0.0.1", port: int = 8000, writable: bool = False,
        token: str | None = None, limits: Limits | None = None, blas_threads: int | None = 1) -> None:
    """Serve ``d`` (loaded from ``path``, where writes are saved) until interrupted; saves unsaved writes on
    the way out. A writable service on a host other than loopback needs a token.

    Reads use ``blas_threads`` BLAS threads each (None: the library's default): concurrent requests already
    share the cores, and BLAS threads that wait for a busy core cost more than they save (benchmarks/serve.py,
    2,000 keys, one client: a repeated query's p50 4.44 ms with OpenBLAS's default threads, 3.54 ms with one;
    a new query's 16.8 ms and 9.8 ms)."""
    import uvicorn
    from threadpoolctl import threadpool_limits

    token = token or os.environ.get(TOKEN_VARIABLE) or None
    if writable and token is None and not is_loopback(host):
        raise ValueError(f"a writable service on {host} would take writes from anyone who can reach it: give "
                         f"--token (or set {TOKEN_VARIABLE}), or bind to 127.0.0.1")
    service = Service(d, path, writable=writable, token=token, limits=limits or Limits())
    with threadpool_limits(limits=blas_threads, user_api="blas"):
        uvicorn.run(create_app(service), host=host, port=port, log_level="warning", access_log=False)
