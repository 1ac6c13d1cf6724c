"""A fair readers-writer lock: many concurrent readers, or one writer, never both.

Readers and writers pass a turnstile in turn. A waiting writer holds the
turnstile until the readers inside have left, so new readers queue behind
it; once it has the lock it lets the turnstile go, so a steady stream of
writes cannot starve readers either. Both kinds may be re-entered by the
thread that holds them (a write that calls another write or a read, a read
inside a read: no deadlock).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class ReadWriteLock:
    def __init__(self) -> None:
        self._turnstile = threading.Lock()
        self._condition = threading.Condition(threading.Lock())
        self._readers = 0
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
            while self._writer is not None:
                self._condition.wait()
            self._readers += 1
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
                    while self._writer is not None or self._readers:
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
                    self._condition.notify_all()
