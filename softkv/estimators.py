"""scikit-learn estimators: Nadaraya-Watson regression and classification in an encoder's space.

The target of a text is predicted by attention over the training texts:
softmax(similarity / temperature) weights their targets (a kernel smoother,
Nadaraya-Watson). ``X`` is a list of texts, embedded by ``encoder``, or a
2-D array of precomputed embeddings. ``temperature`` and ``top_k`` are
hyper-parameters for GridSearchCV.

>>> from softkv.estimators import SoftKVRegressor
>>> model = SoftKVRegressor(temperature=0.5).fit([[1.0, 0.0], [0.0, 1.0]], [0.0, 10.0])
>>> model.predict([[0.9, 0.1], [0.1, 0.9]]).round(2)
array([1.46, 8.54])
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_array, check_consistent_length, column_or_1d
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from . import attention
from .encoders import as_encoder, encode_checked

__all__ = ["SoftKVClassifier", "SoftKVRegressor"]


def _is_text(X: Any) -> bool:
    return isinstance(X, (list, tuple, np.ndarray)) and len(X) > 0 and np.ndim(X) == 1 and all(
        isinstance(x, str) for x in X)


class _SoftKVBase(BaseEstimator):
    _parameter_constraints: dict[str, list[Any]] = {
        "encoder": "no_validation",  # type: ignore[dict-item]
        "temperature": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
        "top_k": [None, Interval(Integral, 1, None, closed="left")],
        "scoring": [StrOptions(set(attention.SCORINGS))],
    }

    def __init__(self, encoder: Any = None, temperature: Any = "auto", top_k: int | None = None,
                 scoring: str = "cosine") -> None:
        self.encoder = encoder
        self.temperature = temperature
        self.top_k = top_k
        self.scoring = scoring

    def _fit_data(self, X: Any, y: Any, **y_options: Any) -> tuple[np.ndarray, np.ndarray]:
        """Embeddings of the training X (texts encoded, arrays checked) and y as a 1-D array."""
        self._validate_params()
        if _is_text(X):
            vectors = encode_checked(as_encoder(self.encoder), [str(x) for x in X])
            self.n_features_in_, self.fitted_on_text_ = vectors.shape[1], True
            dtype = np.float64 if y_options.get("y_numeric") else None
            y = column_or_1d(check_array(y, ensure_2d=False, dtype=dtype), warn=True)
            check_consistent_length(vectors, y)
            return vectors.astype(np.float64), y
        self.fitted_on_text_ = False
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], **y_options)
        return np.asarray(X, dtype=np.float64), y

    def _embed(self, X: Any) -> np.ndarray:
        if _is_text(X):
            if not getattr(self, "fitted_on_text_", False):
                raise ValueError("this estimator was fitted on embeddings: predict on embeddings too")
            return encode_checked(as_encoder(self.encoder), [str(x) for x in X])
        if getattr(self, "fitted_on_text_", False):
            raise ValueError("this estimator was fitted on texts: predict on a list of texts too")
        return validate_data(self, X, reset=False, dtype=[np.float64, np.float32])

    def _weights(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "keys_")
        Q = self._embed(X)
        S = attention.scores(np.asarray(Q, dtype=np.float64), self.keys_, self.scoring)
        return attention.attention_weights(S, self.temperature, self.top_k)

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
    """

    def fit(self, X: Any, y: Any) -> SoftKVRegressor:
        """Remember the embeddings of X (texts or a 2-D array) and the targets y."""
        self.keys_, y = self._fit_data(X, y, y_numeric=True)
        self.y_ = np.asarray(y, dtype=np.float64)
        return self

    def predict(self, X: Any) -> np.ndarray:
        return attention.blend(self._weights(X), self.y_)


class SoftKVClassifier(ClassifierMixin, _SoftKVBase):
    """Predicts a class for a text as the class with the most attention weight over the training texts."""

    def fit(self, X: Any, y: Any) -> SoftKVClassifier:
        """Remember the embeddings of X (texts or a 2-D array) and the classes y."""
        self.keys_, y = self._fit_data(X, y)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        self.one_hot_ = np.eye(len(self.classes_))[codes]
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        weights = self._weights(X)
        return (weights @ self.one_hot_) / weights.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        probabilities = self.predict_proba(X)  # checks that the estimator is fitted
        return self.classes_[probabilities.argmax(axis=1)]
