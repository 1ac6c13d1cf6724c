"""Hard (nearest key) against soft (attention) retrieval on car names -> miles per gallon.
=======================================================================================

Each of the 304 cars is predicted from the other 303 (leave-one-key-out) by
1-NN, kNN, calibrated soft attention and sparsemax; the soft error is also
traced against temperature and plotted when matplotlib is installed.
Needs the [datasets] extra (make test installs it).
"""

import tempfile
from pathlib import Path

from softkv import SoftDict
from softkv.datasets import cars
from softkv.tools import compare

d = SoftDict(cars())
result = compare(d)
print(f"{len(d)} cars, each predicted from the others; {result.metric} in miles per gallon:")
print(result.table())
print("\nsoft MAE against temperature:")
for temperature, error in result.curve:
    print(f"  {temperature:8.4f}  {error:.3f}")
try:
    path = Path(tempfile.mkdtemp()) / "hard_vs_soft.png"
    result.plot(path)
    print(f"\nplot saved to {path}")
except ImportError:
    print("\n(install matplotlib for the plot)")
