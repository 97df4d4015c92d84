"""wrapgrad over PyTorch (through array-api-compat): ``import wrapgrad.torch as xp``. Importing it imports torch.

This module replaces itself in ``sys.modules`` with the namespace that ``wrapgrad.namespace`` builds. Arrays
are Tensors over ``torch.Tensor`` on whatever device torch puts them (CPU, or CUDA with ``device=``); torch's
default floating dtype is float32, so pass ``dtype=xp.float64`` for float64.
"""

import sys

from ._backend import namespace_by_name
from ._namespace import namespace

# namespace_by_name raises a ModuleNotFoundError that names the missing library and how to install it.
sys.modules[__name__] = namespace(namespace_by_name("torch"))
