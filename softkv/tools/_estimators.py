"""scikit-learn estimators: Nadaraya-Watson regression and classification in an encoder's space.

The target of a text is predicted by attention over the training texts:
softmax(score / temperature) weights their targets (a kernel smoother,
Nadaraya-Watson). ``X`` is a list of texts, embedded by ``encoder``, or a
2-D array of precomputed embeddings. The prediction is the SoftDict read
(:func:`softkv.read.read`) over the training rows, with the training texts
as the names spelling compares a query with: ``temperature``, ``top_k``,
``scoring``, ``mode``, ``spelling_weight`` and ``threshold`` are
hyper-parameters for GridSearchCV, checked as SoftDict checks them
(:class:`softkv.params.Params`). Two differences, for scikit-learn's sake:
an exact training text is read like any other (duplicate texts may carry
different targets), and ``threshold`` defaults to None (always predict); a
set threshold makes a query that misses predict NaN (the regressor) or
``outlier_label`` (the classifier), as scikit-learn's radius neighbors do.

>>> from softkv.tools import SoftKVRegressor
>>> model = SoftKVRegressor(temperature=0.5).fit([[1.0, 0.0], [0.0, 1.0]], [0.0, 10.0])
>>> model.predict([[0.9, 0.1], [0.1, 0.9]]).round(2)
array([1.46, 8.54])
"""

from __future__ import annotations

import warnings
import weakref
from dataclasses import replace
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_array, check_consistent_length, column_or_1d
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ..encoders import as_encoder, encode_checked
from ..params import Params
from ..read import Background, read
from ..spelling import LexicalIndex
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
                 scoring: str = "cosine", mode: str = "softmax", spelling_weight: Any = "auto",
                 threshold: Any = None) -> None:
        self.encoder = encoder
        self.temperature = temperature
        self.top_k = top_k
        self.scoring = scoring
        self.mode = mode
        self.spelling_weight = spelling_weight
        self.threshold = threshold

    def _read_params(self) -> Params:
        """The hyper-parameters as a SoftDict read takes them, checked; an exact training text is not special."""
        return Params.make(temperature=self.temperature, top_k=self.top_k, scoring=self.scoring, mode=self.mode,
                           spelling_weight=self.spelling_weight, threshold=self.threshold, exact_match=False)

    def _fit_memory(self, X: Any, y: Any, **y_options: Any) -> tuple[np.ndarray, np.ndarray]:
        """Embeddings of the training X (texts encoded, arrays checked) and y as a 1-D array."""
        params = self._read_params()
        self.texts_: list[str] | None = None
        if _is_text(X):
            vectors = _encode(self.encoder, X)
            self.n_features_in_, self.fitted_on_text_ = vectors.shape[1], True
            self.texts_ = [str(x) for x in (X.to_numpy() if hasattr(X, "to_numpy") else X)]
            dtype = np.float64 if y_options.get("y_numeric") else None
            y = column_or_1d(check_array(y, ensure_2d=False, dtype=dtype), warn=True)
            check_consistent_length(vectors, y)
            return vectors, y
        if params.spelling_is_set:
            raise ValueError(f"spelling_weight={self.spelling_weight!r} compares texts, and X holds embeddings: "
                             'fit on texts, or use spelling_weight="auto" or 0')
        self.fitted_on_text_ = False
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], **y_options)
        return np.asarray(X, dtype=np.float64), y

    def _store(self, vectors: np.ndarray, targets: np.ndarray) -> None:
        """The training rows as a SoftDict's memory: one key per row (named by its number), the targets as values."""
        store = Store()
        names = [str(i) for i in range(len(vectors))]
        store.apply(store.check(dict(zip(names, list(targets))), embeddings=dict(zip(names, vectors))))
        self.memory_: Memory = self._with_texts(store.memory(copy=True, spelling=False))

    def _with_texts(self, memory: Memory) -> Memory:
        """``memory`` as a SoftDict over the training texts reads it: spelling against those texts and, for
        "auto", the encoder's background; unchanged when fitted on embeddings or read by meaning alone."""
        params = self._read_params()
        if self.texts_ is None or params.spelling == 0:
            return memory
        encoder = as_encoder(self.encoder)
        background = Background.of(encoder) if params.spelling == "auto" else None
        index = LexicalIndex()
        index.add(self.texts_)
        return replace(memory, spelling=index.table(self.texts_).spelling, encoder=encoder,
                       background=background if isinstance(background, Background) else None)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the spelling table and the encoder (remade from the texts when unpickled)."""
        state: dict[str, Any] = dict(super().__getstate__())  # a copy: it may be the live __dict__
        if "memory_" in state:
            state["memory_"] = replace(state["memory_"], spelling=None, encoder=None, background=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        if "memory_" in state:
            self.memory_ = self._with_texts(self.memory_)

    def _embed(self, X: Any) -> np.ndarray:
        if _is_text(X):
            if not getattr(self, "fitted_on_text_", False):
                raise ValueError("this estimator was fitted on embeddings: predict on embeddings too")
            return _encode(self.encoder, X)
        if getattr(self, "fitted_on_text_", False):
            raise ValueError("this estimator was fitted on texts: predict on a list of texts too")
        vectors: np.ndarray = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return vectors

    def _answers(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """The read's answer for each row of X, and which rows missed (below a set threshold)."""
        check_is_fitted(self, "memory_")
        # float64 queries: scikit-learn asks that a prediction not depend on the other rows of the batch, and a
        # float32 product rounds differently for different batch sizes (a SoftDict reads vectors in float32)
        Q = np.asarray(self._embed(X), dtype=np.float64)
        queries: list[Any] = [str(x) for x in (X.to_numpy() if hasattr(X, "to_numpy") else X)] \
            if self.fitted_on_text_ else list(Q)
        batch = read(self.memory_, self._read_params(), queries, Q, keep_weights=False, on_miss="ignore")
        return np.asarray(batch.values, dtype=np.float64), np.asarray(batch.missed, dtype=bool)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True  # a list of texts is accepted besides numeric arrays
        return tags


_COMMON = """
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
    spelling_weight : "auto" or float in [0, 1]
        As in SoftDict, against the training texts: "auto" counts a query's
        spelling as far as it beats chance; 0 reads by meaning alone. A set
        weight above 0 needs texts.
    threshold : None, "auto" or float
        None (the default): every query is predicted. "auto" or a number, as
        in SoftDict: a query whose best score is below it misses."""


class SoftKVRegressor(RegressorMixin, _SoftKVBase):
    __doc__ = f"""Predicts a number for a text as the attention-weighted mean of the training targets.

    Parameters
    ----------{_COMMON} A query that misses predicts NaN, with a warning.
    """

    def fit(self, X: Any, y: Any) -> SoftKVRegressor:
        """Remember the embeddings of X (texts or a 2-D array) and the targets y."""
        vectors, y = self._fit_memory(X, y, y_numeric=True)
        self._store(vectors, np.asarray(y, dtype=np.float64))
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The attention-weighted mean of the training targets for each row of X (NaN where a set threshold
        missed)."""
        values, missed = self._answers(X)
        if missed.any():
            warnings.warn(f"{int(missed.sum())} of {len(missed)} queries score below the threshold "
                          f"{self.threshold!r}: predicting NaN for them (threshold=None predicts every query)",
                          UserWarning, stacklevel=2)
            values[missed] = np.nan
        return values


class SoftKVClassifier(ClassifierMixin, _SoftKVBase):
    __doc__ = f"""Predicts a class for a text as the class with the most attention weight over the training texts.

    Parameters
    ----------{_COMMON}
    outlier_label : None, "most_frequent" or a label
        What a query that misses predicts (as in scikit-learn's
        RadiusNeighborsClassifier): None raises ValueError, "most_frequent"
        the most frequent training class, else this label. Its
        probabilities are 1 for that class (0 everywhere when the label is
        not a training class).
    """

    def __init__(self, encoder: Any = None, temperature: Any = "auto", top_k: int | None = None,
                 scoring: str = "cosine", mode: str = "softmax", spelling_weight: Any = "auto",
                 threshold: Any = None, outlier_label: Any = None) -> None:
        super().__init__(encoder, temperature, top_k, scoring, mode, spelling_weight, threshold)
        self.outlier_label = outlier_label

    def fit(self, X: Any, y: Any) -> SoftKVClassifier:
        """Remember the embeddings of X (texts or a 2-D array) and the classes y."""
        vectors, y = self._fit_memory(X, y)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        self.outlier_label_ = self.classes_[np.bincount(codes).argmax()] \
            if isinstance(self.outlier_label, str) and self.outlier_label == "most_frequent" else self.outlier_label
        self._store(vectors, np.eye(len(self.classes_))[codes])  # one-hot values: their blend is the probability
        return self

    def _probabilities(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        values, missed = self._answers(X)
        probabilities = values.reshape(-1, len(self.classes_))
        if missed.any():
            if self.outlier_label_ is None:
                first = int(np.flatnonzero(missed)[0])
                raise ValueError(f"{int(missed.sum())} of {len(missed)} queries (the first: row {first}) score below "
                                 f"the threshold {self.threshold!r}: set outlier_label (a class, or "
                                 '"most_frequent") to predict them, or threshold=None')
            probabilities[missed] = self.classes_ == self.outlier_label_
        return probabilities, missed

    def predict_proba(self, X: Any) -> np.ndarray:
        """The attention weight on each class, (n_samples, n_classes), rows summing to 1 (a missed query: 1 on
        the outlier label's class, 0 everywhere when it is not a training class)."""
        return self._probabilities(X)[0]

    def predict(self, X: Any) -> np.ndarray:
        probabilities, missed = self._probabilities(X)  # checks that the estimator is fitted
        classes: np.ndarray = self.classes_[probabilities.argmax(axis=1)]
        if missed.any():  # the outlier label need not be of the classes' dtype
            classes = classes.astype(object)
            classes[missed] = self.outlier_label_
        return classes
