"""THE table of gradient rules, keyed by spec name, in the standard's order.

A rule is ``vjp(xp, g, ans, *args, **params) -> cotangent``, one per positional array argument (see
:class:`wrapgrad._graph.Rule`). Rules are written with array-API calls on ``xp`` only: during a plain
backward ``xp`` is the backend's namespace and the arguments are raw arrays; with ``create_graph=True`` it
is wrapgrad's namespace and the arguments are Tensors, so the backward pass is itself differentiable.
Rules never see broadcasting or dtype promotion: ``fit_grad`` undoes both in one place.

Complex numbers follow PyTorch's convention: the gradient of a real loss ``L`` with respect to ``z = x + iy``
is ``dL/dx + i dL/dy``, so a holomorphic ``f`` has the rule ``g * conj(f'(z))``.

Conventions at kinks (documented in README, tested identically on every backend): ``abs'(0) = 0``;
``maximum``/``minimum`` ties split 0.5/0.5; ``max``/``min`` reduction ties split evenly; ``clip`` passes the
gradient at its inclusive bounds; ``pow``'s exponent gradient is 0 where the base is 0. A cotangent element
that is exactly 0 contributes exactly 0, even through an infinite or NaN local derivative: the rules whose
local derivative can be non-finite multiply (divide) through ``_times`` (``_over``), see below.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ._backend import _BACKENDS, backend_for
from ._graph import ANOMALY, Factor, Rule
from ._zero_cotangent import ZERO_COTANGENTS, note_masked

__all__ = ["NON_DIFFERENTIABLE", "RULES", "ZERO_GRADIENT", "defderiv", "defvjp", "defvjp_joint", "divisor"]

RULES: dict[str, Rule] = {}


def defvjp(name: str, *vjps: Callable[..., Any] | None, uses_args: bool = True, uses_ans: bool = False) -> None:
    """Register the rule of ``name``: one VJP per positional array argument (``None``: not differentiable)."""
    RULES[name] = Rule(tuple(vjps), uses_args, uses_ans)


def defvjp_joint(name: str, vjp: Callable[..., Any], *, uses_args: bool = True, uses_ans: bool = False) -> None:
    """Register a rule that returns the cotangents of all arguments at once (variadic ops such as ``stack``,
    or ops whose cotangents share work, such as ``where``)."""
    RULES[name] = Rule((vjp,), uses_args, uses_ans, joint=True)


def defderiv(name: str, *derivs: Callable[..., Any] | Factor | None, uses_args: bool = True,
             uses_ans: bool = False) -> None:
    """Register the rule of the element-wise ``name`` by each argument's local derivative ``d(xp, ans, *args)``.

    The argument's cotangent is ``g * conj(d)`` (``g / conj(d)`` for a derivative given as ``divisor(d)``),
    exactly 0 wherever ``g`` is 0 (the zero-cotangent guard, below); ``None`` marks an argument that is not
    differentiable. From each derivative come both forms of the rule: its VJP ``_times(xp, g, cj(xp, d))``,
    which every general path runs (``create_graph``, anomaly mode, ``ieee_cotangents``), and the
    :class:`~wrapgrad._graph.Factor` that the engine's hot path runs in two calls instead of four.
    """
    factors = tuple(None if d is None else d if isinstance(d, Factor) else Factor(d, False) for d in derivs)
    RULES[name] = Rule(tuple(None if f is None else _composed_vjp(f) for f in factors), uses_args, uses_ans,
                       factors=factors)


def divisor(deriv: Callable[..., Any]) -> Factor:
    """For :func:`defderiv`: the cotangent is ``g / conj(deriv(...))`` (``log``'s divisor is ``x``)."""
    return Factor(deriv, True)


def _composed_vjp(factor: Factor) -> Callable[..., Any]:
    deriv = factor.deriv
    if factor.quotient:
        return lambda xp, g, ans, *args: _over(xp, g, cj(xp, deriv(xp, ans, *args)))
    return lambda xp, g, ans, *args: _times(xp, g, cj(xp, deriv(xp, ans, *args)))


# -- helpers --------------------------------------------------------------------------------------------

_SCALARS = (bool, int, float)
# Whether a dtype is complex, keyed by the dtype object's id (dtypes are long-lived singletons; the
# value keeps the dtype alive, so an id is never reused). Keying by the dtype itself would compare
# dtypes of different libraries on a hash collision, which array-api-strict warns about.
_COMPLEX_BY_DTYPE_ID: dict[int, tuple[Any, bool]] = {}


def _is_complex(xp: Any, a: Any) -> bool:
    if isinstance(a, _SCALARS):
        return False
    if isinstance(a, complex):
        return True
    return _dtype_is_complex(xp, a.dtype)


def _dtype_is_complex(xp: Any, dtype: Any) -> bool:
    known = _COMPLEX_BY_DTYPE_ID.get(id(dtype))
    if known is None:
        known = _COMPLEX_BY_DTYPE_ID[id(dtype)] = (dtype, bool(xp.isdtype(dtype, "complex floating")))
    return known[1]


def cj(xp: Any, a: Any) -> Any:
    """``conj(a)`` for complex ``a``, ``a`` itself otherwise (no copy on the hot real path)."""
    kind = type(a)
    if kind is float or kind is int:
        return a
    if kind is complex:
        return a.conjugate()
    known = _COMPLEX_BY_DTYPE_ID.get(id(a.dtype))  # _dtype_is_complex, inlined: every product rule calls cj
    if known is None:
        return xp.conj(a) if _dtype_is_complex(xp, a.dtype) else a
    return xp.conj(a) if known[1] else a


# -- the zero-cotangent guard: a cotangent element that is exactly 0 contributes exactly 0 ----------------
# Every rule whose local derivative can be infinite or NaN multiplies (or divides) the cotangent through one
# of these two, so that 0 * inf is 0, not NaN (README, conventions; wrapgrad.ieee_cotangents switches it off,
# and then they are the plain product or quotient, the very operations the rules ran before). On raw arrays
# the backend computes them (numpy: one masked copy into the product); under create_graph they are recorded
# ops of their own, linear in the cotangent, so that second derivatives and the transposed VJP of jvp (which
# starts from an all-zero cotangent) see the derivative d, not the mask.

_FINITE_SCALARS = (int, float)


def _times(xp: Any, g: Any, d: Any) -> Any:
    """``g * d``, 0 wherever ``g`` is exactly 0 (even where ``d`` is infinite or NaN)."""
    if not ZERO_COTANGENTS.get() or (type(d) in _FINITE_SCALARS and math.isfinite(d)):
        return g * d
    if ANOMALY.on:
        note_masked(g, d)
    backend = _BACKENDS.get(id(xp))  # a raw namespace (plain backward): the backend computes it
    if backend is not None:
        return backend.guarded_product(g, d)
    return _guarded_elsewhere("_times", xp, g, d)


def _over(xp: Any, g: Any, d: Any) -> Any:
    """``g / d``, 0 wherever ``g`` is exactly 0 (even where ``d`` is 0, infinite or NaN)."""
    if not ZERO_COTANGENTS.get() or (type(d) in _FINITE_SCALARS and d != 0 and math.isfinite(d)):
        return g / d
    if ANOMALY.on:
        note_masked(g, d, quotient=True)
    backend = _BACKENDS.get(id(xp))
    if backend is not None:
        return backend.guarded_product(g, d, True)
    return _guarded_elsewhere("_over", xp, g, d)


def _guarded_elsewhere(name: str, xp: Any, g: Any, d: Any) -> Any:
    if _namespace_backend(xp) is not None:  # wrapgrad's namespace (create_graph): a recorded op
        from ._apply import apply

        return apply(name, g, d)
    backend = backend_for(xp)  # a raw namespace seen for the first time
    return backend.guarded_product(g, d, name == "_over")


def _zeros(xp: Any, g: Any) -> Any:
    return xp.zeros_like(g)


def _safe_divide(xp: Any, num: Any, den: Any) -> Any:
    """``num / den`` with 0 where ``den == 0``: the subgradient we pick at the origin of norms and hypot."""
    zero = den == 0
    return xp.where(zero, xp.zeros_like(num), num / xp.where(zero, xp.ones_like(den), den))


def _normalize_axes(axis: int | tuple[int, ...] | None, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(sorted(a % ndim if ndim else 0 for a in axis))


def keep_reduced(xp: Any, g: Any, ndim: int, axis: int | tuple[int, ...] | None, keepdims: bool) -> Any:
    """Give the cotangent of a reduction its reduced axes back (as size 1), so it broadcasts to the input."""
    if keepdims or ndim == 0:
        return g
    axes = _normalize_axes(axis, ndim)
    shape = list(g.shape)
    for a in axes:
        shape.insert(a, 1)
    return xp.reshape(g, tuple(shape))


def _reduced_count(shape: tuple[int, ...], axis: int | tuple[int, ...] | None) -> int:
    return math.prod(shape[a] for a in _normalize_axes(axis, len(shape)))


# -- backend services that the spec has no portable form of -------------------------------------------
# With create_graph the rules run on wrapgrad Tensors: these then go through the funnel as recorded ops.


def _namespace_backend(xp: Any) -> Any:
    return getattr(xp, "_wrapgrad_backend", None)


def scatter_add(xp: Any, values: Any, positions: Any, size: int) -> Any:
    """Sum 1-D ``values`` into zeros of length ``size`` at integer ``positions``; duplicates add up."""
    if _namespace_backend(xp) is not None:
        from ._apply import apply

        return apply("_scatter_add", values, positions, size=size)
    from ._backend import backend_for

    return backend_for(xp).scatter_add(values, positions, size)


def set_item(xp: Any, x: Any, key: Any, value: Any) -> Any:
    """A copy of ``x`` with ``x[key] = value`` (copy-on-write on every backend)."""
    if _namespace_backend(xp) is not None:
        from ._apply import apply

        return apply("__setitem__", x, value, key=key)
    from ._backend import backend_for

    return backend_for(xp).set_item(x, key, value)


def _is_integer_array(xp: Any, k: Any) -> bool:
    dtype = getattr(k, "dtype", None)
    return dtype is not None and bool(xp.isdtype(dtype, "integral"))


def _settable(xp: Any, key: Any) -> bool:
    """True for keys that select each element at most once and are valid in __setitem__ (no integer arrays,
    which may repeat an index, and no None, which setitem does not accept)."""
    keys = key if isinstance(key, tuple) else (key,)
    return not any(k is None or _is_integer_array(xp, k) for k in keys)


def _index_vjp(xp: Any, g: Any, x: Any, key: Any) -> Any:
    """Cotangent of ``x[key]``: ``g`` put back where it was taken from, zeros elsewhere."""
    if _settable(xp, key):
        return set_item(xp, xp.zeros(x.shape, dtype=g.dtype, device=_device(g)), key, g)
    # Otherwise index an iota shaped like x to learn which flat positions were taken, and scatter-add there.
    return _gather_vjp(xp, g, x.shape, _iota(xp, x.shape, _device(g))[key])


def _device(a: Any) -> Any:
    # jax tracers (inside jax.jit or jax.vmap) have no .device; None lets the backend choose its default.
    return getattr(a, "device", None)


def _slice_key(ndim: int, axis: int, index: slice) -> tuple[Any, ...]:
    """An indexing key that applies ``index`` to ``axis`` and takes everything on the other axes."""
    return (slice(None),) * (axis % ndim) + (index, Ellipsis)  # array-api-strict wants every axis named


def _reverse(xp: Any, a: Any, axis: int) -> Any:
    return xp.flip(a, axis=axis)  # not a[::-1]: torch refuses negative slice steps


def _shift_down(xp: Any, a: Any, d: int, axis: int) -> Any:
    """``out[i] = a[i + d]`` along ``axis``, zeros past the end."""
    axis %= a.ndim
    shape = list(a.shape)
    shape[axis] = min(d, shape[axis])
    zeros = xp.zeros(tuple(shape), dtype=a.dtype, device=_device(a))
    return xp.concat([a[_slice_key(a.ndim, axis, slice(d, None))], zeros], axis=axis)


def _iota(xp: Any, shape: tuple[int, ...], device: Any) -> Any:
    """The flat position of every element of an array of ``shape``, in that shape."""
    return xp.reshape(xp.arange(math.prod(shape), device=device), shape)


def _gather_vjp(xp: Any, g: Any, shape: tuple[int, ...], positions: Any) -> Any:
    """Cotangent of a gather that took the flat ``positions`` of an array of ``shape``: duplicates add up."""
    size = math.prod(shape)
    flat = scatter_add(xp, xp.reshape(g, (-1,)), xp.reshape(positions, (-1,)), size)
    return xp.reshape(flat, shape)


# ======================================================================================================
# Element-wise functions
# ======================================================================================================

defvjp("abs", lambda xp, g, ans, x: _times(xp, g, xp.sign(x)))  # abs'(0) = 0 (torch); complex: g * z/|z|
defderiv("acos", divisor(lambda xp, ans, x: -xp.sqrt(1.0 - x * x)))
defderiv("acosh", divisor(lambda xp, ans, x: xp.sqrt(x - 1.0) * xp.sqrt(x + 1.0)))
defvjp("add", lambda xp, g, ans, x1, x2: g, lambda xp, g, ans, x1, x2: g, uses_args=False)
defderiv("asin", divisor(lambda xp, ans, x: xp.sqrt(1.0 - x * x)))
defderiv("asinh", divisor(lambda xp, ans, x: xp.sqrt(x * x + 1.0)))
defderiv("atan", divisor(lambda xp, ans, x: 1 + x * x))
defvjp(
    "atan2",  # real only; at the origin both partials are 0
    lambda xp, g, ans, x1, x2: _times(xp, g, _safe_divide(xp, x2 * xp.ones_like(g), x1 * x1 + x2 * x2)),
    lambda xp, g, ans, x1, x2: _times(xp, g, _safe_divide(xp, -x1 * xp.ones_like(g), x1 * x1 + x2 * x2)),
)
defderiv("atanh", divisor(lambda xp, ans, x: 1.0 - x * x))
defvjp("ceil", lambda xp, g, ans, x: _zeros(xp, g), uses_args=False)


def _sign_vjp(xp: Any, g: Any, ans: Any, x: Any) -> Any:
    if not _is_complex(xp, x):
        return _zeros(xp, g)  # piecewise constant
    # s = z/|z|: ds/dz = 1/(2|z|), ds/dz̄ = -s²/(2|z|)  =>  grad = (g - conj(g) s²) / (2|z|), 0 at z = 0
    return _safe_divide(xp, g - xp.conj(g) * ans * ans, 2 * xp.abs(x))


defvjp("sign", _sign_vjp, uses_ans=True)


def _clip_vjp(xp: Any, g: Any, ans: Any, x: Any, min: Any, max: Any) -> Any:
    inside = xp.ones_like(g, dtype=xp.bool) if hasattr(g, "dtype") else True
    if min is not None:
        inside = inside & (x >= min)
    if max is not None:
        inside = inside & (x <= max)
    return xp.where(inside, g, xp.zeros_like(g))


defvjp(
    "clip",  # the bounds are inclusive: at x == min or x == max the gradient goes to x (torch)
    _clip_vjp,
    lambda xp, g, ans, x, min, max: xp.where(x < min, g, xp.zeros_like(g)),
    lambda xp, g, ans, x, min, max: xp.where(x > max, g, xp.zeros_like(g)),
)
defvjp("conj", lambda xp, g, ans, x: xp.conj(g), uses_args=False)
defvjp(
    "copysign",  # |x1| with x2's sign: d/dx1 = result/x1 (0 at x1 = 0, torch); d/dx2 = 0 almost everywhere
    lambda xp, g, ans, x1, x2: _times(xp, g, _safe_divide(xp, ans, x1 * xp.ones_like(ans))),
    lambda xp, g, ans, x1, x2: _zeros(xp, g),
    uses_ans=True,
)
defderiv("cos", lambda xp, ans, x: -xp.sin(x))
defderiv("cosh", lambda xp, ans, x: xp.sinh(x))
defderiv(
    "divide",  # from the arguments alone: saving the quotient too would keep one more array alive
    divisor(lambda xp, ans, x1, x2: x2),
    lambda xp, ans, x1, x2: -(x1 / (x2 * x2)),
)
defderiv("exp", lambda xp, ans, x: ans, uses_args=False, uses_ans=True)
defderiv("expm1", lambda xp, ans, x: ans + 1, uses_args=False, uses_ans=True)
defvjp("floor", lambda xp, g, ans, x: _zeros(xp, g), uses_args=False)
defvjp(
    "floor_divide",
    lambda xp, g, ans, x1, x2: _zeros(xp, g),
    lambda xp, g, ans, x1, x2: _zeros(xp, g),
    uses_args=False,
)
defvjp(
    "hypot",  # at the origin both partials are 0
    lambda xp, g, ans, x1, x2: _times(xp, g, _safe_divide(xp, x1 * xp.ones_like(ans), ans)),
    lambda xp, g, ans, x1, x2: _times(xp, g, _safe_divide(xp, x2 * xp.ones_like(ans), ans)),
    uses_ans=True,
)
defvjp("imag", lambda xp, g, ans, x: 1j * g, uses_args=False)  # d/dy of L: grad_z = i*g
defderiv("log", divisor(lambda xp, ans, x: x))
defderiv("log1p", divisor(lambda xp, ans, x: 1 + x))
defderiv("log2", divisor(lambda xp, ans, x: x * math.log(2)))
defderiv("log10", divisor(lambda xp, ans, x: x * math.log(10)))
defvjp(
    "logaddexp",
    lambda xp, g, ans, x1, x2: _times(xp, g, xp.exp(x1 - ans)),
    lambda xp, g, ans, x1, x2: _times(xp, g, xp.exp(x2 - ans)),
    uses_ans=True,
)


def _tie_weight(xp: Any, g: Any, wins: Any, ties: Any) -> Any:
    # 1 where this argument wins, 0.5 on a tie, 0 where it loses (torch, JAX and autograd agree).
    return xp.where(wins, g, xp.where(ties, g / 2, xp.zeros_like(g)))


defvjp(
    "maximum",
    lambda xp, g, ans, x1, x2: _tie_weight(xp, g, x1 > x2, x1 == x2),
    lambda xp, g, ans, x1, x2: _tie_weight(xp, g, x2 > x1, x1 == x2),
)
defvjp(
    "minimum",
    lambda xp, g, ans, x1, x2: _tie_weight(xp, g, x1 < x2, x1 == x2),
    lambda xp, g, ans, x1, x2: _tie_weight(xp, g, x2 < x1, x1 == x2),
)
defderiv("multiply", lambda xp, ans, x1, x2: x2, lambda xp, ans, x1, x2: x1)
defvjp("negative", lambda xp, g, ans, x: -g, uses_args=False)
# nextafter moves x1 by one ulp toward x2: the identity in x1, constant in x2 (torch's choice).
defvjp("nextafter", lambda xp, g, ans, x1, x2: g, lambda xp, g, ans, x1, x2: _zeros(xp, g), uses_args=False)
defvjp("positive", lambda xp, g, ans, x: g, uses_args=False)


def _pow_vjp_base(xp: Any, g: Any, ans: Any, x1: Any, x2: Any) -> Any:
    if isinstance(x2, (int, float)):
        if x2 == 0:
            return _zeros(xp, g)
        return _times(xp, g, cj(xp, x2 * x1 ** (x2 - 1)))
    # x2 == 0 gives 0, not 0 * x1**-1 = nan at x1 = 0 (torch)
    return xp.where(x2 == 0, xp.zeros_like(g), _times(xp, g, cj(xp, x2 * x1 ** (x2 - 1))))


def _pow_vjp_exponent(xp: Any, g: Any, ans: Any, x1: Any, x2: Any) -> Any:
    # d/dx2 x1**x2 = x1**x2 * log(x1); taken as 0 where x1 == 0 (torch), not 0 * -inf = nan.
    # x1**x2 is recomputed rather than saved: most powers have a constant exponent (x**3), and saving
    # the result for them would keep one more array alive until backward.
    base = x1 * xp.ones_like(g)
    zero = base == 0
    safe_log = xp.log(xp.where(zero, xp.ones_like(base), base))
    return xp.where(zero, xp.zeros_like(g), _times(xp, g, cj(xp, base**x2 * safe_log)))


defvjp("pow", _pow_vjp_base, _pow_vjp_exponent)
defvjp("real", lambda xp, g, ans, x: g, uses_args=False)
defderiv("reciprocal", lambda xp, ans, x: -(ans * ans), uses_args=False, uses_ans=True)
defvjp(
    "remainder",  # x1 - floor(x1/x2) * x2, away from its jumps
    lambda xp, g, ans, x1, x2: g,
    lambda xp, g, ans, x1, x2: _times(xp, -g, xp.floor(x1 / x2)),
)
defvjp("round", lambda xp, g, ans, x: _zeros(xp, g), uses_args=False)
defderiv("sin", lambda xp, ans, x: xp.cos(x))
defderiv("sinh", lambda xp, ans, x: xp.cosh(x))
defderiv("square", lambda xp, ans, x: 2.0 * x)
defderiv("sqrt", divisor(lambda xp, ans, x: 2.0 * ans), uses_args=False, uses_ans=True)
defvjp("subtract", lambda xp, g, ans, x1, x2: g, lambda xp, g, ans, x1, x2: -g, uses_args=False)
defderiv("tan", lambda xp, ans, x: 1.0 + ans * ans, uses_args=False, uses_ans=True)
defderiv("tanh", lambda xp, ans, x: 1.0 - ans * ans, uses_args=False, uses_ans=True)
defvjp("trunc", lambda xp, g, ans, x: _zeros(xp, g), uses_args=False)

# ======================================================================================================
# Creation functions
# ======================================================================================================

# asarray of a Tensor (a copy, or the same values) is the identity; a dtype change is undone by fit_grad.
defvjp("asarray", lambda xp, g, ans, obj, **params: g, uses_args=False)
defvjp("tril", lambda xp, g, ans, x, *, k=0: xp.tril(g, k=k), uses_args=False)
defvjp("triu", lambda xp, g, ans, x, *, k=0: xp.triu(g, k=k), uses_args=False)


def _meshgrid_vjp(xp: Any, g: list[Any], ans: Any, *arrays: Any, indexing: str = "xy") -> list[Any]:
    # Output i repeats input i along every axis but its own: sum the other axes away. With "xy" (and at
    # least two inputs) the first two axes of the outputs are swapped, so inputs 0 and 1 run along 1 and 0.
    n = len(arrays)
    grads: list[Any] = []
    for i, gi in enumerate(g):
        if gi is None:
            grads.append(None)
            continue
        own = {0: 1, 1: 0}.get(i, i) if indexing == "xy" and n >= 2 else i
        others = tuple(a for a in range(n) if a != own)
        grads.append(xp.sum(gi, axis=others) if others else gi)
    return grads


defvjp_joint("meshgrid", _meshgrid_vjp, uses_args=False)

# ======================================================================================================
# Data type functions
# ======================================================================================================

# float <-> float and real <-> complex: the identity, cast back by fit_grad (complex -> real keeps the
# real part of the cotangent, torch's convention). Integer and boolean results are never recorded.
defvjp("astype", lambda xp, g, ans, x, *, dtype, copy=True, device=None: g, uses_args=False)

# ======================================================================================================
# Indexing functions
# ======================================================================================================

# Gathers: index an iota shaped like x to learn which flat positions were taken, then scatter-add g there,
# so repeated indices accumulate on every backend.
defvjp(
    "take",
    lambda xp, g, ans, x, indices, *, axis=None: _gather_vjp(
        xp, g, x.shape, xp.take(_iota(xp, x.shape, _device(g)), indices, axis=axis)
    ),
    None,
)
defvjp(
    "take_along_axis",
    lambda xp, g, ans, x, indices, *, axis=-1: _gather_vjp(
        xp, g, x.shape, xp.take_along_axis(_iota(xp, x.shape, _device(g)), indices, axis=axis)
    ),
    None,
)

# ======================================================================================================
# Indexing (the array object's __getitem__/__setitem__ and the indexing functions)
# ======================================================================================================

defvjp("__getitem__", lambda xp, g, ans, x, *, key: _index_vjp(xp, g, x, key), uses_args=False)
defvjp(
    "__setitem__",  # the overwritten region gets no gradient; value gets what was written where it went
    lambda xp, g, ans, x, value, *, key: set_item(xp, g, key, 0),
    lambda xp, g, ans, x, value, *, key: g[key],
    uses_args=False,
)
# Internal: the scatter used by the rules above; its own rule (for create_graph) is a gather.
defvjp("_scatter_add", lambda xp, g, ans, values, positions, *, size: xp.take(g, positions), None)
# Internal: the zero-cotangent guards (_times, _over above), recorded under create_graph. Each is linear in
# its first argument x1 with the derivative x2 (1/x2), as the plain product (quotient) is, so a second
# backward, or jvp's transpose (which runs from an all-zero cotangent), sees the true derivative. Where x1 is
# 0 the result is the constant 0 whatever x2 is, so x2's derivative there is exactly 0: its cotangent is
# guarded by that derivative (the first argument of _times), which keeps second derivatives at discarded
# elements 0 even where a NaN reaches them from the x1 side.
defvjp(
    "_times",
    lambda xp, g, ans, x1, x2: _times(xp, g, cj(xp, x2)),
    lambda xp, g, ans, x1, x2: _times(xp, cj(xp, x1), g),
)
defvjp(
    "_over",  # d(x1/x2)/dx2 = -(x1/x2)/x2, from the guarded quotient itself: 0 where x1 is 0
    lambda xp, g, ans, x1, x2: _over(xp, g, cj(xp, x2)),
    lambda xp, g, ans, x1, x2: _times(xp, cj(xp, _over(xp, ans, x2)), -g),
    uses_ans=True,
)

# ======================================================================================================
# Linear algebra functions
# ======================================================================================================


def _matmul_vjp_x1(xp: Any, g: Any, ans: Any, x1: Any, x2: Any) -> Any:
    if x2.ndim == 1:
        if x1.ndim == 1:
            return g * cj(xp, x2)
        return g[..., None] * cj(xp, x2)
    if x1.ndim == 1:
        return (cj(xp, x2) @ g[..., None])[..., 0]
    return g @ xp.matrix_transpose(cj(xp, x2))


def _matmul_vjp_x2(xp: Any, g: Any, ans: Any, x1: Any, x2: Any) -> Any:
    if x1.ndim == 1:
        if x2.ndim == 1:
            return g * cj(xp, x1)
        return cj(xp, x1)[:, None] * g[..., None, :]
    if x2.ndim == 1:
        return (xp.matrix_transpose(cj(xp, x1)) @ g[..., None])[..., 0]
    return xp.matrix_transpose(cj(xp, x1)) @ g


defvjp("matmul", _matmul_vjp_x1, _matmul_vjp_x2)
defvjp("matrix_transpose", lambda xp, g, ans, x: xp.matrix_transpose(g), uses_args=False)
# vecdot(x1, x2) = sum(conj(x1) * x2): anti-holomorphic in x1, holomorphic in x2.
defvjp(
    "vecdot",
    lambda xp, g, ans, x1, x2, *, axis=-1: xp.expand_dims(xp.conj(g) if _is_complex(xp, g) else g, axis=axis) * x2,
    lambda xp, g, ans, x1, x2, *, axis=-1: xp.expand_dims(g, axis=axis) * x1,
)

def _tensordot_axes(axes: Any, ndim1: int, ndim2: int) -> tuple[list[int], list[int]]:
    """The contracted axes of ``x1`` and ``x2`` as two lists of non-negative ints, pair by pair."""
    if isinstance(axes, int):
        return list(range(ndim1 - axes, ndim1)), list(range(axes))
    first, second = axes
    return [a % ndim1 for a in first], [a % ndim2 for a in second]


def _inverse_permutation(order: list[int]) -> tuple[int, ...]:
    inverse = [0] * len(order)
    for position, axis in enumerate(order):
        inverse[axis] = position
    return tuple(inverse)


def _tensordot_vjp(xp: Any, g: Any, ans: Any, x1: Any, x2: Any, *, axes: Any = 2) -> list[Any]:
    # tensordot is bilinear and conjugates nothing: each cotangent contracts g with the other operand's
    # conjugate over that operand's free axes, and the result is permuted back to the argument's axis order.
    contracted1, contracted2 = _tensordot_axes(axes, x1.ndim, x2.ndim)
    free1 = [a for a in range(x1.ndim) if a not in contracted1]
    free2 = [a for a in range(x2.ndim) if a not in contracted2]
    n_free1 = len(free1)
    g_free2 = list(range(n_free1, g.ndim))
    # g . conj(x2) over x2's free axes leaves x1's free axes, then x2's contracted axes in x2's order.
    gx1 = xp.tensordot(g, cj(xp, x2), axes=(g_free2, free2))
    pairs = sorted(zip(contracted2, contracted1, strict=True))
    gx1 = xp.permute_dims(gx1, _inverse_permutation(free1 + [a1 for _, a1 in pairs]))
    # conj(x1) . g over x1's free axes leaves x1's contracted axes in x1's order, then x2's free axes.
    gx2 = xp.tensordot(cj(xp, x1), g, axes=(free1, list(range(n_free1))))
    pairs = sorted(zip(contracted1, contracted2, strict=True))
    gx2 = xp.permute_dims(gx2, _inverse_permutation([a2 for _, a2 in pairs] + free2))
    return [gx1, gx2]


defvjp_joint("tensordot", _tensordot_vjp)

# ======================================================================================================
# Manipulation functions
# ======================================================================================================


def _concat_vjp(xp: Any, g: Any, ans: Any, *arrays: Any, axis: int | None = 0) -> list[Any]:
    if axis is None:
        sizes = [math.prod(a.shape) for a in arrays]
        return [xp.reshape(piece, a.shape) for piece, a in zip(_split(xp, g, sizes, 0), arrays)]
    return _split(xp, g, [a.shape[axis] for a in arrays], axis)


def _split(xp: Any, g: Any, sizes: list[int], axis: int) -> list[Any]:
    pieces = []
    start = 0
    for n in sizes:
        pieces.append(g[_slice_key(g.ndim, axis, slice(start, start + n))])
        start += n
    return pieces


def _permute_vjp(xp: Any, g: Any, ans: Any, x: Any, *, axes: tuple[int, ...]) -> Any:
    ndim = len(axes)
    inverse = [0] * ndim
    for i, a in enumerate(axes):
        inverse[a % ndim] = i
    return xp.permute_dims(g, tuple(inverse))


defvjp("broadcast_to", lambda xp, g, ans, x, *, shape: g, uses_args=False)  # fit_grad sums the new axes
defvjp_joint("concat", _concat_vjp, uses_args=False)
defvjp("expand_dims", lambda xp, g, ans, x, *, axis=0: xp.reshape(g, x.shape), uses_args=False)
defvjp("permute_dims", _permute_vjp, uses_args=False)
defvjp("reshape", lambda xp, g, ans, x, *, shape, copy=None: xp.reshape(g, x.shape), uses_args=False)
defvjp("squeeze", lambda xp, g, ans, x, *, axis: xp.reshape(g, x.shape), uses_args=False)
defvjp_joint("stack", lambda xp, g, ans, *arrays, axis=0: list(xp.unstack(g, axis=axis)), uses_args=False)


# -- flip, moveaxis, repeat, roll, tile, unstack, broadcast_arrays -----------------------------------


def _repeat_vjp(xp: Any, g: Any, ans: Any, x: Any, repeats: Any, *, axis: int | None = None) -> Any:
    # Segment sums: repeat an iota shaped like x the same way to learn which element of x each output
    # element copies, then scatter-add the cotangent there (repeats may be an array, so no reshape-sum).
    size = math.prod(x.shape)
    iota = xp.reshape(xp.arange(size, device=_device(g)), x.shape)
    positions = xp.reshape(xp.repeat(iota, repeats, axis=axis), (-1,))
    return xp.reshape(scatter_add(xp, xp.reshape(g, (-1,)), positions, size), x.shape)


def _roll_vjp(xp: Any, g: Any, ans: Any, x: Any, *, shift: int | tuple[int, ...],
              axis: int | tuple[int, ...] | None = None) -> Any:
    back = -shift if isinstance(shift, int) else tuple(-s for s in shift)
    return xp.roll(g, shift=back, axis=axis)


def _tile_vjp(xp: Any, g: Any, ans: Any, x: Any, *, repetitions: tuple[int, ...]) -> Any:
    # The result's axis k is repetitions[k] copies of x's (padded) axis k: view it as (reps, size) pairs
    # and sum the copies.
    ndim = max(x.ndim, len(repetitions))
    shape = (1,) * (ndim - x.ndim) + tuple(x.shape)
    reps = (1,) * (ndim - len(repetitions)) + tuple(repetitions)
    pairs = tuple(n for r, s in zip(reps, shape, strict=True) for n in (r, s))
    summed = xp.sum(xp.reshape(g, pairs), axis=tuple(range(0, 2 * ndim, 2)))
    return xp.reshape(summed, x.shape)


def _unstack_vjp(xp: Any, g: list[Any], ans: Any, x: Any, *, axis: int = 0) -> Any:
    # Outputs that got no gradient contribute zeros of their shape (x's shape without the axis).
    given = next(gi for gi in g if gi is not None)
    pieces = [xp.zeros_like(given) if gi is None else gi for gi in g]
    return xp.stack(pieces, axis=axis)


def _broadcast_arrays_vjp(xp: Any, g: list[Any], ans: Any, *arrays: Any) -> list[Any]:
    return list(g)  # fit_grad sums each cotangent back to its input's shape


defvjp_joint("broadcast_arrays", _broadcast_arrays_vjp, uses_args=False)
defvjp("flip", lambda xp, g, ans, x, *, axis=None: xp.flip(g, axis=axis), uses_args=False)
defvjp("moveaxis", lambda xp, g, ans, x, *, source, destination: xp.moveaxis(g, destination, source),
       uses_args=False)
defvjp("repeat", _repeat_vjp, None)  # repeats (an index) gets no gradient
defvjp("roll", _roll_vjp, uses_args=False)
defvjp("tile", _tile_vjp, uses_args=False)
defvjp("unstack", _unstack_vjp, uses_args=False)

# ======================================================================================================
# Searching functions
# ======================================================================================================


def _where_vjp(xp: Any, g: Any, ans: Any, condition: Any, x1: Any, x2: Any) -> list[Any]:
    zeros = xp.zeros_like(g)
    return [None, xp.where(condition, g, zeros), xp.where(condition, zeros, g)]


defvjp_joint("where", _where_vjp)

# ======================================================================================================
# Set functions
# ======================================================================================================


def _unique_values_vjp(xp: Any, g: Any, shape: tuple[int, ...], inverse: Any, counts: Any = None) -> Any:
    """Cotangent of ``values`` for an input of ``shape`` whose element ``i`` went to ``values[inverse[i]]``.

    Equal elements share their value's cotangent evenly (``g[j] / counts[j]`` each), as ties share the
    gradient of ``max``: the average of the one-sided derivatives, symmetric in the tied elements, and
    exact for losses in which the ties stay tied (``unique_values(concat([x, x]))``). Away from ties
    every count is 1 and this is the sorting permutation's gradient.
    """
    positions = xp.reshape(inverse, (-1,))
    if counts is None:
        ones = xp.ones(positions.shape, dtype=g.dtype, device=_device(g))
        counts = scatter_add(xp, ones, positions, g.shape[0])
    share = g / xp.astype(counts, g.dtype)
    return xp.reshape(xp.take(share, positions), shape)


# Multi-output ops get g as a list; only `values` (g[0]) is floating, so only it can carry a cotangent.
defvjp(  # unique_values returns no inverse: recompute it from the saved input (never a silent zero)
    "unique_values",
    lambda xp, g, ans, x: _unique_values_vjp(xp, g, x.shape, xp.unique_inverse(x).inverse_indices),
)
defvjp(  # (values, counts)
    "unique_counts",
    lambda xp, g, ans, x: _unique_values_vjp(xp, g[0], x.shape, xp.unique_inverse(x).inverse_indices, ans[1]),
    uses_ans=True,
)
defvjp(  # (values, inverse_indices)
    "unique_inverse",
    lambda xp, g, ans, x: _unique_values_vjp(xp, g[0], x.shape, ans[1]),
    uses_args=False,
    uses_ans=True,
)
defvjp(  # (values, indices, inverse_indices, counts)
    "unique_all",
    lambda xp, g, ans, x: _unique_values_vjp(xp, g[0], x.shape, ans[2], ans[3]),
    uses_args=False,
    uses_ans=True,
)

# ======================================================================================================
# Sorting functions
# ======================================================================================================


def _sort_vjp(xp: Any, g: Any, ans: Any, x: Any, *, axis: int = -1, descending: bool = False,
              stable: bool = True) -> Any:
    # The gradient follows the stable sorting permutation (ties keep their order, also when descending and
    # whatever `stable` the forward asked for), the convention of torch, JAX and autograd: g goes back
    # through the inverse permutation.
    order = xp.argsort(x, axis=axis, descending=descending, stable=True)
    return xp.take_along_axis(g, xp.argsort(order, axis=axis), axis=axis)


defvjp("sort", _sort_vjp)

# ======================================================================================================
# Statistical functions
# ======================================================================================================


def _reverse_linear_recurrence(xp: Any, g: Any, c: Any, axis: int) -> Any:
    """``s`` with ``s[i] = g[i] + c[i] * s[i + 1]`` along ``axis`` (``s`` past the end is 0).

    log2(n) doubling steps of a Hillis-Steele scan over the affine maps ``s -> g + c s``: products and
    sums only, so zeros in ``c`` need no care.
    """
    s, coefficient = g, c
    d = 1
    n = g.shape[axis]
    while d < n:
        s = s + _times(xp, _shift_down(xp, s, d, axis), coefficient)
        if 2 * d < n:
            coefficient = coefficient * _shift_down(xp, coefficient, d, axis)
        d *= 2
    return s


def _cumulative_prod_vjp(xp: Any, g: Any, ans: Any, x: Any, *, axis: int | None = None, dtype: Any = None,
                         include_initial: bool = False) -> Any:
    # y[k] = prod_{j<=k} x[j], so dy[k]/dx[i] = prod_{j<i} x[j] * prod_{i<j<=k} x[j] for k >= i, and
    # grad[i] = conj(before[i]) * s[i] with s[i] = sum_{k>=i} g[k] prod_{i<j<=k} conj(x[j]), the solution of
    # s[i] = g[i] + conj(x[i+1]) s[i+1]. No division by x: exact with zeros in the input.
    axis = 0 if axis is None else axis
    if dtype is not None:
        x = xp.astype(x, dtype)
    if include_initial:  # the leading 1 does not depend on x
        g = g[_slice_key(g.ndim, axis, slice(1, None))]
    xc = cj(xp, x)
    before = xp.cumulative_prod(xc, axis=axis, include_initial=True)[_slice_key(x.ndim, axis, slice(None, -1))]
    return _times(xp, _reverse_linear_recurrence(xp, g, _shift_down(xp, xc, 1, axis), axis), before)


def _cumulative_sum_vjp(xp: Any, g: Any, ans: Any, x: Any, *, axis: int | None = None, dtype: Any = None,
                        include_initial: bool = False) -> Any:
    # Every x[i] feeds y[k] for k >= i: the cotangent is the reversed cumulative sum of g.
    axis = 0 if axis is None else axis
    if include_initial:  # the leading 0 does not depend on x
        g = g[_slice_key(g.ndim, axis, slice(1, None))]
    return _reverse(xp, xp.cumulative_sum(_reverse(xp, g, axis), axis=axis), axis)


defvjp("cumulative_prod", _cumulative_prod_vjp)
defvjp("cumulative_sum", _cumulative_sum_vjp, uses_args=False)


def share_among_ties(xp: Any, values: Any, extremum: Any, g: Any, axis: Any) -> Any:
    """``g`` (reduced along ``axis``, keepdims) shared evenly among the entries of ``values`` that equal
    ``extremum``: ties split the gradient (torch's amax, JAX, autograd), the average of the subgradients."""
    winners = xp.astype(values == extremum, g.dtype)
    return winners * (g / xp.sum(winners, axis=axis, keepdims=True))


def _extremum_vjp(xp: Any, g: Any, ans: Any, x: Any, *, axis: Any = None, keepdims: bool = False) -> Any:
    ans = keep_reduced(xp, ans, x.ndim, axis, keepdims)
    return share_among_ties(xp, x, ans, keep_reduced(xp, g, x.ndim, axis, keepdims), axis)


defvjp("max", _extremum_vjp, uses_ans=True)
defvjp(
    "mean",
    lambda xp, g, ans, x, *, axis=None, keepdims=False: keep_reduced(xp, g, x.ndim, axis, keepdims)
    / _reduced_count(x.shape, axis),
    uses_args=False,
)
defvjp("min", _extremum_vjp, uses_ans=True)


def _exclusive_products(xp: Any, a: Any) -> Any:
    """``out[..., i] = prod_{j != i} a[..., j]`` over the last axis, from products on both sides (no division,
    so exact with zeros)."""
    initial = (Ellipsis, slice(None, -1))
    before = xp.cumulative_prod(a, axis=-1, include_initial=True)[initial]
    after = _reverse(xp, xp.cumulative_prod(_reverse(xp, a, -1), axis=-1, include_initial=True)[initial], -1)
    return before * after


def _prod_vjp(xp: Any, g: Any, ans: Any, x: Any, *, axis: Any = None, dtype: Any = None,
              keepdims: bool = False) -> Any:
    if dtype is not None:
        x = xp.astype(x, dtype)
    axes = _normalize_axes(axis, x.ndim)
    if not axes:  # a 0-D input or axis=(): the identity
        return g
    g = keep_reduced(xp, g, x.ndim, axis, keepdims)
    # Bring the reduced axes to the end as one axis, take the exclusive products there, and put them back.
    kept = tuple(a for a in range(x.ndim) if a not in axes)
    order = kept + axes
    moved = xp.permute_dims(x, order)
    flat = xp.reshape(moved, tuple(x.shape[a] for a in kept) + (_reduced_count(x.shape, axis),))
    others = xp.reshape(_exclusive_products(xp, cj(xp, flat)), moved.shape)
    inverse = tuple(sorted(range(x.ndim), key=order.__getitem__))
    return _times(xp, g, xp.permute_dims(others, inverse))


defvjp("prod", _prod_vjp)
def _degrees_of_freedom(shape: tuple[int, ...], axis: Any, correction: float) -> float:
    return _reduced_count(shape, axis) - correction


def _centered(xp: Any, x: Any, axis: Any) -> Any:
    return x - xp.mean(x, axis=axis, keepdims=True)


def _std_vjp(xp: Any, g: Any, ans: Any, x: Any, *, axis: Any = None, correction: float = 0.0,
             keepdims: bool = False) -> Any:
    # d std = (x - mean) / (dof * std). At zero variance std has an infinite slope; we give the subgradient
    # 0 there (the value at the origin of norms, where std is |x - mean| scaled), where torch and JAX give nan.
    g = keep_reduced(xp, g, x.ndim, axis, keepdims)
    ans = keep_reduced(xp, ans, x.ndim, axis, keepdims)
    dof = _degrees_of_freedom(x.shape, axis, correction)
    return _times(xp, g, _safe_divide(xp, _centered(xp, x, axis), dof * ans))


def _var_vjp(xp: Any, g: Any, ans: Any, x: Any, *, axis: Any = None, correction: float = 0.0,
             keepdims: bool = False) -> Any:
    # var = sum(|x - mean|^2) / dof; the mean's own derivative drops out (the deviations sum to 0).
    # Complex x: d|z|^2 = 2 Re(conj(z) dz), so the cotangent is 2 g (x - mean), real g.
    g = keep_reduced(xp, g, x.ndim, axis, keepdims)
    dof = _degrees_of_freedom(x.shape, axis, correction)
    scale = 2 / dof if dof != 0 else math.inf  # no degrees of freedom: the forward is nan or inf too
    return _times(xp, _times(xp, g, scale), _centered(xp, x, axis))


defvjp("std", _std_vjp, uses_ans=True)
defvjp(
    "sum",
    lambda xp, g, ans, x, *, axis=None, dtype=None, keepdims=False: keep_reduced(xp, g, x.ndim, axis, keepdims),
    uses_args=False,
)
defvjp("var", _var_vjp)

# ======================================================================================================
# Utility functions
# ======================================================================================================


def _first_difference_transpose(xp: Any, g: Any, axis: int) -> Any:
    # out[i] = z[i+1] - z[i]  =>  gz[j] = g[j-1] - g[j] (terms past either end are 0)
    shape = list(g.shape)
    shape[axis] = 1
    zero = xp.zeros(tuple(shape), dtype=g.dtype, device=_device(g))
    return xp.concat([zero, g], axis=axis) - xp.concat([g, zero], axis=axis)


def _diff_vjp(xp: Any, g: Any, ans: Any, x: Any, prepend: Any, append: Any, *, axis: int = -1,
              n: int = 1) -> list[Any]:
    # diff is linear in z = concat([prepend, x, append], axis): apply the transposed first difference n
    # times, then split z's cotangent among the three arrays.
    axis %= x.ndim
    for _ in range(n):
        g = _first_difference_transpose(xp, g, axis)
    start = _diff_extra_size(prepend, x.ndim, axis)
    stop = start + x.shape[axis]
    grad_x = g[_slice_key(g.ndim, axis, slice(start, stop))]
    grad_prepend = None if prepend is None else g[_slice_key(g.ndim, axis, slice(None, start))]
    grad_append = None if append is None else g[_slice_key(g.ndim, axis, slice(stop, None))]
    return [grad_x, grad_prepend, grad_append]


def _diff_extra_size(a: Any, ndim: int, axis: int) -> int:
    if a is None:
        return 0
    shape = getattr(a, "shape", ())
    # A scalar or 0-D prepend/append is broadcast to one slice along axis (numpy, jax); fit_grad sums it.
    return shape[axis] if len(shape) == ndim else 1


defvjp_joint("diff", _diff_vjp)

# ======================================================================================================
# linalg extension
# ======================================================================================================


def _vector_norm_vjp(xp: Any, g: Any, ans: Any, x: Any, *, axis: Any = None, keepdims: bool = False,
                     ord: float = 2) -> Any:
    g = keep_reduced(xp, g, x.ndim, axis, keepdims)
    ans = keep_reduced(xp, ans, x.ndim, axis, keepdims)
    if ord == 0:
        return xp.zeros(x.shape, dtype=g.dtype, device=_device(g))  # counts nonzeros: piecewise constant
    if ord == 1:
        return _times(xp, g, xp.sign(x))
    if ord == 2:
        return _times(xp, g, _safe_divide(xp, x, ans))  # the zero vector gets the subgradient 0 (torch)
    if ord in (math.inf, -math.inf):
        return xp.sign(x) * share_among_ties(xp, xp.abs(x), ans, g, axis)
    # general p: d||x||_p / dx = sgn(x) |x|^(p-1) / ||x||^(p-1)
    magnitude = xp.abs(x)
    ratio = _safe_divide(xp, magnitude ** (ord - 1), ans ** (ord - 1) * xp.ones_like(magnitude))
    return _times(xp, g * xp.sign(x), ratio)


defvjp("linalg.vector_norm", _vector_norm_vjp, uses_ans=True)

# Conventions of the decompositions (documented in tests/test_linalg.py, which checks each one):
# - Inputs of cholesky/eigh/eigvalsh are taken as Hermitian: the cotangent is the Hermitian (symmetrised)
#   one, as torch and JAX return. Backends read one triangle only (numpy: the lower one), so a loss that
#   perturbs the two triangles differently must symmetrise its input itself.
# - Eigenvector and singular-vector cotangents are only meaningful for losses that are invariant under the
#   gauge (sign, or complex phase, of each vector); the rules project the cotangent on the invariant part,
#   as torch does, and do not check.
# - The 1/(λj - λi) (eigh, eig) and 1/(s_j^2 - s_i^2) (svd) terms are only formed when the vectors have a
#   cotangent (HIPS/autograd#527): eigenvalue-only and singular-value-only losses are fine at degenerate
#   spectra. Where two values are exactly equal the term is taken as 0 (not inf/nan, torch's result): that
#   is the correct gradient of losses that are invariant under rotations inside the degenerate subspace,
#   such as its projector; other losses of the vectors have no gradient there at all.
# - Singular inputs of det/slogdet/inv/solve: the rules use solve/inv, never divide by det; at an exactly
#   singular matrix the backend's solve decides (numpy and array-api-strict raise LinAlgError, jax gives
#   non-finite values).


def _H(xp: Any, a: Any) -> Any:
    """The conjugate transpose of a (stack of) matrices."""
    return xp.matrix_transpose(cj(xp, a))


def _eye(xp: Any, n: int, like: Any, m: int | None = None, k: int = 0) -> Any:
    return xp.eye(n, m, k=k, dtype=like.dtype, device=_device(like))


def _diag_embed(xp: Any, v: Any) -> Any:
    """(..., n) -> (..., n, n) with v on the diagonal."""
    return v[..., None] * _eye(xp, v.shape[-1], v)


def _with_diagonal(xp: Any, a: Any, v: Any) -> Any:
    """``a`` with its diagonal replaced by ``v``."""
    off = 1 - _eye(xp, a.shape[-1], a)
    return a * off + _diag_embed(xp, v)


def _off_diagonal_divide(xp: Any, num: Any, den: Any) -> Any:
    """``num / den`` off the diagonal, 0 on it and where ``den`` is exactly 0 (equal eigen/singular values)."""
    n = num.shape[-1]
    den = den + _eye(xp, n, den)  # 1 on the diagonal: no division by 0 there, and the diagonal is reset below
    return _with_diagonal(xp, _safe_divide(xp, num, den), xp.zeros(num.shape[:-1], dtype=num.dtype,
                                                                     device=_device(num)))


def _solve_adjoint_identity(xp: Any, x: Any, c: Any) -> Any:
    """``c * x^{-H}`` for a (stack of) scalar(s) ``c``, via solve rather than inv or a division by det."""
    rhs = c[..., None, None] * _eye(xp, x.shape[-1], c)
    return xp.linalg.solve(_H(xp, x), rhs)


def _cholesky_vjp(xp: Any, g: Any, ans: Any, x: Any, *, upper: bool = False) -> Any:
    # A = L L^H:  gA = L^{-H} Φ(L^H gL) L^{-1}, Φ = lower triangle with a halved diagonal, made Hermitian
    # (Murray 2016, https://arxiv.org/abs/1602.07527; torch's cholesky_backward).
    L, gL = (_H(xp, ans), _H(xp, g)) if upper else (ans, g)
    phi = xp.tril(_H(xp, L) @ gL)
    phi = (phi + _H(xp, xp.tril(phi, k=-1))) / 2  # Hermitian, diagonal halved
    # L^{-H} phi L^{-1} = (L^{-H} (L^{-H} phi)^H)^H, each a solve with L^H (phi is Hermitian)
    left = xp.linalg.solve(_H(xp, L), phi)
    return _H(xp, xp.linalg.solve(_H(xp, L), _H(xp, left)))


defvjp("linalg.cholesky", _cholesky_vjp, uses_args=False, uses_ans=True)

# cross(x1, x2) is bilinear: x1 x x2 = -[x2]_x x1 = [x1]_x x2, and [a]_x^H = -[conj a]_x.
defvjp(
    "linalg.cross",
    lambda xp, g, ans, x1, x2, *, axis=-1: xp.linalg.cross(cj(xp, x2), g, axis=axis),
    lambda xp, g, ans, x1, x2, *, axis=-1: xp.linalg.cross(g, cj(xp, x1), axis=axis),
)

# d det = det tr(A^{-1} dA): the cotangent is g conj(det) A^{-H}, the cofactor matrix, solved for.
defvjp("linalg.det", lambda xp, g, ans, x: _solve_adjoint_identity(xp, x, _times(xp, g, cj(xp, ans))), uses_ans=True)


def _diagonal_vjp(xp: Any, g: Any, ans: Any, x: Any, *, offset: int = 0) -> Any:
    # Entry i of the diagonal sits at (i, i + offset) for offset >= 0 and at (i - offset, i) below: pad g to
    # the number of rows (columns) and spread it along them, masked by the offset identity.
    rows, cols = x.shape[-2], x.shape[-1]
    mask = xp.eye(rows, cols, k=offset, dtype=g.dtype, device=_device(g))
    length = rows if offset >= 0 else cols
    padded = g @ xp.eye(g.shape[-1], length, dtype=g.dtype, device=_device(g))  # zeros after the diagonal
    return mask * (padded[..., :, None] if offset >= 0 else padded[..., None, :])


defvjp("linalg.diagonal", _diagonal_vjp, uses_args=False)


def _eig_vjp(xp: Any, g: Any, ans: Any, x: Any) -> Any:
    # torch's linalg_eig_backward: with A = V diag(λ) V^{-1} and unit-norm columns of V,
    # gA = V^{-H} (diag(gλ) + (V^H gV - V^H V Re diag(V^H gV)) / conj(λj - λi)) V^H.
    # The eigenvector part is only defined for losses invariant under V -> V diag(e^{iφ}).
    g_values, g_vectors = g
    values, vectors = ans
    if g_vectors is None:
        inner = _diag_embed(xp, g_values)
    else:
        vhgv = _H(xp, vectors) @ g_vectors
        diagonal_real = xp.real(xp.linalg.diagonal(vhgv))
        vhgv = vhgv - (_H(xp, vectors) @ vectors) * xp.astype(diagonal_real, vhgv.dtype)[..., None, :]
        conj_values = xp.conj(values)
        inner = _off_diagonal_divide(xp, vhgv, conj_values[..., None, :] - conj_values[..., :, None])
        if g_values is not None:
            inner = inner + _diag_embed(xp, g_values)
    return xp.linalg.solve(_H(xp, vectors), inner @ _H(xp, vectors))


defvjp("linalg.eig", _eig_vjp, uses_args=False, uses_ans=True)


def _eigvals_vjp(xp: Any, g: Any, ans: Any, x: Any) -> Any:
    # gA = V^{-H} diag(g) V^H; the eigenvectors are recomputed (eigvals does not return them).
    vectors = xp.linalg.eig(x).eigenvectors
    return xp.linalg.solve(_H(xp, vectors), _diag_embed(xp, g) @ _H(xp, vectors))


defvjp("linalg.eigvals", _eigvals_vjp)


def _eigh_vjp(xp: Any, g: Any, ans: Any, x: Any) -> Any:
    # A = V diag(λ) V^H:  gA = V (diag(gλ) + skew(V^H gV) / (λj - λi)) V^H, skew(M) = (M - M^H)/2.
    g_values, g_vectors = g
    values, vectors = ans
    if g_vectors is None:  # no 1/(λj - λi) term at all: fine at degenerate spectra (HIPS/autograd#527)
        inner = _diag_embed(xp, xp.astype(g_values, vectors.dtype))
    else:
        vhgv = _H(xp, vectors) @ g_vectors
        skew = (vhgv - _H(xp, vhgv)) / 2
        gaps = xp.astype(values[..., None, :] - values[..., :, None], skew.dtype)
        inner = _off_diagonal_divide(xp, skew, gaps)
        if g_values is not None:
            inner = inner + _diag_embed(xp, xp.astype(g_values, vectors.dtype))
    return vectors @ inner @ _H(xp, vectors)


defvjp("linalg.eigh", _eigh_vjp, uses_args=False, uses_ans=True)


def _eigvalsh_vjp(xp: Any, g: Any, ans: Any, x: Any) -> Any:
    vectors = xp.linalg.eigh(x).eigenvectors  # recomputed: eigvalsh does not return them
    return vectors @ _diag_embed(xp, xp.astype(g, vectors.dtype)) @ _H(xp, vectors)


defvjp("linalg.eigvalsh", _eigvalsh_vjp)


def _inv_vjp(xp: Any, g: Any, ans: Any, x: Any) -> Any:
    inverse_h = _H(xp, ans)
    return -(inverse_h @ g @ inverse_h)


defvjp("linalg.inv", _inv_vjp, uses_args=False, uses_ans=True)


def _even_split(xp: Any, values: Any, largest: bool, g: Any) -> Any:
    """``g`` shared evenly among the largest (smallest) entries of ``values`` along the last axis.

    The extremum is taken from ``values`` themselves, not from the forward result: a recomputed SVD or sum
    need not agree with the backend's norm to the last bit."""
    extremum = (xp.max if largest else xp.min)(values, axis=-1, keepdims=True)
    return share_among_ties(xp, values, extremum, g, -1)


def _matrix_norm_vjp(xp: Any, g: Any, ans: Any, x: Any, *, keepdims: bool = False,
                     ord: int | float | str | None = "fro") -> Any:
    if keepdims:
        g, ans = g[..., 0, 0], ans[..., 0, 0]
    g = g[..., None]  # (..., 1): broadcasts against a vector of row sums, column sums or singular values
    ans = ans[..., None]
    if ord in ("fro", None):
        return _times(xp, g[..., None], _safe_divide(xp, x, ans[..., None]))  # the zero matrix gets 0, as vector_norm
    if ord in ("nuc", 2, -2):
        u, s, vh = xp.linalg.svd(x, full_matrices=False)
        if ord == "nuc":
            g_s = g * xp.ones_like(s)
        else:
            # ties between the largest (smallest) singular values share the gradient evenly
            g_s = _even_split(xp, s, ord == 2, g * xp.ones_like(s))
        return (u * xp.astype(g_s, u.dtype)[..., None, :]) @ vh
    if ord in (1, -1):  # max (min) over columns of the column sums of |x|
        sums = xp.sum(xp.abs(x), axis=-2)
        return xp.sign(x) * _even_split(xp, sums, ord == 1, g * xp.ones_like(sums))[..., None, :]
    if ord in (math.inf, -math.inf):  # max (min) over rows of the row sums of |x|
        sums = xp.sum(xp.abs(x), axis=-1)
        return xp.sign(x) * _even_split(xp, sums, ord == math.inf, g * xp.ones_like(sums))[..., :, None]
    raise ValueError(f"linalg.matrix_norm: no gradient rule for ord={ord!r}")


defvjp("linalg.matrix_norm", _matrix_norm_vjp, uses_ans=True)


def _matrix_power_positive_vjp(xp: Any, g: Any, x: Any, n: int) -> Any:
    # d(A^n) = Σ_k A^k dA A^{n-1-k}  =>  gA = Σ_k (A^H)^k g (A^H)^{n-1-k}
    xh = _H(xp, x)
    powers = [_eye(xp, x.shape[-1], x) * xp.ones_like(x)]
    for _ in range(n - 1):
        powers.append(powers[-1] @ xh)
    total = powers[0] @ g @ powers[n - 1]
    for k in range(1, n):
        total = total + powers[k] @ g @ powers[n - 1 - k]
    return total


def _matrix_power_vjp(xp: Any, g: Any, ans: Any, x: Any, *, n: int) -> Any:
    if n == 0:
        return xp.zeros_like(g)  # the identity, whatever x is
    if n > 0:
        return _matrix_power_positive_vjp(xp, g, x, n)
    # A^n = B^{|n|} with B = A^{-1}, and gA = -B^H gB B^H
    inverse = xp.linalg.inv(x)
    g_inverse = _matrix_power_positive_vjp(xp, g, inverse, -n)
    return _inv_vjp(xp, g_inverse, inverse, x)


defvjp("linalg.matrix_power", _matrix_power_vjp)
defvjp(
    "linalg.outer",
    lambda xp, g, ans, x1, x2: g @ cj(xp, x2),
    lambda xp, g, ans, x1, x2: cj(xp, x1) @ g,
)


def _pinv_vjp(xp: Any, g: Any, ans: Any, x: Any, *, rtol: Any = None) -> Any:
    # Golub & Pereyra 1973, as torch's pinv_backward: valid where the rank is constant (full-rank inputs,
    # or any rank away from the rtol cutoff); pinv jumps where the rank changes. Arranged so that the
    # products are of the smaller dimension.
    p, ph, gh = ans, _H(xp, ans), _H(xp, g)
    if x.shape[-2] <= x.shape[-1]:
        k = gh @ p
        k_ph = k @ ph
        return -_H(xp, p @ k) + k_ph - (x @ p) @ k_ph + (ph @ p) @ (gh - k @ x)
    k = p @ gh
    ph_k = ph @ k
    return -_H(xp, k @ p) + (gh - x @ k) @ p @ ph + ph_k - ph_k @ p @ x


defvjp("linalg.pinv", _pinv_vjp, uses_ans=True)


def _sym_inv_adj(xp: Any, m: Any) -> Any:
    """From an upper-triangular ``m``: ``m + m^H`` with the real part of the diagonal halved."""
    full = m + _H(xp, m)
    diagonal = xp.linalg.diagonal(full)
    if _is_complex(xp, diagonal):
        diagonal = xp.astype(xp.real(diagonal) / 2, diagonal.dtype) + 1j * xp.imag(diagonal)
    else:
        diagonal = diagonal / 2
    return _with_diagonal(xp, full, diagonal)


def _qr_square_or_tall_vjp(xp: Any, q: Any, r: Any, g_q: Any, g_r: Any) -> Any:
    # M = gR R^H - Q^H gQ;  gA = (gQ + Q sym(triu M)) R^{-H}   (arXiv:2009.10071 §4; torch's qr backward)
    m = xp.zeros((*q.shape[:-2], r.shape[-2], r.shape[-2]), dtype=q.dtype, device=_device(q))
    if g_r is not None:
        m = m + g_r @ _H(xp, r)
    if g_q is not None:
        m = m - _H(xp, q) @ g_q
    b = q @ _sym_inv_adj(xp, xp.triu(m))
    if g_q is not None:
        b = b + g_q
    # b R^{-H} = (R^{-1} b^H)^H
    return _H(xp, xp.linalg.solve(r, _H(xp, b)))


def _qr_vjp(xp: Any, g: Any, ans: Any, x: Any, *, mode: str = "reduced") -> Any:
    g_q, g_r = g
    q, r = ans
    rows, cols = x.shape[-2], x.shape[-1]
    if rows > cols and mode == "complete":
        if g_q is not None:
            raise NotImplementedError(
                "linalg.qr: no gradient through Q for mode='complete' when x has more rows than columns "
                "(its last M - N columns are any orthonormal basis of the complement); use mode='reduced'"
            )
        q, r, g_r = q[..., :, :cols], r[..., :cols, :], g_r[..., :cols, :]
    if rows >= cols:
        return _qr_square_or_tall_vjp(xp, q, r, g_q, g_r)
    # Wide: A = [A1 | A2] = Q [X | Y] with X square; Q and X depend on A1 only, and Y = Q^H A2.
    a2 = x[..., :, rows:]
    r_square = r[..., :, :rows]
    g_x = g_y = None
    if g_r is not None:
        g_x, g_y = g_r[..., :, :rows], g_r[..., :, rows:]
        through_y = a2 @ _H(xp, g_y)
        g_q = through_y if g_q is None else g_q + through_y
    g_a1 = _qr_square_or_tall_vjp(xp, q, r_square, g_q, g_x)
    g_a2 = q @ g_y if g_y is not None else xp.zeros_like(a2)
    return xp.concat([g_a1, g_a2], axis=-1)


defvjp("linalg.qr", _qr_vjp, uses_ans=True)


def _slogdet_vjp(xp: Any, g: Any, ans: Any, x: Any) -> Any:
    # d log det A = tr(A^{-1} dA) = d log|det A| + i d arg(det A).  The sign is piecewise constant for real
    # input (its cotangent is ignored) but smooth for complex input: d sign = i Im(tr(A^{-1} dA)) sign.
    # Together: gA = c A^{-H} with c = g_logabsdet + i Im(conj(sign) g_sign).
    g_sign, g_logabsdet = g
    sign = ans[0]
    if g_logabsdet is None:
        c = xp.zeros_like(sign)
    else:
        c = xp.astype(g_logabsdet, sign.dtype) if _is_complex(xp, sign) else g_logabsdet
    if g_sign is not None and _is_complex(xp, sign):
        c = c + 1j * xp.imag(xp.conj(sign) * g_sign)
    return _solve_adjoint_identity(xp, x, c)


defvjp("linalg.slogdet", _slogdet_vjp, uses_ans=True)


def _solve_vjp(xp: Any, g: Any, ans: Any, x1: Any, x2: Any) -> list[Any]:
    # X = A^{-1} B:  gB = A^{-H} gX,  gA = -gB X^H.  A 1-D x2 is one column (the spec's rule since 2024.12),
    # whatever the batch shape of x1.
    if x2.ndim == 1:
        g_x2 = xp.linalg.solve(_H(xp, x1), g[..., None])
        g_x1 = -(g_x2 * cj(xp, ans)[..., None, :])
        return [g_x1, g_x2[..., 0]]
    g_x2 = xp.linalg.solve(_H(xp, x1), g)
    return [-(g_x2 @ _H(xp, ans)), g_x2]


defvjp_joint("linalg.solve", _solve_vjp, uses_ans=True)


def _svd_reduced_vjp(xp: Any, g_u: Any, g_s: Any, g_vh: Any, u: Any, s: Any, vh: Any) -> Any:
    # torch's svd_backward (reduced SVD, k = min(m, n)):
    #   gA = U [ diag(gS) + (skew(U^H gU) S + S skew(V^H gV)) / (s_j^2 - s_i^2) ] V^H  (+ i Im diag term, complex)
    #        + (I - U U^H) gU S^{-1} V^H   (tall)   or   U S^{-1} gV^H (I - V V^H)   (wide)
    m, n = u.shape[-2], vh.shape[-1]
    s_cast = xp.astype(s, u.dtype)
    if g_u is None and g_vh is None:
        return (u * xp.astype(g_s, u.dtype)[..., None, :]) @ vh
    inner = xp.zeros((*s.shape, s.shape[-1]), dtype=u.dtype, device=_device(u))
    if g_u is not None:
        uhgu = _H(xp, u) @ g_u
        uhgu = uhgu - _H(xp, uhgu)
        inner = inner + uhgu * s_cast[..., None, :]
    if g_vh is not None:
        vhgv = vh @ _H(xp, g_vh)
        vhgv = vhgv - _H(xp, vhgv)
        inner = inner + s_cast[..., :, None] * vhgv
    squares = s * s
    inner = _off_diagonal_divide(xp, inner, xp.astype(squares[..., None, :] - squares[..., :, None], u.dtype))
    if g_s is not None:
        inner = inner + _diag_embed(xp, xp.astype(g_s, u.dtype))
    if g_u is not None and _is_complex(xp, u):
        # the phase of each (u_i, v_i) pair: only the imaginary diagonal of U^H gU survives the gauge
        inner = inner + _diag_embed(xp, xp.linalg.diagonal(uhgu) / (2 * s_cast))
    if m > n and g_u is not None:
        g_us = g_u / s_cast[..., None, :]
        return (u @ inner + g_us - u @ (_H(xp, u) @ g_us)) @ vh
    if m < n and g_vh is not None:
        s_gvh = g_vh / s_cast[..., :, None]
        return u @ (inner @ vh + s_gvh - (s_gvh @ _H(xp, vh)) @ vh)
    return u @ inner @ vh


def _svd_vjp(xp: Any, g: Any, ans: Any, x: Any, *, full_matrices: bool = True) -> Any:
    g_u, g_s, g_vh = g
    u, s, vh = ans
    k = s.shape[-1]
    if full_matrices and u.shape[-1] > k:
        # The extra columns U2 are any orthonormal basis of range(U1)^⊥. A loss invariant under U2 -> U2 W
        # depends on them only through U2 U2^H = I - U1 U1^H, which moves U1's cotangent by -U2 gU2^H U1.
        u1, u2 = u[..., :, :k], u[..., :, k:]
        if g_u is not None:
            g_u = g_u[..., :, :k] - u2 @ (_H(xp, g_u[..., :, k:]) @ u1)
        u = u1
    if full_matrices and vh.shape[-2] > k:
        vh1, vh2 = vh[..., :k, :], vh[..., k:, :]
        if g_vh is not None:
            g_vh = g_vh[..., :k, :] - (vh1 @ _H(xp, g_vh[..., k:, :])) @ vh2
        vh = vh1
    return _svd_reduced_vjp(xp, g_u, g_s, g_vh, u, s, vh)


defvjp("linalg.svd", _svd_vjp, uses_ans=True)


def _svdvals_vjp(xp: Any, g: Any, ans: Any, x: Any) -> Any:
    u, _, vh = xp.linalg.svd(x, full_matrices=False)  # recomputed: svdvals does not return them
    return (u * xp.astype(g, u.dtype)[..., None, :]) @ vh


defvjp("linalg.svdvals", _svdvals_vjp)


def _trace_vjp(xp: Any, g: Any, ans: Any, x: Any, *, offset: int = 0, dtype: Any = None) -> Any:
    return g[..., None, None] * xp.eye(x.shape[-2], x.shape[-1], k=offset, dtype=g.dtype, device=_device(g))


defvjp("linalg.trace", _trace_vjp, uses_args=False)

# ======================================================================================================
# fft extension
# ======================================================================================================

# Every transform here is linear over the reals, so its VJP is its adjoint A^H applied to g (torch's
# convention; a real input then keeps the real part, in fit_grad). The adjoint of a DFT normalized one way is
# the opposite DFT normalized the *opposite* way: fft(norm="backward") has the adjoint n * ifft(norm="backward")
# = ifft(norm="forward"), and "ortho" is its own opposite. Padding to ``n`` has the adjoint "crop back" and
# cropping has the adjoint "zero-pad back": :func:`_fit_length` undoes either.

_OPPOSITE_NORM = {"backward": "forward", "ortho": "ortho", "forward": "backward"}


def _opposite(norm: str) -> str:
    try:
        return _OPPOSITE_NORM[norm]
    except KeyError:
        raise ValueError(f"fft: norm must be 'backward', 'ortho' or 'forward', got {norm!r}") from None


def _fit_length(xp: Any, a: Any, axis: int, size: int) -> Any:
    """``a`` cropped or zero-padded at the end of ``axis`` to ``size``: the adjoint of the forward's pad/crop."""
    axis = axis % a.ndim
    have = a.shape[axis]
    if have > size:
        return a[_slice_key(a.ndim, axis, slice(0, size))]
    if have < size:
        shape = a.shape[:axis] + (size - have,) + a.shape[axis + 1:]
        return xp.concat([a, xp.zeros(shape, dtype=a.dtype, device=_device(a))], axis=axis)
    return a


def _hermitian_weight(xp: Any, g: Any, axis: int, n: int, middle: float) -> Any:
    """``g`` (the ``n // 2 + 1`` bins of a half spectrum of a length-``n`` signal) with its bins that stand for
    two bins of the full spectrum (all but DC and, for even ``n``, Nyquist) multiplied by ``middle``."""
    axis = axis % g.ndim
    stop = n // 2 + 1 if n % 2 else n // 2  # one past the last bin that has a mirror image
    if stop <= 1:
        return g
    parts = [g[_slice_key(g.ndim, axis, slice(0, 1))], g[_slice_key(g.ndim, axis, slice(1, stop))] * middle]
    if stop < g.shape[axis]:
        parts.append(g[_slice_key(g.ndim, axis, slice(stop, None))])
    return xp.concat(parts, axis=axis)


def _fft_axes(ndim: int, s: Any, axes: Any) -> tuple[int, ...]:
    """The transformed axes, normalized: all of them by default, the last ``len(s)`` with only ``s`` (numpy)."""
    if axes is None:
        axes = range(ndim) if s is None else range(ndim - len(s), ndim)
    return tuple(a % ndim for a in axes)


def _fit_lengths(xp: Any, a: Any, axes: tuple[int, ...], shape: tuple[int, ...]) -> Any:
    for axis in axes:
        a = _fit_length(xp, a, axis, shape[axis])
    return a


def _fft_vjp(xp: Any, g: Any, ans: Any, x: Any, *, n: Any = None, axis: int = -1, norm: str = "backward") -> Any:
    return _fit_length(xp, xp.fft.ifft(g, axis=axis, norm=_opposite(norm)), axis, x.shape[axis])


def _ifft_vjp(xp: Any, g: Any, ans: Any, x: Any, *, n: Any = None, axis: int = -1, norm: str = "backward") -> Any:
    return _fit_length(xp, xp.fft.fft(g, axis=axis, norm=_opposite(norm)), axis, x.shape[axis])


def _fftn_vjp(xp: Any, g: Any, ans: Any, x: Any, *, s: Any = None, axes: Any = None, norm: str = "backward") -> Any:
    axes = _fft_axes(x.ndim, s, axes)
    return _fit_lengths(xp, xp.fft.ifftn(g, axes=axes, norm=_opposite(norm)), axes, x.shape)


def _ifftn_vjp(xp: Any, g: Any, ans: Any, x: Any, *, s: Any = None, axes: Any = None, norm: str = "backward") -> Any:
    axes = _fft_axes(x.ndim, s, axes)
    return _fit_lengths(xp, xp.fft.fftn(g, axes=axes, norm=_opposite(norm)), axes, x.shape)


# rfft keeps bins 0 .. n//2 of fft(x): its adjoint zero-pads g to the full spectrum and applies the adjoint of
# fft, of which the (real) input keeps the real part. irfft computes that real part from the half spectrum
# alone, if it is told that every bin with a mirror image counts once, not twice: halve those bins first.
# irfft in turn reads each such bin twice (as itself and as its mirror image) and the imaginary parts of DC
# and Nyquist not at all: its adjoint is rfft with those bins doubled (DC and Nyquist of rfft of a real
# signal are real, so their imaginary parts get no gradient). hfft and ihfft are irfft and rfft of a
# conjugate with the opposite norm (numpy's definition, the standard's normalizations).


def _rfft_vjp(xp: Any, g: Any, ans: Any, x: Any, *, n: Any = None, axis: int = -1, norm: str = "backward") -> Any:
    n = x.shape[axis] if n is None else n
    halved = _hermitian_weight(xp, g, axis, n, 0.5)
    return _fit_length(xp, xp.fft.irfft(halved, n=n, axis=axis, norm=_opposite(norm)), axis, x.shape[axis])


def _irfft_vjp(xp: Any, g: Any, ans: Any, x: Any, *, n: Any = None, axis: int = -1, norm: str = "backward") -> Any:
    n = g.shape[axis]
    doubled = _hermitian_weight(xp, xp.fft.rfft(g, axis=axis, norm=_opposite(norm)), axis, n, 2.0)
    return _fit_length(xp, doubled, axis, x.shape[axis])


def _hfft_vjp(xp: Any, g: Any, ans: Any, x: Any, *, n: Any = None, axis: int = -1, norm: str = "backward") -> Any:
    # hfft(x, norm) = irfft(conj(x), opposite norm): the conjugate of irfft's VJP with the norm of hfft.
    n = g.shape[axis]
    doubled = _hermitian_weight(xp, xp.conj(xp.fft.rfft(g, axis=axis, norm=norm)), axis, n, 2.0)
    return _fit_length(xp, doubled, axis, x.shape[axis])


def _ihfft_vjp(xp: Any, g: Any, ans: Any, x: Any, *, n: Any = None, axis: int = -1, norm: str = "backward") -> Any:
    # ihfft(x, norm) = conj(rfft(x, opposite norm)): rfft's VJP of conj(g) with the norm of ihfft.
    n = x.shape[axis] if n is None else n
    halved = _hermitian_weight(xp, xp.conj(g), axis, n, 0.5)
    return _fit_length(xp, xp.fft.irfft(halved, n=n, axis=axis, norm=norm), axis, x.shape[axis])


def _rfftn_vjp(xp: Any, g: Any, ans: Any, x: Any, *, s: Any = None, axes: Any = None, norm: str = "backward") -> Any:
    # rfftn = fft over axes[:-1] after rfft over axes[-1]; irfftn undoes them in the opposite order, and the
    # halving along the last axis commutes with the transforms along the others.
    axes = _fft_axes(x.ndim, s, axes)
    sizes = tuple(g.shape[a] for a in axes[:-1]) + ((x.shape[axes[-1]] if s is None else s[-1]),)
    halved = _hermitian_weight(xp, g, axes[-1], sizes[-1], 0.5)
    return _fit_lengths(xp, xp.fft.irfftn(halved, s=sizes, axes=axes, norm=_opposite(norm)), axes, x.shape)


def _irfftn_vjp(xp: Any, g: Any, ans: Any, x: Any, *, s: Any = None, axes: Any = None, norm: str = "backward") -> Any:
    axes = _fft_axes(x.ndim, s, axes)
    spectrum = xp.fft.rfftn(g, axes=axes, norm=_opposite(norm))
    doubled = _hermitian_weight(xp, spectrum, axes[-1], g.shape[axes[-1]], 2.0)
    return _fit_lengths(xp, doubled, axes, x.shape)


defvjp("fft.fft", _fft_vjp, uses_args=False)
defvjp("fft.ifft", _ifft_vjp, uses_args=False)
defvjp("fft.fftn", _fftn_vjp, uses_args=False)
defvjp("fft.ifftn", _ifftn_vjp, uses_args=False)
defvjp("fft.rfft", _rfft_vjp, uses_args=False)
defvjp("fft.irfft", _irfft_vjp, uses_args=False)
defvjp("fft.rfftn", _rfftn_vjp, uses_args=False)
defvjp("fft.irfftn", _irfftn_vjp, uses_args=False)
defvjp("fft.hfft", _hfft_vjp, uses_args=False)
defvjp("fft.ihfft", _ihfft_vjp, uses_args=False)
# The shifts are permutations (rolls by n//2): each is undone by the other.
defvjp("fft.fftshift", lambda xp, g, ans, x, *, axes=None: xp.fft.ifftshift(g, axes=axes), uses_args=False)
defvjp("fft.ifftshift", lambda xp, g, ans, x, *, axes=None: xp.fft.fftshift(g, axes=axes), uses_args=False)

# ======================================================================================================
# The array object's own methods
# ======================================================================================================

defvjp("to_device", lambda xp, g, ans, x, *, device, stream=None: xp.asarray(g, device=x.device))

# ======================================================================================================
# Names without a rule, on purpose
# ======================================================================================================

# Their outputs are integer or boolean (or they take no array), so no node is ever recorded.
NON_DIFFERENTIABLE = frozenset({
    "bitwise_and", "bitwise_left_shift", "bitwise_invert", "bitwise_or", "bitwise_right_shift", "bitwise_xor",
    "equal", "greater", "greater_equal", "isfinite", "isinf", "isnan", "less", "less_equal", "logical_and",
    "logical_not", "logical_or", "logical_xor", "not_equal", "signbit",
    "arange", "empty", "eye", "full", "linspace", "ones", "zeros", "from_dlpack",
    "can_cast", "finfo", "iinfo", "isdtype", "result_type",
    "argmax", "argmin", "count_nonzero", "nonzero", "searchsorted", "argsort", "isin", "all", "any",
    "broadcast_shapes", "linalg.matrix_rank", "fft.fftfreq", "fft.rfftfreq",
})
# Their results do not depend on the input's values: computed off the tape.
ZERO_GRADIENT = frozenset({"empty_like", "full_like", "ones_like", "zeros_like"})

# The extensions beyond the standard keep their rules in their own modules; they join the one table here:
# median, bincount and scipy.fft's dct/dst (_rules_extensions), and the special functions (_rules_special).
from ._rules_extensions import EXTENSION_RULES  # noqa: E402
from ._rules_special import SPECIAL_RULES  # noqa: E402

RULES.update(EXTENSION_RULES)
RULES.update(SPECIAL_RULES)
