"""What the service takes from a request: bounded bodies, queries, batches and pages, and its one-line refusals."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..params import check_temperature

__all__ = ["BodyLimit", "Limits", "Refused", "checked_query", "checked_temperature"]


@dataclass(frozen=True)
class Limits:
    """The most a request may ask of the service."""

    max_body_bytes: int = 1 << 20  # a request body (a batch, pairs to write)
    max_query_chars: int = 1_000  # a query or a key
    max_batch: int = 256  # queries in one POST /lookup, pairs in one POST /keys
    max_rows: int = 100  # keys shown per read, k of explain
    max_page: int = 1_000  # keys per page of GET /keys

    def rows(self, rows: int) -> int:
        if not 1 <= rows <= self.max_rows:
            raise Refused(400, f"rows and k must be from 1 to {self.max_rows}, got {rows}")
        return rows


class Refused(Exception):
    """A request the service does not answer: an HTTP status and a one-line reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def checked_query(text: str, limits: Limits) -> str:
    """A query or key the service reads or writes: at most ``max_query_chars`` characters."""
    if len(text) > limits.max_query_chars:
        raise Refused(413, f"a query or key of {len(text):,} characters; at most {limits.max_query_chars:,}")
    return text


def checked_temperature(text: str) -> float | str:
    """A temperature given in a URL: "auto" or a number, checked as SoftDict checks it."""
    try:
        value: Any = text if text == "auto" else float(text)
    except ValueError:
        value = text
    try:
        return check_temperature("temperature", value)
    except ValueError as error:
        raise Refused(400, str(error)) from None


class BodyLimit:
    """ASGI middleware: a request body over ``max_bytes`` is answered 413 before the app sees it.

    Written here because Starlette and uvicorn set no body limit of their own; the body is read (at most
    ``max_bytes`` of it) and handed on whole, so the endpoints never see a partial one."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(send, int(declared) if declared.isdigit() else None)
            return
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                await self._refuse(send, None)
                return
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return dict(await receive())

        await self.app(scope, replay, send)

    async def _refuse(self, send: Any, size: int | None) -> None:
        given = "a body" if size is None else f"a body of {size:,} bytes"
        content = json.dumps({"error": f"{given} is over the limit of {self.max_bytes:,} bytes"}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": content})
