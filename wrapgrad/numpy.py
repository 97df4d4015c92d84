"""wrapgrad over numpy (through array-api-compat): ``import wrapgrad.numpy as xp``.

This module replaces itself in ``sys.modules`` with the namespace that ``wrapgrad.namespace`` builds, so
``import wrapgrad.numpy`` and ``Tensor.__array_namespace__()`` give the very same module.
"""

import sys

import array_api_compat.numpy

from ._namespace import namespace

sys.modules[__name__] = namespace(array_api_compat.numpy)
