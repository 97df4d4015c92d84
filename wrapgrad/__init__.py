"""wrapgrad: reverse-mode autodiff for any array-API library, with PyTorch's autograd vocabulary.

>>> import wrapgrad.numpy as xp            # also wrapgrad.array_api_strict, wrapgrad.jax, wrapgrad.namespace(any_xp)
>>> x = xp.ones((2, 2), requires_grad=True)
>>> out = xp.mean((x + 2) * (x + 2) * 3)
>>> out.backward()
>>> x.grad                                 # 4.5 everywhere

The backend namespaces (``wrapgrad.numpy``, ``wrapgrad.jax``, ``wrapgrad.array_api_strict``) are imported
on first use: ``import wrapgrad`` imports no optional backend.
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
from ._functional import grad, hessian, jacfwd, jacobian, jacrev, jvp, tree_flatten, tree_unflatten, value_and_grad, vjp
from ._grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from ._gradcheck import GradcheckError, gradcheck
from ._linear_algebra import tensordot
from ._namespace import namespace

__all__ = [
    "AnomalyError", "Function", "FunctionCtx", "GradcheckError", "RemovableHandle", "Tensor", "autograd_grad",
    "checkpoint", "custom_vjp", "detect_anomaly", "einsum", "enable_grad", "grad", "gradcheck", "hessian",
    "is_anomaly_enabled",
    "is_grad_enabled", "jacfwd", "jacobian", "jacrev", "jvp", "namespace", "no_grad", "set_grad_enabled",
    "stop_gradient", "tensordot", "transpose", "tree_flatten", "tree_unflatten", "value_and_grad", "vjp",
]


def stop_gradient(x: Any) -> Any:
    """``x`` with no path back to the tape (``jax.lax.stop_gradient``): ``x.detach()`` for a Tensor, raw arrays as
    they are. Pytrees (tuples, lists, dicts) are handled leaf by leaf."""
    if isinstance(x, Tensor):
        return x.detach()
    if isinstance(x, (tuple, list)):
        return type(x)(stop_gradient(v) for v in x)
    if isinstance(x, dict):
        return {k: stop_gradient(v) for k, v in x.items()}
    return x


__version__ = "0.1.0"

_LAZY_NAMESPACES = ("numpy", "jax", "array_api_strict")
_LAZY_MODULES = ("interop",)  # imports other libraries only when their helpers are called


def __getattr__(name: str) -> Any:
    # `wrapgrad.jax` after a plain `import wrapgrad` imports jax only now, when it is asked for.
    if name in _LAZY_NAMESPACES or name in _LAZY_MODULES:
        return importlib.import_module(f"wrapgrad.{name}")
    raise AttributeError(f"module 'wrapgrad' has no attribute {name!r}")
