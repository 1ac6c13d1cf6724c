"""Plots of soft lookups: the weights of one query and the attention of a batch.
=============================================================================

Saves PNG files (to $SOFTKV_PLOTS, or a temporary folder) and prints their
paths; docs/ holds the ones the README shows. Needs matplotlib (the [plot] extra).
"""

import os
import tempfile
from pathlib import Path

from softkv import SoftDict
from softkv.tools import plot

folder = Path(os.environ.get("SOFTKV_PLOTS") or tempfile.mkdtemp())
folder.mkdir(parents=True, exist_ok=True)
pantry = SoftDict({"apple": 10, "banana": 5, "pear": 7, "chair": 2, "table": 3, "lamp": 1})
plot.weights(pantry.lookup("fruit"), path=folder / "fruit_weights.png")
plot.heatmap(pantry.lookup_many(["fruit", "furniture", "something to sit on", "light"]),
             path=folder / "attention_heatmap.png")
for name in ("fruit_weights.png", "attention_heatmap.png"):
    print(folder / name)
