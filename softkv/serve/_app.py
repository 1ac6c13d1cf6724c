"""The service's ASGI app: one SoftDict, loaded once, read and (when writable) written over HTTP.

Every answer is JSON; a refused request answers 4xx with ``{"error": "<one line>"}`` and changes nothing.
Reads are the dict's own (``lookup``, ``lookup_many``, ``explain``), so the service reads exactly as the
dict and the command do; a read's fields are :func:`softkv.read.as_record`'s, as ``softkv query --json``
prints them. The endpoints are plain functions: FastAPI runs them in its thread pool, and the dict's
read-write lock keeps concurrent reads and writes consistent.
"""

# No ``from __future__ import annotations``: FastAPI reads the endpoints' annotations at run time.

import collections
import contextlib
import dataclasses
import secrets
import threading
from collections.abc import AsyncIterator
from importlib import resources
from itertools import islice
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from ..io import check_saveable
from ..read import as_record, plain
from ..softdict import SoftDict
from ._limits import BodyLimit, Limits, Refused, checked_query, checked_temperature

__all__ = ["Service", "create_app"]


class _Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    queries: list[str]
    rows: int = 5


class _Value(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: Any


class _Pairs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pairs: dict[str, Any]


class Recent:
    """The texts of the most recently asked queries, as many as a SoftDict's query cache keeps by default (used
    from the event loop alone, so without a lock)."""

    def __init__(self, size: int = 1024) -> None:
        self.size, self._texts = size, collections.OrderedDict[str, None]()

    def seen(self, text: str) -> bool:
        """Whether ``text`` was asked recently; it counts as asked from now on."""
        found = text in self._texts
        self._texts[text] = None
        self._texts.move_to_end(text)
        while len(self._texts) > self.size:
            self._texts.popitem(last=False)
        return found


@dataclasses.dataclass
class Service:
    """What the app serves: the dict, the store file it came from and is saved to, and who may write."""

    d: SoftDict
    path: Path | None = None  # where POST /save and shutdown save the dict (None: nowhere)
    writable: bool = False
    token: str | None = None  # required as "Authorization: Bearer <token>" for writes, when set
    limits: Limits = dataclasses.field(default_factory=Limits)
    unsaved: bool = False  # writes since the last save
    save_lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    recent: Recent = dataclasses.field(default_factory=Recent)

    def save(self) -> dict[str, Any]:
        if self.path is None:
            raise Refused(409, "this service has no store file to save to")
        with self.save_lock:
            self.unsaved = False  # before the save: a write during it marks the dict unsaved again
            try:
                saved = self.d.save(self.path)
            except BaseException:
                self.unsaved = True
                raise
        return {"saved": str(saved), "keys": len(self.d)}

    def allow_write(self, request: Request) -> None:
        if not self.writable:
            raise Refused(403, "this service is read-only: start it with softkv serve --writable")
        if self.token is not None:
            given = request.headers.get("authorization", "")
            if not secrets.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
                raise Refused(401, "writes need the service's token: send the header Authorization: Bearer <token>")

    def describe(self) -> dict[str, Any]:
        encoder = self.d.encoder
        return {"status": "ok", "keys": len(self.d), "value_kind": self.d.value_kind,
                "encoder": None if encoder is None else type(encoder).__name__,
                "params": plain({name: value for name, value in self.d.params.items() if name != "index"}),
                "writable": self.writable, "store": None if self.path is None else self.path.name,
                "unsaved": self.unsaved}


def create_app(service: Service) -> FastAPI:
    """The ASGI app over ``service``: the JSON API, its OpenAPI schema at /docs, and the page at /."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if service.writable and service.unsaved and service.path is not None:
            service.save()  # on shutdown: nothing written is lost

    app = FastAPI(title="softkv", summary="A soft key-value lookup service", lifespan=lifespan)
    app.add_middleware(BodyLimit, max_bytes=service.limits.max_body_bytes)
    _errors(app)
    _reads(app, service)
    _browse(app, service)
    _writes(app, service)
    return app


def _taking(request: Request, *names: str) -> None:
    """Refuse query parameters the endpoint does not take (FastAPI would ignore them)."""
    unknown = sorted(set(request.query_params) - set(names))
    if unknown:
        takes = f"it takes {', '.join(names)}" if names else "it takes none"
        raise Refused(400, f"unknown parameter {unknown[0]!r} for {request.url.path}: {takes}")


def _reads(app: FastAPI, service: Service) -> None:
    """The page, /health and /lookup (one query or a batch)."""
    d, limits = service.d, service.limits

    def record(result: Any, rows: int) -> dict[str, Any]:
        return as_record(result, limits.rows(rows), d.value_names)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> str:
        return resources.files(__package__).joinpath("page.html").read_text(encoding="utf-8")

    @app.get("/health")
    def health(request: Request) -> dict[str, Any]:
        """The store's size, value kind, encoder and read parameters, and whether it takes writes."""
        _taking(request)
        return service.describe()

    @app.get("/lookup")
    async def lookup(request: Request, q: str, rows: int = 5, temperature: str | None = None) -> dict[str, Any]:
        """One query: the answer or a miss with its reason, the heaviest keys' weights and scores, the nearest
        key and its value; ``temperature`` reads this query at another temperature."""
        _taking(request, "q", "rows", "temperature")
        options = {} if temperature is None else {"temperature": checked_temperature(temperature)}
        query = checked_query(q, limits)

        def read() -> dict[str, Any]:
            return record(d.lookup(query, on_miss="ignore", **options), rows)

        # A query asked recently has its embedding cached by the dict: its read (a millisecond or two for
        # thousands of keys) is answered here, on the event loop, sparing the hand-off to a worker thread,
        # which costs more than the read. A new query is encoded in the thread pool, and other requests go on.
        if service.recent.seen(query):
            return read()
        return await run_in_threadpool(read)

    @app.post("/lookup")
    def lookup_many(request: Request, batch: _Batch) -> dict[str, Any]:
        """Many queries in one read: ``{"queries": [...], "rows": 5}``."""
        _taking(request)
        if not batch.queries:
            raise Refused(400, "queries is empty: send at least one query")
        if len(batch.queries) > limits.max_batch:
            raise Refused(413, f"{len(batch.queries):,} queries in one batch; at most {limits.max_batch:,}")
        queries = [checked_query(query, limits) for query in batch.queries]
        read = d.lookup_many(queries, on_miss="ignore")
        return {"results": [record(read[i], batch.rows) for i in range(len(queries))]}


def _browse(app: FastAPI, service: Service) -> None:
    """/explain (why a query reads what it does) and /keys (the keys, a page at a time)."""
    d, limits = service.d, service.limits

    @app.get("/explain")
    def explain(request: Request, q: str, k: int = 5, rows: int = 10) -> dict[str, Any]:
        """Each heavy key's part in the answer: meaning and spelling, weight, contribution, the answer without
        it, and how the answer moves with the temperature."""
        _taking(request, "q", "k", "rows")
        found = d.explain(checked_query(q, limits), k=limits.rows(k), rows=limits.rows(rows))
        explained: dict[str, Any] = plain(dataclasses.asdict(found))
        return explained

    @app.get("/keys")
    def keys(request: Request, offset: int = 0, limit: int = 100) -> dict[str, Any]:
        """A page of the keys in insertion order, with their values and aliases."""
        _taking(request, "offset", "limit")
        if offset < 0 or not 1 <= limit <= limits.max_page:
            raise Refused(400, f"offset must be >= 0 and limit from 1 to {limits.max_page:,}")
        start = min(offset, len(d))  # past the end: an empty page
        page = list(islice(d.items(), start, start + limit))  # items(): one snapshot
        return {"total": len(d), "offset": offset, "limit": limit,
                "keys": [{"key": key, "value": plain(value), "aliases": d.aliases_of(key)} for key, value in page]}


def _writes(app: FastAPI, service: Service) -> None:
    """PUT and DELETE a key, POST pairs, POST /save: only with --writable, and with the token when one is set."""
    d = service.d

    @app.put("/keys/{key}")
    def put(request: Request, key: str, body: _Value) -> dict[str, Any]:
        """Set one key's value (checked as ``d[key] = value`` checks it)."""
        _taking(request)
        service.allow_write(request)
        d[checked_query(key, service.limits)] = _saveable(key, body.value)
        service.unsaved = True
        return {"key": key, "keys": len(d)}

    @app.delete("/keys/{key}")
    def delete(request: Request, key: str) -> dict[str, Any]:
        """Delete a key (an exact key, never a soft match) and its aliases."""
        _taking(request)
        service.allow_write(request)
        try:
            del d[key]
        except KeyError:
            raise Refused(404, f"{key!r} is not a key") from None
        service.unsaved = True
        return {"deleted": key, "keys": len(d)}

    @app.post("/keys")
    def add(request: Request, body: _Pairs) -> dict[str, Any]:
        """Set many keys at once, checked whole: ``{"pairs": {"key": value, ...}}``; all or none is written."""
        _taking(request)
        service.allow_write(request)
        if len(body.pairs) > service.limits.max_batch:
            raise Refused(413, f"{len(body.pairs):,} pairs in one write; at most {service.limits.max_batch:,}")
        d.update({checked_query(key, service.limits): _saveable(key, value) for key, value in body.pairs.items()})
        service.unsaved = True
        return {"written": len(body.pairs), "keys": len(d)}

    @app.post("/save")
    def save(request: Request) -> dict[str, Any]:
        """Save the dict to its store file, atomically."""
        _taking(request)
        service.allow_write(request)
        return service.save()


def _saveable(key: str, value: Any) -> Any:
    """``value``, if a store file can hold it: the service saves every write it takes (on exit too)."""
    try:
        check_saveable(key, value)
    except TypeError as error:
        raise Refused(400, str(error).replace("it cannot be saved", "the service saves its writes, so it takes "
                                                                     "only values a store can hold")) from None
    return value


def _errors(app: FastAPI) -> None:
    """Every refusal as ``{"error": "<one line>"}``: the service's own, FastAPI's validation, the dict's checks."""

    def answer(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": " ".join(str(message).split())[:500]}, status_code=status)

    @app.exception_handler(Refused)
    async def refused(request: Request, error: Refused) -> JSONResponse:
        return answer(error.status, error.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0]
        if first.get("type") == "json_invalid":
            return answer(400, f"the body is not valid JSON ({first.get('ctx', {}).get('error', 'unreadable')})")
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body") or "the body"
        return answer(400, f"{where}: {first.get('msg', 'invalid')}")

    @app.exception_handler(HTTPException)
    async def http(request: Request, error: HTTPException) -> JSONResponse:
        if error.status_code in (404, 405):
            return answer(error.status_code, f"no endpoint {request.method} {request.url.path}: the endpoints are "
                          "listed at /docs")
        return answer(error.status_code, str(error.detail))

    @app.exception_handler(ValueError)
    @app.exception_handler(TypeError)
    async def checked(request: Request, error: Exception) -> JSONResponse:  # the dict refused a value or a read
        return answer(400, str(error))

    @app.exception_handler(KeyError)
    async def missing(request: Request, error: KeyError) -> JSONResponse:
        return answer(404, str(error.args[0]) if error.args else "not found")

    @app.exception_handler(Exception)
    async def failed(request: Request, error: Exception) -> JSONResponse:
        return answer(500, f"the service failed on this request ({type(error).__name__}: {error})")
