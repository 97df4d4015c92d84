"""The backend side of wrapgrad's extensions beyond the standard: ``median``, ``bincount`` and SciPy's real
transforms (``dct``, ``idct``, ``dst``, ``idst``).

The standard has none of these, so :class:`wrapgrad._backend.Backend` asks this module for them (it is
``_backend.py``'s companion: the only other module that names particular libraries). Each kernel takes raw
arrays of its backend, like the standard's functions do, and is what the funnel runs forward and what the
rules in ``_rules_extensions.py`` call during a plain backward. numpy uses its own library (``numpy.median``,
``numpy.bincount``, ``scipy.fft``, imported on first use); every other backend gets a portable form written
with the standard (``sort``, the backend's scatter-add, ``fft.rfft``), which also traces under ``jax.jit``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._backend import Backend

__all__ = ["EXTENSION_KERNELS", "kernel", "real_transform_factors"]

EXTENSION_KERNELS = frozenset({"median", "bincount", "dct", "idct", "dst", "idst"})


def kernel(backend: Backend, name: str) -> Callable[..., Any]:
    """The raw function of ``backend`` for the extension ``name``."""
    if name == "median":
        if backend.is_numpy:
            np = backend._np
            return lambda x, *, axis=None, keepdims=False: np.asarray(np.median(x, axis=axis, keepdims=keepdims))
        return lambda x, *, axis=None, keepdims=False: portable_median(backend.xp, x, axis, keepdims)
    if name == "bincount":
        return lambda x, weights=None, *, minlength=0: _bincount(backend, x, weights, minlength)
    if backend.is_numpy:
        import scipy.fft  # type: ignore[import-untyped, unused-ignore]

        fn = getattr(scipy.fft, name)
        return lambda x, *, type=2, axis=-1, norm=None, orthogonalize=None: fn(
            x, type=type, axis=axis, norm=norm, orthogonalize=orthogonalize)
    kind, inverse = name.lstrip("i"), name.startswith("i")
    return lambda x, *, type=2, axis=-1, norm=None, orthogonalize=None: portable_real_transform(
        backend.xp, x, kind, type, axis, norm, orthogonalize, inverse)


# -- median ---------------------------------------------------------------------------------------------------


def _move_to_last(xp: Any, x: Any, axis: int | tuple[int, ...] | None) -> tuple[Any, tuple[int, ...]]:
    """``x`` with the reduced axes flattened into one last axis, and the reduced axes (normalized)."""
    ndim = x.ndim
    axes = tuple(range(ndim)) if axis is None else (axis,) if isinstance(axis, int) else tuple(axis)
    axes = tuple(sorted(a % ndim for a in axes)) if ndim else ()
    kept = [a for a in range(ndim) if a not in axes]
    moved = xp.permute_dims(x, (*kept, *axes)) if ndim else x
    return xp.reshape(moved, (*(x.shape[a] for a in kept), -1)), axes


def median_halves(xp: Any, x: Any, axis: int | tuple[int, ...] | None) -> tuple[Any, Any, Any, tuple[int, ...]]:
    """``(flat, lower, upper, axes)``: ``x`` with its reduced axes flattened last, and its two middle order
    statistics (equal for an odd count), with a trailing axis of size 1."""
    flat, axes = _move_to_last(xp, x, axis)
    n = flat.shape[-1]
    ordered = xp.sort(flat, axis=-1)
    lower = ordered[..., (n - 1) // 2:(n - 1) // 2 + 1]
    upper = ordered[..., n // 2:n // 2 + 1]
    return flat, lower, upper, axes


def _restore_reduced(xp: Any, m: Any, shape: tuple[int, ...], axes: tuple[int, ...], keepdims: bool) -> Any:
    """A reduction's result (kept axes, then one trailing axis of size 1) in the shape the caller asked for."""
    if keepdims:
        return xp.reshape(m, tuple(1 if a in axes else s for a, s in enumerate(shape)))
    return xp.reshape(m, tuple(s for a, s in enumerate(shape) if a not in axes))


def portable_median(xp: Any, x: Any, axis: int | tuple[int, ...] | None, keepdims: bool) -> Any:
    """``median`` from the standard's ``sort``: the mean of the two middle order statistics."""
    _, lower, upper, axes = median_halves(xp, x, axis)
    return _restore_reduced(xp, (lower + upper) / 2, tuple(x.shape), axes, keepdims)


# -- bincount -------------------------------------------------------------------------------------------------


def _bincount(backend: Backend, x: Any, weights: Any, minlength: int) -> Any:
    if backend.is_numpy:
        return backend._np.bincount(x, weights=weights, minlength=minlength)
    xp = backend.xp
    if backend.is_jax:
        import jax

        if isinstance(x, jax.core.Tracer):
            # Under jax.jit the length must be known when tracing: minlength gives it (jax's `length`).
            if not minlength:
                raise ValueError(
                    "bincount: the length of the result depends on the values of x, which are not known under "
                    "jax.jit; pass minlength (the number of bins; larger values are dropped, as jax.numpy's "
                    "bincount(length=...) does)"
                )
            return xp.bincount(x, weights=weights, minlength=minlength, length=minlength)
        return xp.bincount(x, weights=weights, minlength=minlength)
    if backend.name == "dask":
        if not minlength:
            raise ValueError(
                "bincount: the length of the result depends on the values of x, which a lazy (dask) array does "
                "not know; pass minlength (the number of bins; larger values are dropped)"
            )
        size = minlength
    else:
        # An eager backend: the length is read from the values, as numpy does.
        size = max(int(xp.max(x)) + 1 if x.shape[0] else 0, minlength)
    if weights is None:
        weights = xp.ones(x.shape, dtype=x.dtype, device=getattr(x, "device", None))  # integer counts
    return backend.scatter_add(weights, x, size)


# -- SciPy's real transforms: DCT and DST of types 1-4 --------------------------------------------------------
#
# Every setting of scipy's transforms is one orthonormal transform with endpoint weights around it:
#   dct(x, type, norm, orthogonalize)  = scale * outer * L(type)(inner * x)
# where L(type) is the transform with norm="ortho" (orthonormal, so its adjoint is its inverse, the transform
# of the inverse type: I and IV are their own inverses, II and III each other's). The weights are 1 except at
# the endpoints that scipy's `orthogonalize` re-weights, and `scale` is the ratio of the normalizations.


def _lengths(kind: str, type: int, n: int) -> int:
    """``L`` of the transform: the sum runs over angles ``pi * (n + a) * (k + b) / L``."""
    if type == 1:
        return n - 1 if kind == "dct" else n + 1
    return n


def _orthogonal_weights(kind: str, type: int, n: int) -> tuple[list[float], list[float]]:
    """``(din, dout)``: scipy's ``orthogonalize`` multiplies the input by ``din`` and the output by ``dout``."""
    din, dout, r = [1.0] * n, [1.0] * n, math.sqrt(2.0)
    if kind == "dct":
        if type == 1:
            din[0] = din[-1] = r
            dout[0] = dout[-1] = 1 / r
        elif type == 2:
            dout[0] = 1 / r
        elif type == 3:
            din[0] = r
    elif type == 2:
        dout[-1] = 1 / r
    elif type == 3:
        din[-1] = r
    return din, dout


def real_transform_factors(kind: str, type: int, n: int, norm: str | None, orthogonalize: bool | None,
                           inverse: bool) -> tuple[float, list[float] | None, list[float] | None]:
    """``(scale, outer, inner)`` of ``(i)dct``/``(i)dst`` as ``scale * outer * L(inner * x)``, where ``L`` is the
    orthonormal transform (``norm="ortho"``) of ``type`` (of its inverse type for ``inverse``). ``None`` weights
    are all ones."""
    if type not in (1, 2, 3, 4):
        raise ValueError(f"{kind}: type must be 1, 2, 3 or 4, got {type!r}")
    if norm not in (None, "backward", "ortho", "forward"):
        raise ValueError(f'{kind}: norm must be None, "backward", "ortho" or "forward", got {norm!r}')
    if kind == "dct" and type == 1 and n < 2:
        raise ValueError("dct: type 1 needs a length of at least 2")
    length = _lengths(kind, type, n)
    ortho_scale = 1 / math.sqrt(2 * length)
    scale = {None: 1.0, "backward": 1.0, "forward": 1 / (2 * length), "ortho": ortho_scale}[norm] / ortho_scale
    orthogonal = norm == "ortho" if orthogonalize is None else bool(orthogonalize)
    if orthogonal:
        outer = inner = None
    else:  # the raw transform: undo the weights that L has
        din, dout = _orthogonal_weights(kind, type, n)
        outer, inner = [1 / d for d in dout], [1 / d for d in din]
    if not inverse:
        return scale, _or_none(outer), _or_none(inner)
    # (s * O L I)^-1 = (1/s) * I^-1 L^-1 O^-1
    return 1 / scale, _or_none(None if inner is None else [1 / w for w in inner]), _or_none(
        None if outer is None else [1 / w for w in outer])


def _or_none(weights: list[float] | None) -> list[float] | None:
    return None if weights is None or all(w == 1.0 for w in weights) else weights


def weigh(xp: Any, x: Any, weights: list[float] | None, axis: int) -> Any:
    """``x`` times ``weights`` along ``axis`` (nothing to do for ``None``)."""
    if weights is None:
        return x
    real = xp.real(x) if xp.isdtype(x.dtype, "complex floating") else x
    w = xp.asarray(weights, dtype=real.dtype, device=getattr(x, "device", None))
    shape = [1] * x.ndim
    shape[axis % x.ndim] = len(weights)
    return x * xp.reshape(w, tuple(shape))


def portable_real_transform(xp: Any, x: Any, kind: str, type: int, axis: int, norm: str | None,
                            orthogonalize: bool | None, inverse: bool) -> Any:
    """scipy.fft's ``dct``/``dst``/``idct``/``idst`` built from the standard's ``fft.rfft``."""
    if xp.isdtype(x.dtype, "complex floating"):  # a real-linear map: transform the two parts
        re = portable_real_transform(xp, xp.real(x), kind, type, axis, norm, orthogonalize, inverse)
        im = portable_real_transform(xp, xp.imag(x), kind, type, axis, norm, orthogonalize, inverse)
        unit = xp.asarray(1j, dtype=x.dtype, device=getattr(x, "device", None))
        return xp.astype(re, x.dtype) + xp.astype(im, x.dtype) * unit
    if not xp.isdtype(x.dtype, "real floating"):
        x = xp.astype(x, xp.__array_namespace_info__().default_dtypes()["real floating"])
    n = x.shape[axis]
    scale, outer, inner = real_transform_factors(kind, type, n, norm, orthogonalize, inverse)
    core = _inverse_type(type) if inverse else type
    y = _orthonormal(xp, xp.moveaxis(weigh(xp, x, inner, axis), axis, -1), kind, core)
    return weigh(xp, xp.moveaxis(y, -1, axis), outer, axis) * scale


def _inverse_type(type: int) -> int:
    return {1: 1, 2: 3, 3: 2, 4: 4}[type]


def _orthonormal(xp: Any, x: Any, kind: str, type: int) -> Any:
    """The orthonormal DCT/DST of ``type`` along the last axis, from two real FFTs of length ``2L``.

    The raw transform is ``y_k = sum_n 2 w_n x_n cos(pi (n + a)(k + b) / L)`` (``sin`` for the DST), with
    ``w_n = 1/2`` at the endpoints that scipy halves. Written as ``Re`` (``-Im``) of
    ``post_k * FFT_2L(pre * x)_k`` with ``pre_n = 2 w_n exp(-i pi n b / L)`` and ``post_k = exp(-i pi a (k + b) / L)``,
    and split into real and imaginary parts, so that no complex scalar meets a real array.
    """
    n = x.shape[-1]
    a, b = {
        "dct": {1: (0.0, 0.0), 2: (0.5, 0.0), 3: (0.0, 0.5), 4: (0.5, 0.5)},
        "dst": {1: (1.0, 1.0), 2: (0.5, 1.0), 3: (1.0, 0.5), 4: (0.5, 0.5)},
    }[kind][type]
    length = _lengths(kind, type, n)
    weights = [2.0] * n
    if kind == "dct" and type == 1:
        weights[0] = weights[-1] = 1.0
    elif kind == "dct" and type == 3:
        weights[0] = 1.0
    elif kind == "dst" and type == 3:
        weights[-1] = 1.0
    din, dout = _orthogonal_weights(kind, type, n)
    device = getattr(x, "device", None)
    idx = xp.arange(n, dtype=x.dtype, device=device)
    w = xp.asarray([wi * di for wi, di in zip(weights, din)], dtype=x.dtype, device=device)
    phase = (math.pi * b / length) * idx
    c = xp.fft.rfft(x * (w * xp.cos(phase)), n=2 * length, axis=-1)[..., :n]
    s = xp.fft.rfft(x * (w * xp.sin(phase)), n=2 * length, axis=-1)[..., :n]
    re_f = xp.real(c) + xp.imag(s)  # F = c - i s
    im_f = xp.imag(c) - xp.real(s)
    psi = (math.pi * a / length) * (idx + b)
    cos_psi, sin_psi = xp.cos(psi), xp.sin(psi)  # post = cos(psi) - i sin(psi)
    if kind == "dct":
        y = cos_psi * re_f + sin_psi * im_f
    else:
        y = sin_psi * re_f - cos_psi * im_f
    out_scale = xp.asarray([d / math.sqrt(2 * length) for d in dout], dtype=x.dtype, device=device)
    return y * out_scale
