"""wrapgrad over CuPy (through array-api-compat): ``import wrapgrad.cupy as xp``. Importing it imports cupy.

This module replaces itself in ``sys.modules`` with the namespace that ``wrapgrad.namespace`` builds. CuPy
needs an NVIDIA (or ROCm) GPU and its driver; its arrays live on the GPU.
"""

import sys

from ._backend import namespace_by_name
from ._namespace import namespace

# namespace_by_name raises a ModuleNotFoundError that names the missing library and how to install it.
sys.modules[__name__] = namespace(namespace_by_name("cupy"))
