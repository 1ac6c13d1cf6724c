"""Semantic lookup over a small product catalog whose values are vectors.
======================================================================

Each product maps to (price in EUR, weight in kg, rating out of 5). A query
gets the blend of the matching products' vectors and the products behind it;
a query that matches no product misses.
"""

from softkv import SoftDict

catalog = SoftDict(
    {
        "oak dining chair": [89.0, 6.5, 4.4],
        "ergonomic office chair": [249.0, 14.0, 4.6],
        "folding camping stool": [19.0, 1.2, 3.9],
        "three-seat leather sofa": [899.0, 48.0, 4.2],
        "standing desk": [399.0, 30.0, 4.5],
        "bedside lamp": [35.0, 1.0, 4.1],
        "stainless steel chef's knife": [59.0, 0.2, 4.8],
        "cast iron frying pan": [45.0, 2.7, 4.7],
        "electric kettle": [29.0, 1.1, 4.3],
        "espresso machine": [349.0, 9.0, 4.4],
        "trail running shoes": [129.0, 0.6, 4.5],
        "waterproof hiking jacket": [179.0, 0.5, 4.6],
    },
    top_k=3,  # a blend of the three closest products only
)
fields = ("price", "kg", "rating")

for query in ["something to sit on at work", "kitchen equipment for cooking", "clothes for hiking in the rain"]:
    r = catalog.lookup(query)
    blended = {field: round(float(x), 1) for field, x in zip(fields, r.value)}
    print(f"{query!r}: {blended}")
    for key, weight, score in r.top(3):
        print(f"    {weight:5.2f}  {key}  (score {score:.2f})")

# Many queries at once: one encoder call and one matrix product.
batch = catalog.lookup_many(["a seat", "a coffee maker", "a lamp"])
print()
print(batch)
print("weights matrix:", batch.weight_array.shape, "columns:", batch.keys[:3], "...")

# Nothing in the catalog is a pizza: the read misses instead of blending unrelated products.
print()
print(catalog.get("a pizza", "no such product"))
r = catalog.lookup("a pizza", on_miss="ignore")
print(f"p_miss {r.p_miss:.2f}: {r.reason} (nearest {r.nearest!r})")
