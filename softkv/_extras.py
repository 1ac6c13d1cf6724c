"""The SoftDict methods that reach beyond the mapping: calibration, files and torch.

Each imports its module on use (calibration, persistence, training), so a
plain SoftDict never loads them; SoftDict inherits this mixin.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .softdict import SoftDict


class SoftDictExtras:
    """Calibration, saving and loading, and the torch round trip, for :class:`softkv.SoftDict`."""

    _lock: Any
    _store: Any

    # ---- calibration ----
    def calibrate(
        self,
        queries: Sequence[Any] | None = None,
        targets: Any = None,
        *,
        keys: Sequence[str | None] | None = None,
        target_precision: float | None = None,
    ) -> Any:
        """Choose temperature, top_k and hybrid from data; returns a :class:`~softkv.calibration.CalibrationReport`.

        With (queries, targets) pairs, every candidate setting is scored on
        them; with none, each key's value is predicted from the other keys
        (leave-one-key-out). Errors are MAE (numeric) or error rate
        (categorical); the best setting is applied. With ``keys`` (the key
        each query should find, None for a miss) and ``target_precision``,
        the threshold is set instead (see
        :func:`softkv.calibration.calibrate_threshold`).

        >>> from softkv import SoftDict
        >>> d = SoftDict({"small car": 35.0, "compact car": 31.0, "large truck": 14.0, "pickup truck": 17.0})
        >>> report = d.calibrate()
        >>> sorted(report.chosen) == ["hybrid", "temperature", "top_k"], report.best_error < 10
        (True, True)
        """
        from .calibration import calibrate, calibrate_threshold

        if target_precision is not None or keys is not None:
            if queries is None or keys is None or target_precision is None:
                raise ValueError("threshold calibration needs queries, keys and target_precision")
            return calibrate_threshold(self, queries, keys, target_precision)
        return calibrate(self, queries, targets)

    # ---- persistence ----
    def save(self, path: Any) -> Any:
        """Write this SoftDict to one file, atomically, without pickle; returns the path.

        Keys, values, key embeddings, parameters, query projection and the
        encoder's identity (name, width, fingerprint) are kept, so
        :meth:`load` re-encodes nothing. See :mod:`softkv.persistence`.

        >>> import tempfile, pathlib
        >>> from softkv import SoftDict
        >>> d = SoftDict({"apple": 10, "banana": 5}, temperature=0.1)
        >>> path = d.save(pathlib.Path(tempfile.mkdtemp()) / "fruit.softkv")
        >>> SoftDict.load(path) == d, SoftDict.load(path).temperature
        (True, 0.1)
        """
        from .persistence import save

        with self._lock.reading():
            return save(self, path)

    @classmethod
    def load(cls, path: Any, *, encoder: Any = None, reencode: bool = False) -> SoftDict:
        """A SoftDict from a file written by :meth:`save`; nothing is re-encoded.

        ``encoder`` defaults to the one the file names (the bundled MiniLM, a
        model path, a LexicalEncoder); a custom encoder must be passed. An
        encoder whose fingerprint differs from the saved one raises
        ``EncoderMismatchError`` unless ``reencode=True``, which embeds the
        keys again with it. A damaged, foreign or newer file raises
        ``FormatError``; both are ValueErrors.
        """
        from .persistence import load

        return load(cls, path, encoder=encoder, reencode=reencode)

    # ---- training (torch, imported on use) ----
    def to_module(self, *, learn: Sequence[str] = (), hops: int = 1) -> Any:
        """This SoftDict as a :class:`softkv.nn.SoftKVMemory` (rows in iteration order).

        ``learn`` names what the module trains: any of "values", "keys",
        "temperature", "projection". Numeric values only.
        """
        from .training import to_module

        return to_module(self, learn=learn, hops=hops)

    def update_from_module(self, module: Any) -> None:
        """Take back the key embeddings, values, temperature and query projection of a trained module.

        The module must hold this SoftDict's keys (as made by :meth:`to_module`).
        """
        from .training import update_from_module

        with self._lock.writing():
            update_from_module(self, module)

    @classmethod
    def from_module(cls, module: Any, keys: Sequence[str] | None = None, *, encoder: Any = None) -> SoftDict:
        """A new SoftDict holding a module's keys, values and read parameters."""
        from .training import from_module

        return from_module(cls, module, keys, encoder=encoder)

    def fit(self, queries: Sequence[str], targets: Any, **options: Any) -> Any:
        """Train values, temperature and/or a query projection by gradient descent.

        See :func:`softkv.training.fit` for the options; returns its history.
        """
        from .training import fit

        return fit(self, queries, targets, **options)
