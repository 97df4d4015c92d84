"""Gradient rules of the extensions beyond the standard: ``median``, ``bincount`` and SciPy's real transforms.

``_derivatives.py`` merges :data:`EXTENSION_RULES` into the one table, ``RULES``, at its end. The rules follow
the table's contract (``vjp(xp, g, ans, *args, **params)``): written with array-API calls on ``xp``, plus the
extension kernels themselves through :func:`extension_call`, which runs the backend's kernel during a plain
backward and the recorded operation with ``create_graph`` (so second derivatives come for free).
(``einsum`` needs no rule: it is composed of recorded operations.)
"""

from __future__ import annotations

from typing import Any

from ._backend_extensions import median_halves, real_transform_factors, weigh
from ._graph import Rule

__all__ = ["EXTENSION_RULES", "extension_call"]

EXTENSION_RULES: dict[str, Rule] = {}


def extension_call(xp: Any, name: str, *args: Any, **params: Any) -> Any:
    """Run the extension ``name`` on raw arrays of ``xp``'s backend, or recorded, on Tensors, when ``xp`` is a
    wrapgrad namespace (a ``create_graph`` backward)."""
    if getattr(xp, "_wrapgrad_backend", None) is not None:
        from ._apply import apply

        return apply(name, *args, **params)
    from ._backend import backend_for

    return backend_for(xp).functions[name](*args, **params)


# -- median: ties split the cotangent evenly, like max ---------------------------------------------------------


def _median_vjp(xp: Any, g: Any, ans: Any, x: Any, *, axis: Any = None, keepdims: bool = False) -> Any:
    # The median is the mean of the two middle order statistics (one, for an odd count). Each gets half of g,
    # shared evenly among the elements equal to it, as max/min reductions share theirs; when both middle
    # values are equal, all the elements equal to them share g.
    flat, lower, upper, axes = median_halves(xp, x, axis)
    is_lower = xp.astype(flat == lower, flat.dtype)
    is_upper = xp.astype(flat == upper, flat.dtype)
    share = (is_lower / xp.sum(is_lower, axis=-1, keepdims=True)
             + is_upper / xp.sum(is_upper, axis=-1, keepdims=True)) / 2
    kept = [a for a in range(x.ndim) if a not in axes]
    kept_shape = tuple(x.shape[a] for a in kept)
    grad_flat = xp.reshape(g, (*kept_shape, 1)) * share
    moved = xp.reshape(grad_flat, (*kept_shape, *(x.shape[a] for a in axes)))
    order = (*kept, *axes)
    inverse = tuple(order.index(a) for a in range(x.ndim))
    return xp.permute_dims(moved, inverse) if x.ndim else xp.reshape(moved, ())


EXTENSION_RULES["median"] = Rule((_median_vjp,))


# -- bincount: linear in its weights ---------------------------------------------------------------------------


def _bincount_weights_vjp(xp: Any, g: Any, ans: Any, x: Any, weights: Any, *, minlength: int = 0) -> Any:
    # out[b] = sum of weights[i] with x[i] == b, so weights[i] gets g[x[i]]; values past the end of the result
    # (dropped under jax.jit or on dask, where the length is minlength) get 0.
    size = g.shape[0]
    inside = x < size
    taken = xp.take(g, xp.where(inside, x, xp.zeros_like(x)))
    return xp.where(inside, taken, xp.zeros_like(taken))


EXTENSION_RULES["bincount"] = Rule((None, _bincount_weights_vjp))


# -- scipy.fft's dct/idct/dst/idst ----------------------------------------------------------------------------
# Each setting is scale * outer * L(inner * x) with L orthonormal (see _backend_extensions), so the adjoint is
# scale * inner * L^T(outer * g), and L^T = L^-1 is the orthonormal transform of the inverse direction. The
# endpoint weights are where norm=None/"forward" (and orthogonalize=False) make a transform non-orthogonal.


def _real_transform_vjp(name: str) -> Any:
    kind, inverse = name.lstrip("i"), name.startswith("i")
    adjoint = kind if inverse else "i" + kind

    def vjp(xp: Any, g: Any, ans: Any, x: Any, *, type: int = 2, axis: int = -1, norm: str | None = None,
            orthogonalize: bool | None = None) -> Any:
        scale, outer, inner = real_transform_factors(kind, type, x.shape[axis], norm, orthogonalize, inverse)
        y = extension_call(xp, adjoint, weigh(xp, g, outer, axis), type=type, axis=axis, norm="ortho",
                           orthogonalize=None)
        return weigh(xp, y, inner, axis) * scale

    vjp.__name__ = f"_{name}_vjp"
    return vjp


for _name in ("dct", "idct", "dst", "idst"):
    EXTENSION_RULES[_name] = Rule((_real_transform_vjp(_name),), uses_args=False)
