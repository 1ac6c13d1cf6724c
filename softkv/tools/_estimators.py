"""scikit-learn estimators: Nadaraya-Watson regression and classification in an encoder's space.

The target of a text is predicted by attention over the training texts:
softmax(similarity / temperature) weights their targets (a kernel smoother,
Nadaraya-Watson). ``X`` is a list of texts, embedded by ``encoder``, or a
2-D array of precomputed embeddings. ``temperature``, ``top_k``, ``scoring``
and ``mode`` are hyper-parameters for GridSearchCV, checked as SoftDict
checks them (:class:`softkv.params.Params`). The prediction is the SoftDict
read (:func:`softkv.read.read`) over the training rows, by meaning alone.

>>> from softkv.tools import SoftKVRegressor
>>> model = SoftKVRegressor(temperature=0.5).fit([[1.0, 0.0], [0.0, 1.0]], [0.0, 10.0])
>>> model.predict([[0.9, 0.1], [0.1, 0.9]]).round(2)
array([1.46, 8.54])
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_array, check_consistent_length, column_or_1d
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ..encoders import as_encoder, encode_checked
from ..params import Params
from ..read import read
from ..store import Memory, Store

__all__ = ["SoftKVClassifier", "SoftKVRegressor"]


def _is_text(X: Any) -> bool:
    """Whether X is a 1-D sequence of texts: a list or tuple, a pandas Series, a numpy object or str array."""
    if isinstance(X, str) or not hasattr(X, "__len__") or len(X) == 0 or np.ndim(X) != 1:
        return False
    items = X.to_numpy() if hasattr(X, "to_numpy") else X  # a Series: its values, not its index
    return all(isinstance(x, str) for x in items)


_EMBEDDINGS: weakref.WeakKeyDictionary[Any, dict[str, np.ndarray]] = weakref.WeakKeyDictionary()
"""Each encoder's embeddings of the texts estimators saw: a search (GridSearchCV) fits many clones on the same
texts, and each would encode them again. Kept while the encoder lives, at most MAX_CACHED texts each."""
MAX_CACHED = 200_000


def _encode(encoder: Any, X: Any) -> np.ndarray:
    """The embeddings of the texts X, each text encoded once per encoder (:data:`_EMBEDDINGS`)."""
    encoder = as_encoder(encoder)
    texts = [str(x) for x in (X.to_numpy() if hasattr(X, "to_numpy") else X)]
    try:
        known = _EMBEDDINGS.setdefault(encoder, {})
    except TypeError:  # an encoder that cannot be weakly referenced: no cache
        return encode_checked(encoder, texts)
    new = list(dict.fromkeys(text for text in texts if text not in known))
    if new:
        if len(known) + len(new) > MAX_CACHED:
            known.clear()
        width = next(iter(known.values())).shape[0] if known else None
        known.update(zip(new, encode_checked(encoder, new, width)))
    return np.stack([known[text] for text in texts])


class _SoftKVBase(BaseEstimator):
    def __init__(self, encoder: Any = None, temperature: Any = "auto", top_k: int | None = None,
                 scoring: str = "cosine", mode: str = "softmax") -> None:
        self.encoder = encoder
        self.temperature = temperature
        self.top_k = top_k
        self.scoring = scoring
        self.mode = mode

    def _read_params(self) -> Params:
        """The hyper-parameters as a SoftDict read takes them: checked, by meaning alone, never exact."""
        return Params.make(temperature=self.temperature, top_k=self.top_k, scoring=self.scoring, mode=self.mode,
                           exact_match=False, spelling_weight=0.0)

    def _fit_memory(self, X: Any, y: Any, **y_options: Any) -> tuple[np.ndarray, np.ndarray]:
        """Embeddings of the training X (texts encoded, arrays checked) and y as a 1-D array."""
        self._read_params()
        if _is_text(X):
            vectors = _encode(self.encoder, X)
            self.n_features_in_, self.fitted_on_text_ = vectors.shape[1], True
            dtype = np.float64 if y_options.get("y_numeric") else None
            y = column_or_1d(check_array(y, ensure_2d=False, dtype=dtype), warn=True)
            check_consistent_length(vectors, y)
            return vectors, y
        self.fitted_on_text_ = False
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], **y_options)
        return np.asarray(X, dtype=np.float64), y

    def _store(self, vectors: np.ndarray, targets: np.ndarray) -> None:
        """The training rows as a SoftDict's memory: one key per row (named by its number), the targets as values."""
        store = Store()
        names = [str(i) for i in range(len(vectors))]
        store.apply(store.check(dict(zip(names, list(targets))), embeddings=dict(zip(names, vectors))))
        self.memory_: Memory = store.memory(copy=True, spelling=False)

    def _embed(self, X: Any) -> np.ndarray:
        if _is_text(X):
            if not getattr(self, "fitted_on_text_", False):
                raise ValueError("this estimator was fitted on embeddings: predict on embeddings too")
            return _encode(self.encoder, X)
        if getattr(self, "fitted_on_text_", False):
            raise ValueError("this estimator was fitted on texts: predict on a list of texts too")
        vectors: np.ndarray = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return vectors

    def _answers(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "memory_")
        # float64 queries: scikit-learn asks that a prediction not depend on the other rows of the batch, and a
        # float32 product rounds differently for different batch sizes (a SoftDict reads vectors in float32)
        Q = np.asarray(self._embed(X), dtype=np.float64)
        return read(self.memory_, self._read_params(), list(Q), Q, keep_weights=False, on_miss="ignore").values

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True  # a list of texts is accepted besides numeric arrays
        return tags


class SoftKVRegressor(RegressorMixin, _SoftKVBase):
    """Predicts a number for a text as the attention-weighted mean of the training targets.

    Parameters
    ----------
    encoder : optional
        As for SoftDict (None: the bundled MiniLM); unused when X holds embeddings.
    temperature : "auto" or float > 0
        Softmax temperature (the kernel's bandwidth); "auto" as in SoftDict.
    top_k : int or None
        Only the k most similar training texts count.
    scoring : {"cosine", "dot", "scaled_dot", "neg_l2"}
        The similarity; "neg_l2" makes this Gaussian-kernel regression.
    mode : {"softmax", "sparsemax", "hard", "mean"}
        As in SoftDict: "hard" is 1-NN, "mean" with top_k is kNN.
    """

    def fit(self, X: Any, y: Any) -> SoftKVRegressor:
        """Remember the embeddings of X (texts or a 2-D array) and the targets y."""
        vectors, y = self._fit_memory(X, y, y_numeric=True)
        self._store(vectors, np.asarray(y, dtype=np.float64))
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The attention-weighted mean of the training targets, for each row of X."""
        return np.asarray(self._answers(X), dtype=np.float64)


class SoftKVClassifier(ClassifierMixin, _SoftKVBase):
    """Predicts a class for a text as the class with the most attention weight over the training texts."""

    def fit(self, X: Any, y: Any) -> SoftKVClassifier:
        """Remember the embeddings of X (texts or a 2-D array) and the classes y."""
        vectors, y = self._fit_memory(X, y)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        self._store(vectors, np.eye(len(self.classes_))[codes])  # one-hot values: their blend is the probability
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """The attention weight on each class, (n_samples, n_classes), rows summing to 1."""
        return np.asarray(self._answers(X), dtype=np.float64).reshape(-1, len(self.classes_))

    def predict(self, X: Any) -> np.ndarray:
        probabilities = self.predict_proba(X)  # checks that the estimator is fitted
        classes: np.ndarray = self.classes_[probabilities.argmax(axis=1)]
        return classes
