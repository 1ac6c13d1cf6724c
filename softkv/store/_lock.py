"""A fair readers-writer lock: many concurrent readers, or one writer, never both, and neither side starved.

Readers and writers pass a turnstile in turn. A waiting writer holds the
turnstile until the readers inside have left, so new readers queue behind
it. When a writer leaves while readers are waiting for it, those readers go
in before any other writer (the next writer waits for them to be admitted),
so a steady stream of writes cannot starve readers either: under the GIL, a
writer that loops would otherwise take the lock again before a woken reader
runs. Both kinds may be re-entered by the thread that holds them (a write that
calls another write or a read, a read inside a read: no deadlock).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class ReadWriteLock:
    """Many readers or one writer, fair (a waiting writer stops new readers) and re-entrant for the thread that
    holds it: ``with lock.reading():`` and ``with lock.writing():``."""

    def __init__(self) -> None:
        self._turnstile = threading.Lock()
        self._condition = threading.Condition(threading.Lock())
        self._readers = 0
        self._waiting_readers = 0  # readers past the turnstile, waiting for a writer to leave
        self._admitting = False  # a writer left with readers waiting: they go first
        self._writer: int | None = None  # ident of the thread holding the write lock
        self._depth = 0
        self._local = threading.local()

    @contextmanager
    def reading(self) -> Iterator[None]:
        if self._writer == threading.get_ident() or getattr(self._local, "reads", False):
            yield  # re-entry never waits
            return
        with self._turnstile:
            pass
        with self._condition:
            self._waiting_readers += 1
            while self._writer is not None:
                self._condition.wait()
            self._waiting_readers -= 1
            self._readers += 1
            if self._admitting and not self._waiting_readers:
                self._admitting = False  # every reader that waited is in: writers may queue again
                self._condition.notify_all()
        self._local.reads = True
        try:
            yield
        finally:
            self._local.reads = False
            with self._condition:
                self._readers -= 1
                if self._readers == 0:
                    self._condition.notify_all()

    @contextmanager
    def writing(self) -> Iterator[None]:
        me = threading.get_ident()
        if self._writer != me:
            with self._turnstile:
                with self._condition:
                    while self._writer is not None or self._readers or self._admitting:
                        self._condition.wait()
                    self._writer = me
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                with self._condition:
                    self._writer = None
                    self._admitting = self._waiting_readers > 0
                    self._condition.notify_all()
