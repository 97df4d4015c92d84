"""wrapgrad over jax.numpy: ``import wrapgrad.jax as xp``. Importing it imports jax.

This module replaces itself in ``sys.modules`` with the namespace that ``wrapgrad.namespace`` builds.
jax keeps its 32-bit default unless you enable x64 (``jax.config.update("jax_enable_x64", True)``).
"""

import sys

import jax.numpy

from ._namespace import namespace

sys.modules[__name__] = namespace(jax.numpy)
