"""wrapgrad over dask: ``import wrapgrad.dask as xp``. Importing it imports dask and ``array_api_compat.dask.array``.

Everything stays lazy: wrapgrad records its tape while dask builds its graph, and ``backward``, ``grad``,
``vjp``, ``jvp`` and ``hessian`` add to that graph; nothing is computed until you call ``compute`` (one
``dask.compute(loss, grad)`` evaluates both and shares their work, on one machine or on a
``dask.distributed`` cluster). This module replaces itself in ``sys.modules`` with the namespace that
``wrapgrad.namespace`` builds.
"""

import sys

try:
    import array_api_compat.dask.array as _compat_dask
    import dask.array  # noqa: F401  (compat's namespace imports it too; named here for the error below)
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        f"wrapgrad.dask needs dask with its array module: pip install 'dask[array]' ({error})"
    ) from error

from ._namespace import namespace

sys.modules[__name__] = namespace(_compat_dask)
