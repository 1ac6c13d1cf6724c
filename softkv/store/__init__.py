"""What a SoftDict holds, and the only ways it changes.

- :class:`Backend`: what a SoftDict needs of the place its keys live, which
  :class:`Store` implements in memory (and :mod:`softkv.backends` elsewhere);
- :class:`Store`: the keys, their embeddings and values, and aliases, changed
  only by a checked :class:`Write` (all or nothing);
- :class:`Memory`: what a read reads, views of a store or a copy of it;
  :class:`Contents`: what a dict is built from; :class:`Update`: what a tool
  computed from a snapshot, to apply;
- :func:`write`: the write transaction (check, encode with no lock held,
  apply under the write lock), and :class:`ReadWriteLock`;
- :class:`Usage`: the order of use behind ``max_keys``;
- :class:`ValueSpec`: the kind of values held (numeric, categorical, opaque);
- the checks of what callers hand in (names, pairs, vectors, projections),
  in its private ``_checks``.
"""

from ._backend import Backend, StoredValues
from ._checks import check_vectors
from ._lock import ReadWriteLock
from ._memory import Contents, Memory, Population, Update
from ._store import Store
from ._transaction import write
from ._usage import USED_WEIGHT, Usage
from ._values import ValueSpec

__all__ = ["USED_WEIGHT", "Backend", "Contents", "Memory", "Population", "ReadWriteLock", "Store", "StoredValues",
           "Update", "Usage", "ValueSpec", "check_vectors", "write"]
