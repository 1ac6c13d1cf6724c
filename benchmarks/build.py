"""Import time, and building a SoftDict against raw SentenceTransformer.encode.

Medians of repeated runs, the two builds alternated in one process so that they
see the same machine state. Run: make bench
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

N_KEYS = 1000
REPEATS = 5

ADJECTIVES = ["red", "small", "wooden", "electric", "vintage", "organic", "folding", "heavy", "soft", "smart"]
NOUNS = ["chair", "lamp", "kettle", "jacket", "guitar", "tent", "knife", "sofa", "bicycle", "camera"]
PLACES = ["for the kitchen", "for kids", "for travel", "for the office", "for the garden",
          "for winter", "for camping", "for cooking", "for reading", "for parties"]


def phrases(n: int) -> list[str]:
    out = [f"{a} {b} {c}" for a in ADJECTIVES for b in NOUNS for c in PLACES]
    return out[:n]


def import_seconds() -> float:
    code = "import time; t = time.perf_counter(); import softkv; print(time.perf_counter() - t)"
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
            for _ in range(REPEATS)]
    heavy = subprocess.run([sys.executable, "-c", "import sys, softkv; print('torch' in sys.modules)"],
                           capture_output=True, text=True, check=True).stdout.strip()
    print(f"import softkv: median {statistics.median(runs):.3f} s over {REPEATS} runs; torch imported: {heavy}")
    return statistics.median(runs)


def main() -> None:
    import_seconds()
    from softkv import SoftDict
    from softkv.encoders import SentenceTransformerEncoder

    texts = phrases(N_KEYS)
    encoder = SentenceTransformerEncoder()  # the same model object as the baseline
    model = encoder.model
    model.encode(texts[:64])  # warm up
    raw, built = [], []
    for _ in range(REPEATS):
        t = time.perf_counter()
        model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
        raw.append(time.perf_counter() - t)
        t = time.perf_counter()
        SoftDict(dict.fromkeys(texts, 1.0), encoder=encoder, query_cache_size=0)
        built.append(time.perf_counter() - t)
    r, b = statistics.median(raw), statistics.median(built)
    print(f"{N_KEYS} keys: SentenceTransformer.encode median {r:.3f} s, SoftDict build median {b:.3f} s, "
          f"ratio {b / r:.3f} ({REPEATS} runs each, alternated)")
    d = SoftDict(dict.fromkeys(texts, 1.0), encoder=encoder, query_cache_size=0)  # every lookup encodes
    lookups = []
    for query in ["a seat for the office", "something to cook with", "music"] * 5:
        t = time.perf_counter()
        d.lookup(query)
        lookups.append(time.perf_counter() - t)
    print(f"one lookup over {N_KEYS} keys (encode included): median {1000 * statistics.median(lookups):.2f} ms")


if __name__ == "__main__":
    main()
