"""The SoftDict read in torch: differentiable, trainable, tested against the numpy read.

- the torch kernels :func:`similarity`, :func:`temperatures`, :func:`keep_top_k`,
  :func:`normalize` (softmax, :func:`sparsemax`, hard, mean) and :func:`null_weight`, each
  mirroring :mod:`softkv.attention`;
- :class:`SoftKVMemory`: the read as an ``nn.Module`` (keys, values,
  temperature, spelling weight and a query projection as parameters or
  buffers; several hops);
- :func:`to_module`, :func:`fit`, :func:`module_update`,
  :func:`module_contents`: a SoftDict's snapshot as a module, training it,
  and its trained tensors back as an :class:`~softkv.store.Update`.

Importing this package imports torch; ``import softkv`` does not.
"""

from ._functional import keep_beyond, keep_top_k, kept, normalize, null_weight, similarity, sparsemax, temperatures
from ._module import ModuleRead, SoftKVMemory
from ._training import LEARNABLE, FitHistory, fit, module_contents, module_update, to_module

__all__ = ["LEARNABLE", "FitHistory", "ModuleRead", "SoftKVMemory", "fit", "keep_beyond", "keep_top_k", "kept",
           "module_contents", "module_update", "normalize", "null_weight", "similarity", "sparsemax", "temperatures",
           "to_module"]
