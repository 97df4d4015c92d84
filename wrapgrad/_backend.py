"""What wrapgrad knows about particular array libraries.

This is the only module that may name a library (numpy, jax, array-api-strict): everything else speaks
the array API through a :class:`Backend`. Optional libraries are imported here only when an array of
theirs is seen or their namespace is asked for, never at ``import wrapgrad``.
"""

from __future__ import annotations

import collections
import math
import sys
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from types import ModuleType
from typing import Any

import array_api_compat

from ._backend_extensions import EXTENSION_KERNELS
from ._backend_extensions import kernel as extension_kernel

__all__ = ["Backend", "backend_for", "backend_of_array"]

# Short names for the namespaces we know; they name the modules wrapgrad.<name>.
_KNOWN_NAMES = {
    "array_api_compat.numpy": "numpy",
    "numpy": "numpy",
    "jax.numpy": "jax",
    "array_api_strict": "array_api_strict",
    "array_api_compat.torch": "torch",
    "array_api_compat.cupy": "cupy",
    "array_api_compat.dask.array": "dask",
}


class Backend:
    """One wrapped array library: its namespace and the few things that differ between libraries.

    Parameters
    ----------
    xp : module
        An array-API namespace (``array_api_compat.numpy``, ``array_api_strict``, ``jax.numpy``, ...).
    """

    def __init__(self, xp: ModuleType) -> None:
        self.xp = xp
        self.name = _KNOWN_NAMES.get(xp.__name__, xp.__name__.replace("array_api_compat.", "").replace(".", "_"))
        info = xp.__array_namespace_info__()
        # Results of these dtypes get a tape node; integer and boolean results never do.
        # jax lists float64 and complex128 only while its x64 flag is on, and a Backend made before the flag was
        # turned on must still differentiate them: jax's dtypes are numpy's, so name them all.
        spelled: list[Any] = []
        complex_spelled: list[Any] = []
        if xp.__name__ == "jax.numpy":
            import numpy as np

            complex_spelled = [np.dtype("complex64"), np.dtype("complex128")]
            spelled = [np.dtype("float32"), np.dtype("float64"), *complex_spelled]
        self.differentiable_dtypes = frozenset(
            [*info.dtypes(kind=("real floating", "complex floating")).values(), *spelled])
        self.complex_dtypes = frozenset([*info.dtypes(kind="complex floating").values(), *complex_spelled])
        # The backend's function for each spec name, resolved on first use: ``backend.functions["sin"]``.
        self.functions = _FunctionTable(self._resolve)
        self.namespace: ModuleType | None = None  # wrapgrad's module for this backend, set by _namespace
        self.is_numpy = self.name == "numpy"
        self.float64: Any = None  # numpy's float64 dtype, on numpy (float64_operand)
        self.is_jax = self.name == "jax"
        self.is_dask = self.name == "dask"
        # Whether arrays of this library may have dimensions of unknown size (dask after a boolean mask): the
        # funnel then checks, when it records, that the rule can run on them (see _apply).
        self.unknown_shapes = self.is_dask
        if self.is_dask:
            # compat's dask lacks some spec functions the rules need (take_along_axis): the rules, the
            # funnel and the creation functions all see this namespace, compat's plus the fills below.
            self.xp = _dask_namespace(xp)
        if self.is_numpy:
            import numpy as np

            self._ndarray = np.ndarray
            self._generic = np.generic
            self._np = np
            self._copyto: Callable[..., Any] = np.copyto  # used by the zero-cotangent guard (guarded_product)
            self._equal: Callable[..., Any] = np.equal
            self._logical_not: Callable[..., Any] = np.logical_not
            # The guard's 0, as an array: a boolean assignment converts a Python 0 anew each time (a third of
            # the guard's cost on small arrays); read-only, so that nothing can change it.
            self._zero = np.zeros(())
            self._zero.flags.writeable = False
            self.float64 = np.dtype(np.float64)
        # Python floats as operands of numpy float64 arrays (see float64_operand); None on other libraries.
        self.float64_operands: dict[float, Any] | None = {} if self.is_numpy else None
        # numpy turns 0-D results into numpy scalars; they must become 0-D arrays at the boundary. The funnel
        # calls normalize only for results that are not already of array_type (the hot path skips the call).
        self.normalize: Callable[[Any], Any] | None = self._normalize_numpy if self.is_numpy else None
        self.array_type: type | None = self._ndarray if self.is_numpy else None
        if self.name == "torch":
            import torch

            # torch returns several results as structseqs (torch.return_types.linalg_eigh ...), tuples without
            # namedtuple's _fields, which the funnel rebuilds from: make them namedtuples of the same fields.
            self.array_type = torch.Tensor
            self.normalize = _namedtuple_of_structseq
        # The library's special functions (the ``special`` extension), each resolved on first use.
        self.special = SpecialFunctions(self)
        # The functions that the funnel's fast path (_fast.py) calls, or None to send every call through the
        # general funnel: on dask (whose shapes may be unknown, which only the general funnel checks), in
        # anomaly mode, and inside _fast.general_funnel_only().
        self.fast_functions: dict[str, Callable[..., Any]] | None = None
        self.refresh_fast_path()

    def refresh_fast_path(self) -> None:
        """Turn the fast path on or off, as this library's shapes and :data:`GENERAL_FUNNEL_ONLY` say."""
        self.fast_functions = None if self.unknown_shapes or GENERAL_FUNNEL_ONLY[0] else self.functions

    def __repr__(self) -> str:
        return f"Backend({self.xp.__name__})"

    def default_float_dtype(self) -> Any:
        """The backend's default real floating dtype (jax's depends on its x64 flag, so it is not cached)."""
        return self.xp.__array_namespace_info__().default_dtypes()["real floating"]

    def _resolve(self, name: str) -> Callable[..., Any]:
        """Find the backend's function for ``name``.

        Besides the namespace's functions, the funnel also runs the array object's ``__getitem__``,
        ``__setitem__`` and ``to_device``, and the internal ``_scatter_add``, ``_times`` and ``_over``; ``stack``
        and ``concat`` take their arrays as separate arguments (each one gets its own edge on the tape).
        """
        if name == "__getitem__":
            return _dask_get_item if self.is_dask else _get_item
        if name == "__setitem__":
            return lambda x, value, *, key: self.set_item(x, key, value)
        if name == "to_device":  # to_device(x, device, /, stream=None): device is positional-only
            return _with_positional_params(array_api_compat.to_device, ("device",))
        if name == "_scatter_add":
            return lambda values, positions, *, size: self.scatter_add(values, positions, size)
        if name == "_times":  # the zero-cotangent guards of the rule table, recorded under create_graph
            return self.guarded_product
        if name == "_over":
            return lambda g, d: self.guarded_product(g, d, True)
        if name in EXTENSION_KERNELS:  # median, bincount, dct ...: beyond the standard (_backend_extensions.py)
            return extension_kernel(self, name)
        if name.startswith("special."):
            return getattr(self.special, name.removeprefix("special."))
        obj: Any = self.xp
        for part in name.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                raise AttributeError(f"{name}: not provided by the backend {self.xp.__name__}")
        if name in ("stack", "concat"):
            sequence_fn = obj
            return lambda *arrays, **params: sequence_fn(list(arrays), **params)
        positional = _POSITIONAL_PARAMS.get(name)
        if positional is not None:
            return _with_positional_params(obj, positional)
        array_keywords = _ARRAY_KEYWORDS.get(name)
        if array_keywords is not None:
            return _with_array_keywords(obj, array_keywords)
        return obj

    def _normalize_numpy(self, out: Any) -> Any:
        if type(out) is self._ndarray:
            return out
        if isinstance(out, self._generic):
            return self._np.asarray(out)
        if isinstance(out, tuple):
            fields = getattr(out, "_fields", None)
            items = [self._normalize_numpy(o) for o in out]
            return type(out)(*items) if fields is not None else tuple(items)
        if isinstance(out, list):
            return [self._normalize_numpy(o) for o in out]
        return out

    # -- raw arguments of other libraries -------------------------------------------------------------

    def constant(self, name: str, value: Any) -> Any:
        """A raw argument of operation ``name`` as this backend's functions take it, or a clear TypeError.

        A raw array of this library passes as it is. One of another library is a constant exactly where this
        library's own functions accept it, converted once, here at the funnel's boundary: numpy arrays and
        numpy scalars on jax (``jax.numpy`` takes them and closing over numpy data is everyday JAX), numpy
        scalars on torch and cupy (they take them as Python numbers, so ``.item()`` keeps their typing).
        Anything else, a numpy array on torch or a jax array on torch, is an error that names both libraries.
        """
        try:
            other = backend_of_array(value)
        except TypeError:
            raise TypeError(f"{name}: unsupported argument of type {type(value).__name__}") from None
        if other is self:
            return value
        if other.is_numpy:
            if self.is_jax:
                return self.xp.asarray(value)
            if self.name in _TAKES_NUMPY_SCALARS and isinstance(value, other._generic):
                return value.item()
        raise TypeError(
            f"{name}: arguments come from different array libraries ({self.name}, {other.name}); convert the "
            f"{other.name} array first, e.g. with wrapgrad.{self.name}.asarray"
        )

    # -- mutation and scatter: the spec has no portable form of these ---------------------------------

    def accumulate(self, total: Any, g: Any) -> Any:
        """``total + g`` for the engine's cotangent buffers, in place into ``total`` when that is safe.

        Safe means, as in torch's input buffers, that nothing but the engine sees ``total``: a numpy array
        that owns its data and is referenced only by the engine's local name and this call (a view of it, or the
        same array handed to a second input, as ``add``'s rule does, holds a reference too; the engine takes
        ``total`` out of its buffers before the call). It saves one array at the peak of backward wherever a
        tensor is used twice; immutable and other backends add.
        """
        if (
            _EXACT_REFCOUNTS
            and self.is_numpy
            and type(total) is self._ndarray
            and total.base is None
            # the engine's local name, this parameter and getrefcount's own argument
            and sys.getrefcount(total) <= 3
            and total.flags.writeable
            and getattr(g, "shape", None) == total.shape
            and getattr(g, "dtype", None) == total.dtype
        ):
            self._np.add(total, g, out=total)
            return total
        return total + g

    def set_item(self, data: Any, key: Any, value: Any) -> Any:
        """Return a copy of ``data`` with ``data[key] = value``; ``data`` itself is never mutated.

        wrapgrad implements ``__setitem__`` as copy-on-write on the Tensor wrapper, so arrays saved for
        backward keep their values on mutable backends, and immutable backends (jax) work the same way.
        """
        if self.is_jax:
            return data.at[key].set(value)
        if WRITE_IN_PLACE.get() is data:  # proven by owned_alone for this very array (views.py): no copy
            data[key] = value
            return data
        if self.is_dask and _dask_unknown_mask_write(data, key, value):
            return _dask_set_through_mask(data, key, value)
        new = self.xp.asarray(data, copy=True)
        new[key] = value
        return new

    def owned_alone(self, data: Any, views: Iterable[Any]) -> bool:
        """True when nothing but its Tensor and the Tensors of ``views`` can see the numpy array ``data``,
        so that writing into it in place is as good as copy-on-write (the write path of ``_views.py``).

        The proof is :meth:`accumulate`'s: ``data`` owns its memory, and its references are its Tensor's
        slot, this parameter and getrefcount's own, plus one per numpy view in
        ``views`` (the ``_data`` of each live view Tensor of the base) whose only references are that
        Tensor's slot, this loop's names and getrefcount's argument. Anything else that holds the array or a
        view of it (a node that saved it for backward, a ``detach()``-ed Tensor, a user's ``np.asarray``)
        adds a reference, and the answer is False. Other backends: always False.
        """
        if not (
            _EXACT_REFCOUNTS
            and self.is_numpy
            and type(data) is self._ndarray
            and data.base is None
            and data.flags.writeable
        ):
            return False
        expected = 3  # its slot, this parameter, getrefcount's argument (tests/test_views.py checks the count)
        for view in views:
            array = view._data
            if type(array) is not self._ndarray or array.base is not data:
                continue
            # the view Tensor's slot, the local name `array`, getrefcount's argument
            if sys.getrefcount(array) > 3:
                return False
            expected += 1
        return sys.getrefcount(data) <= expected

    def is_view_of(self, view: Any, data: Any) -> bool:
        """True when ``view`` is a numpy view of the array ``data`` itself (so it shows ``data``'s values)."""
        return self.is_numpy and type(view) is self._ndarray and view.base is data

    def is_integer_scalar(self, k: Any) -> bool:
        """True for an integer index that is not an array: a Python ``int`` or a numpy integer scalar
        (numpy's basic indexing takes both, and so do wrapgrad's views)."""
        if isinstance(k, int):
            return not isinstance(k, bool)
        return self.is_numpy and isinstance(k, self._np.integer)

    def guarded_product(self, g: Any, d: Any, quotient: bool = False) -> Any:
        """``g * d`` (``g / d`` with ``quotient``), with 0 wherever ``g`` is exactly 0, also where ``d`` is infinite
        or NaN (or 0, for a quotient).

        The zero-cotangent guard of the gradient rules: ``_derivatives._times`` and ``_over`` call it, and the
        engine calls :meth:`factor_product`. A finite Python number needs no guard. numpy: 0 written into the
        product itself through a boolean mask, no second array of the product's dtype; other libraries:
        ``where`` (fused under jit).
        """
        kind = type(d)
        if (kind is float or kind is int) and math.isfinite(d) and (d != 0 or not quotient):
            return g / d if quotient else g * d
        return self._zero_where_g_is_zero(g, g / d if quotient else g * d, False)

    def factor_product(self, g: Any, d: Any, quotient: bool) -> Any:
        """:meth:`guarded_product` of ``g`` and ``conj(d)``, where ``d`` is a rule's local derivative and ``g``
        has the product's shape (``Rule.factors``: the engine's hot path).

        ``g`` is the cotangent of the op's result, to whose shape every derivative of its arguments broadcasts,
        so the guard skips its test of shapes. On numpy the common case, a small array, is written out here: the
        engine runs this for most ops of a graph.
        """
        kind = type(d)
        if kind is float or kind is int:
            if math.isfinite(d) and (d != 0 or not quotient):
                operands = self.float64_operands
                if operands is not None and kind is float and g.dtype is self.float64:
                    operand = operands.get(d)  # numpy: a Python float, the fast way
                    d = self.float64_operand(d) if operand is None else operand
                return g / d if quotient else g * d
        elif kind is complex:
            d = d.conjugate()
        elif d.dtype in self.complex_dtypes:
            d = self.xp.conj(d)
        out = g / d if quotient else g * d
        if self.is_numpy and type(out) is self._ndarray and out.size <= _GUARD_CHUNK:
            out[self._logical_not(g)] = self._zero
            return out
        return self._zero_where_g_is_zero(g, out, True)

    def float64_operand(self, x: float) -> Any:
        """The Python float ``x`` as an operand of an operation with a float64 array, on numpy: a 0-D float64
        array of its value, made once and kept in ``float64_operands``.

        numpy 2 takes its slow promotion path for a Python number (a "weak" scalar: about 140 ns more on a
        small array, half the cost of ``x * 1.01``) and its fast one for an array of the other operand's dtype;
        for a float64 array the two give the same dtype, the same loop and the same bits. ``0.0`` and ``-0.0``
        (equal as keys, different as operands) and NaN (never found again) stay Python floats; the cache is
        cleared when it reaches ``_FLOAT64_OPERANDS_MAX`` values (code that makes a new float for every op).
        The callers (the fast path, :meth:`factor_product`) look the cache up themselves and call this only on
        a miss.
        """
        operands = self.float64_operands
        assert operands is not None, "float64_operand: numpy only"
        operand = operands.get(x)
        if operand is not None:
            return operand
        if x == 0 or x != x:
            return x
        if len(operands) >= _FLOAT64_OPERANDS_MAX:
            operands.clear()
        operand = self._np.asarray(x)
        operand.flags.writeable = False
        operands[x] = operand
        return operand

    def _zero_where_g_is_zero(self, g: Any, out: Any, fits: bool) -> Any:
        """The guard itself: ``out``, a product by ``g``, with 0 wherever ``g`` is exactly 0; ``fits``: ``g`` has
        the shape of ``out``."""
        if self.is_numpy and type(out) is self._ndarray:  # out is our own new array: safe to write into
            # logical_not(g) is g == 0 (for complex g too) without a Python 0 to convert. A boolean assignment
            # costs little when no element is masked (the common case: numpy counts the mask first).
            if out.size <= _GUARD_CHUNK and (fits or g.shape == out.shape):
                out[self._logical_not(g)] = self._zero
                return out
            return self._zero_where_zero_in_numpy(g, out)
        return self.xp.where(g == 0, self.xp.zeros_like(out), out)

    def _zero_where_zero_in_numpy(self, g: Any, out: Any) -> Any:
        # The guard's other cases on numpy: a g of fewer elements than out (a masked copy broadcasts the mask),
        # and a large array, whose boolean mask would be one more temporary at the peak of backward (1/8 of a
        # float64 array): that mask is built chunk by chunk in one small buffer instead, where g and out have
        # one shape.
        np = self._np
        # out must flatten to a view (it is written into); g only read, so a 1-D g may have any strides (the
        # stride-0 broadcast of sum's cotangent, most often).
        if g.shape != out.shape or not out.flags.c_contiguous or not (g.ndim == 1 or g.flags.c_contiguous):
            self._copyto(out, 0, where=self._equal(g, 0))
            return out
        flat_g, flat_out = g.reshape(-1), out.reshape(-1)
        mask = np.empty(_GUARD_CHUNK, dtype=bool)
        size = flat_out.shape[0]
        for start in range(0, size, _GUARD_CHUNK):
            stop = min(start + _GUARD_CHUNK, size)
            chunk_mask = mask[: stop - start]
            self._equal(flat_g[start:stop], 0, out=chunk_mask)
            self._copyto(flat_out[start:stop], 0, where=chunk_mask)
        return out

    def placement(self, device: Any, obj: Any) -> Any:
        """Where ``asarray(obj, device=device)`` puts its result.

        On jax, ``device(x)`` of a sharded ``x`` is a sharding, and one that splits an axis cannot hold a
        scalar (``xp.asarray(0.0, device=device(x))``); such a value goes to the same devices, replicated,
        as ``jax.jit`` places a scalar computed from ``x``. Everything else is the device as given.
        """
        if not self.is_jax:
            return device
        spec = getattr(device, "spec", None)
        ndim = getattr(obj, "ndim", 0 if isinstance(obj, (bool, int, float, complex)) else None)
        if spec is None or ndim is None or len(spec) <= ndim:
            return device
        sharding = _module("jax.sharding")
        return sharding.NamedSharding(device.mesh, sharding.PartitionSpec())

    def vmap(self, fn: Callable[..., Any]) -> Callable[..., Any] | None:
        """``fn`` mapped over the leading axis of its arguments in one vectorized call, where the library
        has a transformation for it (``jax.vmap``); ``None`` elsewhere (callers then loop in Python).

        jacobians use it: wrapgrad's backward runs on raw arrays, so jax can batch a whole backward pass.
        """
        if self.is_jax:
            import jax

            return jax.vmap(fn)
        return None

    def scatter_add(self, values: Any, positions: Any, size: int) -> Any:
        """Sum ``values`` (1-D) into a zero vector of length ``size`` at ``positions``, duplicates added.

        ``array_api_extra.at(...).add`` keeps only one of duplicate indices on numpy and raises on
        array-api-strict, so gradients of gathers need this: library fast paths, and a portable
        segment sum (sort, cumulative_sum, searchsorted) for everything else.
        """
        xp = self.xp
        device = array_api_compat.device(values)
        if self.is_numpy:
            out = self._np.zeros(size, dtype=values.dtype)
            self._np.add.at(out, positions, values)
            return out
        if self.is_jax:
            return xp.zeros(size, dtype=values.dtype, device=device).at[positions].add(values)
        if self.is_dask:
            return _dask_scatter_add(self.xp, values, positions, size)
        order = xp.argsort(positions, stable=True)
        sorted_positions = xp.take(positions, order)
        running = xp.cumulative_sum(xp.take(values, order), include_initial=True)
        slots = xp.arange(size, dtype=positions.dtype, device=device)
        start = xp.searchsorted(sorted_positions, slots, side="left")
        stop = xp.searchsorted(sorted_positions, slots, side="right")
        return xp.take(running, stop) - xp.take(running, start)


_NAMEDTUPLES: dict[type, type] = {}


def _namedtuple_of_structseq(out: Any) -> Any:
    """A namedtuple in place of a structseq result (which names its fields only in ``__match_args__``)."""
    if isinstance(out, tuple) and not hasattr(out, "_fields") and hasattr(type(out), "n_sequence_fields"):
        kind = type(out)
        named = _NAMEDTUPLES.get(kind)
        if named is None:
            fields = kind.__match_args__  # type: ignore[attr-defined]
            named = _NAMEDTUPLES[kind] = collections.namedtuple(kind.__name__, fields, module=kind.__module__)
        return named(*out)
    return out


# Backends whose functions take numpy scalars as Python numbers (torch: as weakly typed scalars) but refuse numpy
# arrays; jax takes both (Backend.constant).
_TAKES_NUMPY_SCALARS = frozenset({"torch", "cupy"})


class _FunctionTable(dict[str, Callable[..., Any]]):
    """name -> backend function, filled on first look-up (a hit is a plain dict subscript: the funnel's path)."""

    def __init__(self, resolve: Callable[[str], Callable[..., Any]]) -> None:
        super().__init__()
        self._resolve = resolve

    def __missing__(self, name: str) -> Callable[..., Any]:
        fn = self[name] = self._resolve(name)
        return fn


# The array that the next __setitem__ of the funnel may write into in place (set by _views.py, right after
# Backend.owned_alone proved that no one else sees it). A ContextVar, so threads never see each other's.
WRITE_IN_PLACE: ContextVar[Any] = ContextVar("wrapgrad_write_in_place", default=None)
# The zero-cotangent guard (Backend.guarded_product) masks numpy arrays larger than this in chunks.
_GUARD_CHUNK = 1 << 16
# How many Python floats Backend.float64_operand keeps as 0-D arrays before it starts again.
_FLOAT64_OPERANDS_MAX = 1024

# Backend.accumulate reads reference counts to know that a buffer is the engine's alone. CPython up to 3.13
# counts every reference; 3.14 may borrow references to locals, so a count could look lower than the truth.
_EXACT_REFCOUNTS = sys.implementation.name == "cpython" and sys.version_info < (3, 14)


def _get_item(x: Any, *, key: Any) -> Any:
    return x[key]


# Positional-only spec parameters that the funnel carries as keyword params (they are not arrays, so they
# get no edge on the tape, and rules read them by name).
_POSITIONAL_PARAMS = {
    "astype": ("dtype",),
    "linalg.matrix_power": ("n",),
    "moveaxis": ("source", "destination"),
    "tile": ("repetitions",),
}
# Keyword-only spec parameters that are arrays, which the funnel carries positionally (so they get edges).
_ARRAY_KEYWORDS = {"diff": ("prepend", "append")}


def _with_positional_params(fn: Callable[..., Any], names: tuple[str, ...]) -> Callable[..., Any]:
    def call(*arrays: Any, **params: Any) -> Any:
        return fn(*arrays, *(params.pop(n) for n in names), **params)

    return call


def _with_array_keywords(fn: Callable[..., Any], names: tuple[str, ...]) -> Callable[..., Any]:
    def call(x: Any, *arrays: Any, **params: Any) -> Any:
        extra = {n: a for n, a in zip(names, arrays) if a is not None}
        return fn(x, **extra, **params)

    return call


_BACKENDS: dict[int, Backend] = {}
# How many blocks that send every call through the general funnel are open (_fast.general_funnel_only).
GENERAL_FUNNEL_ONLY = [0]


def backend_for(xp: ModuleType) -> Backend:
    """The :class:`Backend` for an array-API namespace (plain ``numpy`` means array-api-compat's)."""
    backend = _BACKENDS.get(id(xp))
    if backend is None:
        if xp.__name__ == "numpy":
            import array_api_compat.numpy as compat_numpy

            return backend_for(compat_numpy)
        backend = _BACKENDS[id(xp)] = Backend(xp)
        if backend.xp is not xp:  # a filled namespace (dask's) finds the same Backend when the rules pass it
            _BACKENDS[id(backend.xp)] = backend
    return backend


def backend_of_array(array: Any) -> Backend:
    """The :class:`Backend` of a raw array of any conforming library."""
    return backend_for(array_api_compat.array_namespace(array))


def namespace_by_name(name: str) -> ModuleType:
    """Import the array-API namespace that wrapgrad calls ``name`` ("numpy", "jax", "array_api_strict", "torch",
    "dask", "cupy"); a missing optional library raises ModuleNotFoundError with the way to install it."""
    if name == "numpy":
        import array_api_compat.numpy as compat_numpy

        return compat_numpy
    if name == "jax":
        import jax.numpy as jnp

        return jnp
    if name == "array_api_strict":
        import array_api_strict

        return array_api_strict
    if name in _COMPAT_MODULES:
        module = _COMPAT_MODULES[name]
        try:
            __import__(module)
        except ModuleNotFoundError as exc:
            # Only the library itself being absent gets the install hint; any other missing module is a real bug.
            if exc.name is None or exc.name.split(".")[0] != name:
                raise
            raise ModuleNotFoundError(
                f"wrapgrad.{name} needs {_LIBRARY_NAMES[name]}, which is not installed here: {_INSTALL_HINTS[name]}",
                name=exc.name,
            ) from exc
        return sys.modules[module]
    raise ValueError(
        f"namespace: unknown backend name {name!r} (known: numpy, jax, array_api_strict, {', '.join(_COMPAT_MODULES)})"
    )


# The libraries that wrapgrad reaches through array-api-compat, by wrapgrad's name for them, and how to get them
# when they are missing (torch: the pinned version resolves to the small CPU-only wheel on PyTorch's CPU index).
_COMPAT_MODULES = {"torch": "array_api_compat.torch", "dask": "array_api_compat.dask.array",
                   "cupy": "array_api_compat.cupy"}
_LIBRARY_NAMES = {"torch": "PyTorch (the torch package)", "dask": "dask (with dask.array)",
                  "cupy": "CuPy (the cupy package, and an NVIDIA or AMD GPU)"}
_INSTALL_HINTS = {
    "torch": "pip install torch (CPU only: pip install torch --index-url https://download.pytorch.org/whl/cpu)",
    "dask": 'pip install "dask[array]"',
    "cupy": "pip install cupy-cuda12x (match your CUDA version; see https://docs.cupy.dev/en/stable/install.html)",
}


# ======================================================================================================
# dask (array_api_compat.dask.array): the spec functions compat's dask lacks, and unknown sizes
# ======================================================================================================
# dask builds a graph and computes nothing until asked, so every fill here stays lazy: no compute, no
# value-dependent Python. dask and numpy are imported inside the functions, when a dask array is seen.


def _module(name: str) -> Any:
    # dask ships no type hints: its modules are typed Any here, so that strict mypy checks the rest.
    import importlib

    return importlib.import_module(name)


class _FilledNamespace(ModuleType):
    """A library's array-API namespace plus the functions it lacks; every other name comes from the library.

    It keeps the library's ``__name__``, so it reads as the library everywhere; ``backend_for`` maps it to
    the same :class:`Backend` as the library's own namespace.
    """

    def __init__(self, base: ModuleType, fills: dict[str, Any]) -> None:
        super().__init__(base.__name__, base.__doc__)
        self._wrapgrad_base = base
        self.__dict__.update(fills)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wrapgrad_base, name)


def _dask_namespace(compat_dask: ModuleType) -> ModuleType:
    fft = compat_dask.fft
    return _FilledNamespace(compat_dask, {
        "take_along_axis": _dask_take_along_axis,
        "broadcast_to": _dask_broadcast_to,
        "take": _dask_take,
        "tensordot": _dask_tensordot,
        "eye": _dask_eye,
        "linalg": _FilledNamespace(compat_dask.linalg, {"cholesky": _dask_cholesky}),
        "fft": _FilledNamespace(fft, {name: _DaskFFT(getattr(fft, name), name.endswith("n")) for name in (
            "fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fftn", "ifftn", "rfftn", "irfftn")}),
    })


def _dask_tensordot(x1: Any, x2: Any, /, *, axes: Any = 2) -> Any:
    compat_dask = _module("array_api_compat.dask.array")

    if not isinstance(axes, int):  # dask's tensordot gives wrong values for negative axes (dask 2026.8)
        first, second = axes
        axes = ([a % x1.ndim for a in first], [a % x2.ndim for a in second])
    return compat_dask.tensordot(x1, x2, axes=axes)


def _dask_eye(n_rows: int, n_cols: int | None = None, /, *, k: int = 0, dtype: Any = None, device: Any = None) -> Any:
    compat_dask = _module("array_api_compat.dask.array")

    if n_cols is None or n_cols == n_rows:
        return compat_dask.eye(n_rows, n_cols, k=k, dtype=dtype, device=device)
    # dask's eye of a non-square shape builds a graph with a missing block (dask 2026.8): compare indices.
    rows = compat_dask.arange(n_rows)[:, None]
    cols = compat_dask.arange(n_cols)[None, :]
    return compat_dask.astype(rows + k == cols, compat_dask.float64 if dtype is None else dtype)


def _dask_cholesky(x: Any, /, *, upper: bool = False) -> Any:
    da = _module("dask.array")

    # compat's cholesky calls dask's with its default lower=False, so it returns the upper factor for upper=False
    # (array-api-compat 1.16); ask for the lower one, and make the upper one from it as the spec says.
    lower = da.linalg.cholesky(x, lower=True)
    if not upper:
        return lower
    upper_factor = lower.T
    return da.conj(upper_factor) if da.iscomplexobj(upper_factor) else upper_factor


class _DaskFFT:
    """A dask FFT that first puts the transformed axes in one chunk each (dask refuses them split)."""

    def __init__(self, fn: Callable[..., Any], n_dimensional: bool) -> None:
        self.fn = fn
        self.n_dimensional = n_dimensional
        self.__name__ = getattr(fn, "__name__", "fft")
        self.__doc__ = fn.__doc__

    def __call__(self, x: Any, /, *args: Any, **kwargs: Any) -> Any:
        if self.n_dimensional:
            axes = kwargs.get("axes", args[1] if len(args) > 1 else None)
            s = kwargs.get("s", args[0] if args else None)
            if axes is None:
                axes = range(x.ndim) if s is None else range(x.ndim - len(s), x.ndim)
        else:
            axes = [kwargs.get("axis", args[1] if len(args) > 1 else -1)]
        x = x.rechunk({a % x.ndim: -1 for a in axes})
        return self.fn(x, *args, **kwargs)


class UnknownSize(float):
    """A dimension of unknown size (dask's ``nan``) that knows an array of that shape.

    The funnel records these in the shape stand-ins of arrays with unknown sizes, so that a rule that
    broadcasts its cotangent up to its input's shape (``sum``'s) can do it lazily, as ``g + zeros_like(x)``,
    where dask's ``broadcast_to`` refuses a shape it does not know. It is ``nan`` to everything else.
    """

    like: Any

    def __new__(cls, like: Any) -> UnknownSize:
        size = super().__new__(cls, math.nan)
        size.like = like
        return size


def is_unknown_size(n: Any) -> bool:
    """Whether a dimension is of unknown size (``None`` in the spec, ``nan`` in dask)."""
    return n is None or n != n


def shape_for_rules(array: Any) -> tuple[Any, ...]:
    """``array.shape``, with each unknown dimension an :class:`UnknownSize` that refers to ``array``."""
    return tuple(UnknownSize(array) if is_unknown_size(n) else n for n in array.shape)


def _dask_broadcast_to(x: Any, /, shape: tuple[Any, ...]) -> Any:
    compat_dask = _module("array_api_compat.dask.array")

    if not any(is_unknown_size(n) for n in shape):
        return compat_dask.broadcast_to(x, shape)
    like = next((n.like for n in shape if isinstance(n, UnknownSize)), None)
    if like is not None:  # broadcasting against a zero array of that shape keeps its (unknown) chunks
        return x + compat_dask.zeros_like(like, dtype=x.dtype)
    if x.ndim == len(shape) and all(a == b or (is_unknown_size(a) and is_unknown_size(b))
                                    for a, b in zip(x.shape, shape)):
        return x  # the same shape, as far as anything is known (nan != nan, so dask's own check refuses)
    raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}, which has dimensions of "
                     "unknown size (dask learns them only when it computes)")


def _dask_take(x: Any, indices: Any, /, *, axis: int | None = None) -> Any:
    compat_dask = _module("array_api_compat.dask.array")

    if axis is None:  # the spec allows no axis for a 1-D x; dask's take insists on one
        if x.ndim != 1:
            raise ValueError(f"take: axis is required for an array of {x.ndim} dimensions")
        axis = 0
    return compat_dask.take(x, indices, axis=axis)


def _dask_get_item(x: Any, *, key: Any) -> Any:
    """``x[key]``; for a lone boolean mask of x's shape, taken in the mask's chunks (flattened).

    dask takes ``x[mask]`` block by block, in the common refinement of x's and the mask's chunks (of their
    ravels). Taking it in the mask's own chunks gives the same values, and lets the gradient put each block
    back where it came from knowing only the mask (see _dask_set_through_mask).
    """
    mask = _lone_mask(key)
    if mask is None or mask.ndim != x.ndim or any(is_unknown_size(n) for n in (*x.shape, *mask.shape)):
        return x[key]
    flat_mask = mask.reshape(-1)
    return x.reshape(-1).rechunk(flat_mask.chunks)[flat_mask]


def _dask_take_along_axis(x: Any, indices: Any, /, *, axis: int = -1) -> Any:
    """``take_along_axis`` for dask (numpy's on each block, with ``axis`` in one chunk)."""
    da = _module("dask.array")
    import numpy as np

    axis = axis % x.ndim
    others = np.broadcast_shapes(x.shape[:axis] + x.shape[axis + 1:], indices.shape[:axis] + indices.shape[axis + 1:])
    x = da.broadcast_to(x, others[:axis] + (x.shape[axis],) + others[axis:])
    indices = da.broadcast_to(indices, others[:axis] + (indices.shape[axis],) + others[axis:])
    x = x.rechunk({axis: -1})
    indices = indices.rechunk(tuple(-1 if i == axis else c for i, c in enumerate(x.chunks)))
    # Both have ``axis`` in one chunk; x's gets its own index letter, as it may differ in size from indices'.
    out_index = tuple(range(x.ndim))
    x_index = tuple(-1 if i == axis else i for i in out_index)
    return da.blockwise(_take_along_block, out_index, x, x_index, indices, out_index, axis=axis, dtype=x.dtype,
                        concatenate=True, meta=x._meta)


def _take_along_block(x: Any, indices: Any, axis: int) -> Any:
    return array_api_compat.array_namespace(x).take_along_axis(x, indices, axis=axis)


def _dask_scatter_add(xp: Any, values: Any, positions: Any, size: int) -> Any:
    da = _module("dask.array")

    if positions.chunks != values.chunks:  # bincount wants them chunked alike
        positions = positions.rechunk(values.chunks)

    def bincount(weights: Any) -> Any:
        return xp.astype(da.bincount(positions, weights=weights, minlength=size), values.dtype)

    if xp.isdtype(values.dtype, "complex floating"):  # bincount's weights are real
        return bincount(xp.real(values)) + 1j * bincount(xp.imag(values))
    return bincount(values)


def _lone_mask(key: Any) -> Any:
    """The boolean dask array that ``key`` is (alone, or alone in a tuple), else None."""
    if isinstance(key, tuple) and len(key) == 1:
        key = key[0]
    dtype = getattr(key, "dtype", None)
    if dtype is not None and getattr(dtype, "kind", None) == "b" and hasattr(key, "to_delayed"):
        return key
    return None


def _dask_unknown_mask_write(data: Any, key: Any, value: Any) -> bool:
    return (_lone_mask(key) is not None and hasattr(value, "to_delayed")
            and any(is_unknown_size(n) for n in value.shape))


def _dask_set_through_mask(data: Any, key: Any, value: Any) -> Any:
    """``data`` with ``data[mask] = value``, where ``value`` has the unknown size of ``data[mask]``.

    dask cannot write an array of unknown size (it checks the shape first), but ``x[mask]`` is taken block by
    block: block ``k`` of the result is ``x``'s block ``k`` (C order) under the mask's block ``k``. So the write
    goes back the same way, one task per block, and stays lazy: the gradient of ``x[mask]`` is this scatter.
    """
    dask = _module("dask")
    da = _module("dask.array")
    import numpy as np

    mask = _lone_mask(key)
    if mask.ndim == data.ndim and tuple(mask.shape) == tuple(data.shape):
        if mask.ndim > 1:  # taken flat, in the flattened mask's chunks (_dask_get_item): put back the same way
            flat_mask = mask.reshape(-1)
            flat = _dask_set_through_mask(data.reshape(-1).rechunk(flat_mask.chunks), flat_mask, value)
            return flat.reshape(data.shape)
        data = data.rechunk(mask.chunks)
    elif mask.ndim == 1 and data.ndim > 1 and mask.shape[0] == data.shape[0] and value.ndim == data.ndim:
        data = data.rechunk((mask.chunks[0], *value.chunks[1:]))
    else:
        raise ValueError(f"__setitem__: dask cannot write a value of unknown shape {value.shape} through a mask of "
                         f"shape {mask.shape} into an array of shape {data.shape}")
    # One value block per data block. dask took x[mask] in the common refinement of x's and the mask's
    # chunks, which has as many blocks as the mask's only if it is the mask's: equal counts mean equal blocks.
    value_blocks = value.to_delayed()
    if value_blocks.shape != data.numblocks:
        raise ValueError(f"__setitem__: a value of shape {value.shape} in {value_blocks.shape} chunks does not come "
                         f"from this mask (chunks {data.numblocks}); rechunk neither x nor the mask before x[mask]")
    data_blocks, mask_blocks = data.to_delayed(), mask.to_delayed()
    place = dask.delayed(_place_block, pure=True)
    blocks = np.empty(data.numblocks, dtype=object)
    for index in np.ndindex(*data.numblocks):
        block_shape = tuple(c[i] for c, i in zip(data.chunks, index))
        placed = place(data_blocks[index], mask_blocks[index[:mask.ndim]], value_blocks[index])
        blocks[index] = da.from_delayed(placed, block_shape, dtype=data.dtype, meta=data._meta)
    return da.block(blocks.tolist())


def _place_block(block: Any, mask: Any, values: Any) -> Any:
    out = block.copy()
    out[mask] = values
    return out


# ======================================================================================================
# Special functions (the ``special`` extension): each library's own, imported on first use
# ======================================================================================================
# scipy.special on numpy (and on array-api-strict's numpy buffer, converted there and back),
# jax.scipy.special on jax (so jax.jit traces it), torch.special on torch. A name the library lacks falls
# back to SciPy: on jax through jax.pure_callback (still traceable under jax.jit and vmap, computed on the
# host), on torch on the CPU tensor's memory (a tensor on another device gets an error naming the function
# and the device). Other backends get an error naming the function and the backend. Nothing here imports
# scipy, jax or torch before a special function of theirs is first called.

# The names that wrapgrad.special defines beyond SciPy's dispatch list, because a derivative needs them
# (ellipk's needs ellipe) or SciPy exports them under a second name (digamma = psi).
SPECIAL_HELPERS = ("digamma", "ellipe")
# The library's own name where it differs from SciPy's.
_JAX_SPECIAL_NAMES = {"psi": "digamma"}
_TORCH_SPECIAL_NAMES = {
    "j0": "bessel_j0", "j1": "bessel_j1", "y0": "bessel_y0", "y1": "bessel_y1", "k0": "modified_bessel_k0",
    "k1": "modified_bessel_k1", "k0e": "scaled_modified_bessel_k0", "k1e": "scaled_modified_bessel_k1",
}
_PYTHON_SCALARS = (bool, int, float, complex)


class SpecialFunctions:
    """The special functions of one backend on its raw arrays: ``backend.special.erf(raw_array)``.

    Each function is looked up on first use and then kept as an attribute, so a later look-up is a plain
    attribute read. Gradient rules reach these through ``wrapgrad._rules_special.special_of(xp)``.
    """

    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        fn = _special_function(self._backend, name)
        setattr(self, name, fn)
        return fn


def _special_function(backend: Backend, name: str) -> Callable[..., Any]:
    from ._special_names import FUNCTIONS

    if name not in FUNCTIONS and name not in SPECIAL_HELPERS:
        raise AttributeError(f"special.{name}: not a special function of wrapgrad")
    if backend.is_numpy:
        return _scipy_special(name)
    if backend.name == "array_api_strict":
        return _strict_special(backend, name)
    if backend.is_jax:
        return _jax_special(name)
    if backend.name == "torch":
        return _torch_special(name)

    def unavailable(*args: Any, **params: Any) -> Any:
        raise NotImplementedError(
            f"special.{name}: wrapgrad knows no special-function library for the backend {backend.name} "
            f"(it uses scipy.special on numpy and array-api-strict, jax.scipy.special on jax, torch.special on "
            f"torch); compute it on one of those, or wrap your own in a custom_vjp"
        )

    return unavailable


def _scipy_special(name: str) -> Callable[..., Any]:
    """SciPy's function on numpy arrays.

    With ``SCIPY_ARRAY_API=1``, ``scipy.special.erf`` is a Python wrapper that looks up the namespace of its
    arguments on every call; the ufunc underneath (``scipy.special._ufuncs.erf``) is what it ends up calling
    on numpy, so call that directly where there is one.
    """
    import numpy as np
    import scipy.special  # type: ignore[import-untyped]
    from scipy.special import _ufuncs

    fn = getattr(_ufuncs, "psi" if name == "digamma" else name, None)
    if isinstance(fn, np.ufunc):
        return fn
    public: Callable[..., Any] = getattr(scipy.special, name)
    return public


def _strict_special(backend: Backend, name: str) -> Callable[..., Any]:
    """SciPy's function on array-api-strict's arrays: their numpy buffer, and the result back on their device."""
    import numpy as np

    fn = _scipy_special(name)
    xp = backend.xp

    def call(*args: Any, **params: Any) -> Any:
        device = next((a.device for a in args if a is not None and not isinstance(a, _PYTHON_SCALARS)), None)
        values = [a if a is None or isinstance(a, _PYTHON_SCALARS) else np.from_dlpack(a) for a in args]
        return xp.asarray(np.asarray(fn(*values, **params)), device=device)

    return call


def _jax_special(name: str) -> Callable[..., Any]:
    import jax.scipy.special

    native = getattr(jax.scipy.special, _JAX_SPECIAL_NAMES.get(name, name), None)
    if native is None:
        return _jax_host_callback(name)
    if name == "zeta":  # jax has only the Hurwitz zeta: the Riemann one (q=None) is SciPy's, on the host
        host_zeta = _jax_host_callback(name)
        return lambda x, q: host_zeta(x, q) if q is None else native(x, q)
    jax_function: Callable[..., Any] = native
    return jax_function


def _jax_host_callback(name: str) -> Callable[..., Any]:
    """SciPy's function called from jax through ``jax.pure_callback``: it traces under ``jax.jit`` and
    ``jax.vmap`` (all the functions are element-wise), and runs on the host."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    fn = _scipy_special(name)

    def call(*args: Any, **params: Any) -> Any:
        arrays = [i for i, a in enumerate(args) if a is not None and not isinstance(a, _PYTHON_SCALARS)]
        shape = jnp.broadcast_shapes(*(jnp.shape(args[i]) for i in arrays))
        dtype = jnp.result_type(*(a for a in args if a is not None), 0.0)  # 0.0: integers give floats

        def on_host(*values: Any) -> Any:
            full = list(args)
            for i, v in zip(arrays, values):
                full[i] = np.asarray(v)
            return np.asarray(fn(*full, **params), dtype=dtype)

        result = jax.ShapeDtypeStruct(shape, dtype)  # type: ignore[no-untyped-call]
        return jax.pure_callback(on_host, result, *(args[i] for i in arrays),
                                 vmap_method="broadcast_all")

    return call


def _torch_special(name: str) -> Callable[..., Any]:
    import torch

    native = getattr(torch.special, _TORCH_SPECIAL_NAMES.get(name, name), None)
    fallback = _torch_scipy_fallback(name)
    if native is None:
        return fallback
    if name == "polygamma":  # torch's order is one Python int
        return lambda n, x: native(n, _torch_tensor(x, x)) if isinstance(n, int) else fallback(n, x)
    if name == "multigammaln":
        return lambda a, *, d: native(a, d)
    if name == "zeta":  # torch has only the Hurwitz zeta: the Riemann one (q=None) is SciPy's
        return lambda x, q: fallback(x, q) if q is None else native(*_torch_tensors(x, q))
    return lambda *args: native(*_torch_tensors(*args))


def _torch_tensors(*args: Any) -> list[Any]:
    like = next((a for a in args if not isinstance(a, _PYTHON_SCALARS)), None)
    return [_torch_tensor(a, like) for a in args]


def _torch_tensor(value: Any, like: Any) -> Any:
    """A Python scalar as a tensor beside ``like`` (most torch.special functions take tensors only)."""
    if not isinstance(value, _PYTHON_SCALARS):
        return value
    import torch

    if like is None:
        return torch.as_tensor(value, dtype=torch.get_default_dtype())
    dtype = like.dtype if like.dtype.is_floating_point or like.dtype.is_complex else torch.get_default_dtype()
    return torch.as_tensor(value, dtype=dtype, device=like.device)


def _torch_scipy_fallback(name: str) -> Callable[..., Any]:
    """SciPy's function on the memory of CPU tensors, for a name torch.special lacks."""
    import numpy as np
    import torch

    fn = _scipy_special(name)

    def to_numpy(a: Any) -> Any:
        if a is None or isinstance(a, _PYTHON_SCALARS):
            return a
        if a.device.type != "cpu":
            raise NotImplementedError(
                f"special.{name}: torch.special has no {name}, and wrapgrad's fallback (SciPy) needs CPU tensors, "
                f"got one on {a.device}; move the input with .to_device('cpu')"
            )
        return a.detach().numpy()

    def call(*args: Any, **params: Any) -> Any:
        return torch.from_numpy(np.asarray(fn(*(to_numpy(a) for a in args), **params)))

    return call
