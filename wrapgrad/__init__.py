"""wrapgrad: reverse-mode autodiff for any array-API library, with PyTorch's autograd vocabulary.

>>> import wrapgrad.numpy as xp            # also wrapgrad.array_api_strict, wrapgrad.jax, wrapgrad.namespace(any_xp)
>>> x = xp.ones((2, 2), requires_grad=True)
>>> out = xp.mean((x + 2) * (x + 2) * 3)
>>> out.backward()
>>> x.grad                                 # 4.5 everywhere

The backend namespaces (``wrapgrad.numpy``, ``wrapgrad.jax``, ``wrapgrad.array_api_strict``, ``wrapgrad.torch``,
``wrapgrad.dask``, ``wrapgrad.cupy``) are imported on first use: ``import wrapgrad`` imports no optional backend.
"""

from __future__ import annotations

import importlib
from typing import Any

# _tensor first: it imports the funnel (_apply) at its end, and the funnel needs the Tensor class.
from ._tensor import RemovableHandle, Tensor  # isort: skip
from ._anomaly import AnomalyError, detect_anomaly, is_anomaly_enabled
from ._autograd import autograd_grad
from ._checkpoint import checkpoint
from ._custom import Function, FunctionCtx, custom_vjp
from ._extensions import einsum, transpose
from ._functional import grad, hessian, jacfwd, jacobian, jacrev, jvp, value_and_grad, vjp
from ._grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from ._gradcheck import GradcheckError, gradcheck
from ._linear_algebra import tensordot
from ._namespace import namespace
from ._pytree import (
    register_dataclass,
    register_pytree_node,
    tree_flatten,
    tree_leaves,
    tree_map,
    tree_structure,
    tree_unflatten,
)
from ._zero_cotangent import ieee_cotangents

from . import optim  # isort: skip  (after _tensor and _pytree, which it uses)

__all__ = [
    "AnomalyError", "Function", "FunctionCtx", "GradcheckError", "RemovableHandle", "Tensor", "autograd_grad",
    "checkpoint", "custom_vjp", "detect_anomaly", "einsum", "enable_grad", "grad", "gradcheck", "hessian",
    "ieee_cotangents", "is_anomaly_enabled", "is_grad_enabled", "jacfwd", "jacobian", "jacrev", "jvp", "namespace",
    "no_grad", "optim", "register_dataclass", "register_pytree_node", "set_grad_enabled", "stop_gradient",
    "tensordot", "transpose", "tree_flatten", "tree_leaves", "tree_map", "tree_structure", "tree_unflatten",
    "value_and_grad", "vjp",
]


def stop_gradient(x: Any) -> Any:
    """``x`` with no path back to the tape (``jax.lax.stop_gradient``): ``x.detach()`` for a Tensor, raw arrays as
    they are. Pytrees (tuples, lists, dicts, dataclasses, registered nodes) are handled leaf by leaf."""
    return tree_map(lambda leaf: leaf.detach() if isinstance(leaf, Tensor) else leaf, x)


__version__ = "0.1.0"

_LAZY_NAMESPACES = ("numpy", "jax", "array_api_strict", "torch", "dask", "cupy")
_LAZY_MODULES = ("interop",)  # imports other libraries only when their helpers are called


def __getattr__(name: str) -> Any:
    # `wrapgrad.jax` after a plain `import wrapgrad` imports jax only now, when it is asked for.
    if name in _LAZY_NAMESPACES or name in _LAZY_MODULES:
        return importlib.import_module(f"wrapgrad.{name}")
    raise AttributeError(f"module 'wrapgrad' has no attribute {name!r}")
