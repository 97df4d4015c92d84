"""What wrapgrad knows about particular array libraries.

This is the only module that may name a library (numpy, jax, array-api-strict): everything else speaks
the array API through a :class:`Backend`. Optional libraries are imported here only when an array of
theirs is seen or their namespace is asked for, never at ``import wrapgrad``.
"""

from __future__ import annotations

import collections
import sys
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from types import ModuleType
from typing import Any

import array_api_compat

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
        self.differentiable_dtypes = frozenset(info.dtypes(kind=("real floating", "complex floating")).values())
        self.complex_dtypes = frozenset(info.dtypes(kind="complex floating").values())
        # The backend's function for each spec name, resolved on first use: ``backend.functions["sin"]``.
        self.functions = _FunctionTable(self._resolve)
        self.namespace: ModuleType | None = None  # wrapgrad's module for this backend, set by _namespace
        self.is_numpy = self.name == "numpy"
        self.is_jax = self.name == "jax"
        if self.is_numpy:
            import numpy as np

            self._ndarray = np.ndarray
            self._generic = np.generic
            self._np = np
            self._copyto: Callable[..., Any] = np.copyto  # the zero-cotangent guard's fast path (times, over)
            self._equal: Callable[..., Any] = np.equal
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
            return _get_item
        if name == "__setitem__":
            return lambda x, value, *, key: self.set_item(x, key, value)
        if name == "to_device":  # to_device(x, device, /, stream=None): device is positional-only
            return _with_positional_params(array_api_compat.to_device, ("device",))
        if name == "_scatter_add":
            return lambda values, positions, *, size: self.scatter_add(values, positions, size)
        if name == "_times":  # the zero-cotangent guards of the rule table, recorded under create_graph
            return self.times
        if name == "_over":
            return self.over
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
        that owns its data and is referenced only by the buffer and this call (a view of it, or the same
        array handed to a second input, as ``add``'s rule does, holds a reference too). It saves one array
        at the peak of backward wherever a tensor is used twice; immutable and other backends add.
        """
        if (
            _EXACT_REFCOUNTS
            and self.is_numpy
            and type(total) is self._ndarray
            and total.base is None
            # the buffer's entry, the engine's local name, this parameter and getrefcount's own argument
            and sys.getrefcount(total) <= 4
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
    def times(self, g: Any, d: Any) -> Any:
        """``g * d``, with 0 wherever ``g`` is exactly 0, also where ``d`` is infinite or NaN.

        The zero-cotangent guard of the gradient rules (``_derivatives._times``). numpy: a masked copy of 0
        into the product itself (``copyto(where=)``), no second array; other libraries: ``where`` (fused
        under jit).
        """
        out = g * d
        if self.is_numpy and type(out) is self._ndarray:  # out is this call's own array: safe to write into
            if out.size > _GUARD_CHUNK:
                return self._zero_where_zero_in_chunks(g, out)
            self._copyto(out, 0, where=self._equal(g, 0))
            return out
        return self.xp.where(g == 0, self.xp.zeros_like(out), out)

    def over(self, g: Any, d: Any) -> Any:
        """``g / d``, with 0 wherever ``g`` is exactly 0, also where ``d`` is 0, infinite or NaN."""
        out = g / d
        if self.is_numpy and type(out) is self._ndarray:
            if out.size > _GUARD_CHUNK:
                return self._zero_where_zero_in_chunks(g, out)
            self._copyto(out, 0, where=self._equal(g, 0))
            return out
        return self.xp.where(g == 0, self.xp.zeros_like(out), out)

    def _zero_where_zero_in_chunks(self, g: Any, out: Any) -> Any:
        # A boolean mask of a large array is one more temporary at the peak of backward (1/8 of a float64
        # array): build it chunk by chunk in one small buffer instead, where g and out have one shape.
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
# The zero-cotangent guard (Backend.times, Backend.over) masks numpy arrays larger than this in chunks.
_GUARD_CHUNK = 1 << 16

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


def backend_for(xp: ModuleType) -> Backend:
    """The :class:`Backend` for an array-API namespace (plain ``numpy`` means array-api-compat's)."""
    backend = _BACKENDS.get(id(xp))
    if backend is None:
        if xp.__name__ == "numpy":
            import array_api_compat.numpy as compat_numpy

            return backend_for(compat_numpy)
        backend = _BACKENDS[id(xp)] = Backend(xp)
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
