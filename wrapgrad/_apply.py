"""The funnel: every operation on Tensors goes through :func:`apply`."""

from __future__ import annotations

from typing import Any

import array_api_compat

from ._backend import Backend, backend_of_array
from ._derivatives import RULES
from ._grad_mode import _GRAD_ENABLED
from ._graph import ANOMALY, ArgMeta, Node, new_node
from ._tensor import Tensor, new_result

__all__ = ["apply", "apply_untracked"]

_SCALARS = (bool, int, float, complex)
_SCALAR_TYPES = frozenset(_SCALARS)
_make = Tensor._make  # bound once: the funnel calls it for every result
# ArgMeta from a (shape, dtype) pair without NamedTuple's Python-level __new__ (half the cost).
_arg_meta = tuple.__new__


def apply(name: str, *args: Any, **params: Any) -> Any:
    """Run the backend's ``name`` on the arrays of ``args`` and record it when a gradient may be needed.

    ``args`` are the operation's array arguments, positionally (Tensors, raw arrays of the same library, or
    Python scalars; ``None`` for an absent optional array); ``params`` are everything else and are passed
    to the backend and to the gradient rule by keyword. A node is recorded when grad mode is on, an
    argument requires grad and a result is floating or complex.
    """
    backend: Backend | None = None
    datas = []
    tracked = raw = False
    for a in args:
        if type(a) is Tensor or isinstance(a, Tensor):
            if backend is None:
                backend = a._backend
            elif a._backend is not backend:
                raise TypeError(
                    f"{name}: arguments come from different array libraries ({backend.name}, {a._backend.name})"
                )
            datas.append(a._data)
            if a._requires_grad:
                tracked = True
        else:
            datas.append(a)
            # An exact type check: numpy's float64 subclasses float, and goes to Backend.constant like its kin.
            if a is not None and type(a) not in _SCALAR_TYPES:
                raw = True
    if backend is None:
        raise TypeError(f"{name}: expected at least one wrapgrad Tensor argument, got {_type_names(args)}")
    if raw:
        datas = _raw_arguments(name, backend, args, datas)

    try:
        out = backend.functions[name](*datas, **params)
    except Exception as exc:
        _raise_if_foreign_arrays(name, backend, params, exc)
        _raise_if_mixed_devices(name, [*datas, *params.values()], exc)
        raise
    if type(out) is not backend.array_type and backend.normalize is not None:
        out = backend.normalize(out)
    if tracked and _GRAD_ENABLED.get():
        return _record(name, backend, args, datas, params, out)
    if type(out) is backend.array_type:  # the common result, wrapped without a call to _wrap
        return _make(out, backend, None, 0)
    return _wrap(out, backend)


def apply_untracked(name: str, *args: Any, **params: Any) -> Any:
    """Like :func:`apply`, but never records: for results that do not depend on the input's values
    (``zeros_like``) and for non-differentiable results of differentiable inputs."""
    token = _GRAD_ENABLED.set(False)
    try:
        return apply(name, *args, **params)
    finally:
        _GRAD_ENABLED.reset(token)


def _record(name: str, backend: Backend, args: tuple[Any, ...], datas: list[Any], params: dict[str, Any],
            out: Any) -> Any:
    multi = type(out) is not backend.array_type and isinstance(out, (tuple, list))
    differentiable = backend.differentiable_dtypes
    if multi:
        if not any(getattr(o, "dtype", None) in differentiable for o in out):
            return _wrap(out, backend)
    elif out.dtype not in differentiable:
        return _make(out, backend, None, 0)

    rule = RULES.get(name)
    # The edges, split into targets and output numbers (see Node); nrs only when some output_nr is not 0.
    targets: list[Any] = []
    other_outputs = False  # some argument is output 1, 2 ... of a multi-output node (rare)
    for a in args:
        if (type(a) is Tensor or isinstance(a, Tensor)) and a._requires_grad:
            node = a._node
            if node is None:
                targets.append(a)
            else:
                targets.append(node)
                if a._output_nr:
                    other_outputs = True
        else:  # needs no gradient: a constant Tensor, a raw array constant, a Python scalar or None
            targets.append(None)
    nrs = None
    if other_outputs:
        nrs = tuple(0 if t is None or t is a else a._output_nr for t, a in zip(targets, args))
    meta: tuple[Any, ...] | None
    if rule is None or rule.uses_args:
        # The rule gets the arguments themselves, and backward reads their shapes and dtypes from them. A
        # tuple, not the list: a tuple of arrays and scalars is one object less for the cyclic GC to walk.
        saved, meta = tuple(datas), None
    else:
        # Keep only the shape and dtype of every array argument, not only of those that get a gradient: a
        # rule registered with uses_args=False (concat's) reads the shapes of its constant arguments too.
        saved = None
        try:
            meta = stand_ins_of_one(rule, datas[0], out) if len(datas) == 1 else shared_arg_metas(datas)
        except TypeError:  # an unhashable shape or dtype
            meta = tuple([None if (shape := getattr(d, "shape", None)) is None else _arg_meta(ArgMeta, (shape, d.dtype))
                          for d in datas])
    if backend.unknown_shapes:
        meta = _check_unknown_shapes(name, datas, params, out, meta)
    keeps_ans = rule is not None and rule.uses_ans
    if not multi:
        result = new_result(out, name, backend, rule, targets, nrs, meta, saved, out if keeps_ans else None, params)
        if ANOMALY.on:
            _anomaly_check(result._node, out, datas)  # type: ignore[arg-type]
        return result
    node = new_node(name, backend, rule, targets, nrs, meta, saved, out if keeps_ans else None, params, len(out),
                    multi)
    if ANOMALY.on:
        _anomaly_check(node, out, datas)
    results = [
        _make(o, backend, node, i) if o.dtype in differentiable else _make(o, backend, None, 0)
        for i, o in enumerate(out)
    ]
    return _as_type_of(out, results)


# The ArgMeta stand-ins of a node, as one tuple shared by all the nodes whose array arguments have the same
# shapes and dtypes: an ArgMeta is a tuple subclass, which the cyclic GC never untracks, so a tuple of them
# would be one more object per node for every collection to walk. Keyed by ``(shape, id(dtype))`` per array
# argument (None for a scalar): dtypes of two libraries can collide in a hash, and comparing them warns
# (array-api-strict); the entry's ArgMetas keep the dtypes alive, so their ids are not reused meanwhile.
# Bounded: cleared when it grows past _ARG_METAS_MAX (dask's unknown-size shapes hold nan, which never compares
# equal, so they always miss).
_ARG_METAS: dict[tuple[Any, ...], tuple[ArgMeta | None, ...]] = {}
_ARG_META: dict[tuple[Any, int], ArgMeta] = {}  # and each ArgMeta itself shared, by (shape, id(dtype))
_ARG_METAS_OF_ONE: dict[tuple[Any, int], tuple[ArgMeta | None, ...]] = {}  # _ARG_METAS[(key,)] by key
_ARG_METAS_MAX = 4096


def shared_arg_metas(datas: Any) -> tuple[ArgMeta | None, ...]:
    """The shared tuple of ArgMeta stand-ins of ``datas`` (arrays and scalars), made on a miss."""
    key = tuple([None if (shape := getattr(d, "shape", None)) is None else (shape, id(d.dtype)) for d in datas])
    return _ARG_METAS.get(key) or _new_arg_metas(key, datas)


def shared_arg_metas_of_one(d: Any) -> tuple[ArgMeta | None, ...]:
    """:func:`shared_arg_metas` of ``(d,)``, an array: the same tuple, without the loop (the fast path's), found
    by a flat key of its own (one tuple to build and hash, not two)."""
    key = (d.shape, id(d.dtype))
    metas = _ARG_METAS_OF_ONE.get(key)
    if metas is None:
        metas = _ARG_METAS_OF_ONE[key] = shared_arg_metas((d,))
    return metas


def stand_ins_of_one(rule: Any, data: Any, out: Any) -> tuple[Any, ...]:
    """The shape stand-ins of ``data``, the one array argument of a rule that reads only its shape and dtype.

    An element-wise rule that keeps its result (``exp``, ``tanh``: ``uses_ans``, given by derivatives) has that
    result at hand, of the argument's shape, and of its dtype where the two dtypes are equal: the result itself
    stands in, for nothing more than the tuple (the node keeps it anyway, as ``ans``). Otherwise the
    shared ArgMeta tuple, from a lookup that costs five times as much on small arrays.
    ``tests/test_engine.py`` checks that such rules read nothing but the shape and dtype of their argument.
    """
    if rule.uses_ans and rule.factors is not None and (out.dtype is data.dtype or out.dtype == data.dtype):
        return (out,)
    return shared_arg_metas_of_one(data)


def shared_arg_metas_of_two(d1: Any, d2: Any, numbers: int) -> tuple[ArgMeta | None, ...]:
    """:func:`shared_arg_metas` of ``(d1, d2)``, the fast path's: two arrays (``numbers`` 0), or an array and a
    Python number (``numbers`` 2: ``d2`` is the number, 1: ``d1`` is).

    Found by the shapes alone, in a table of its own that remembers the dtypes last seen with them and is
    checked by identity: a shape is a tuple that numpy makes anew for every ``.shape``, and hashing it with an
    ``id(dtype)`` in a key of nested tuples costs twice as much (a sixth of ``y + 0.1``).
    """
    if numbers == 0:
        dtype1, dtype2 = d1.dtype, d2.dtype
        key: Any = (d1.shape, d2.shape)
    elif numbers == 2:
        dtype1 = dtype2 = d1.dtype
        key = d1.shape
    else:
        dtype1 = dtype2 = d2.dtype
        key = (None, d2.shape)
    entry = _ARG_METAS_OF_TWO.get(key)
    if entry is not None and entry[0] is dtype1 and entry[1] is dtype2:
        return entry[2]
    metas = shared_arg_metas((d1, d2))  # (which clears this table too, with its own)
    if len(_ARG_METAS_OF_TWO) >= _ARG_METAS_MAX:
        _ARG_METAS_OF_TWO.clear()
    _ARG_METAS_OF_TWO[key] = (dtype1, dtype2, metas)
    return metas


# shared_arg_metas_of_two's table: (d1's shape, d2's shape), d1's shape alone when d2 is a number, or (None, d2's
# shape) when d1 is, to the dtypes last seen with them (kept alive here, so identity is a safe test) and their
# shared tuple. A shape seen with other dtypes replaces the entry.
_ARG_METAS_OF_TWO: dict[Any, tuple[Any, Any, tuple[ArgMeta | None, ...]]] = {}


def _new_arg_metas(key: tuple[Any, ...], datas: Any) -> tuple[ArgMeta | None, ...]:
    if len(_ARG_METAS) >= _ARG_METAS_MAX:
        _ARG_METAS.clear()
        _ARG_META.clear()
        _ARG_METAS_OF_ONE.clear()
        _ARG_METAS_OF_TWO.clear()  # (its tuples would keep ArgMetas that a new lookup no longer finds)
    metas = _ARG_METAS[key] = tuple([None if k is None else _ARG_META.get(k) or _ARG_META.setdefault(
        k, _arg_meta(ArgMeta, (k[0], d.dtype))) for k, d in zip(key, datas)])
    return metas


# Rules that read no sizes from shapes, so they run on arrays whose sizes are unknown until computed (dask after
# a boolean mask): the element-wise ones and these. Filled on first use (_elementwise imports this module).
_SHAPE_FREE_RULES: set[str] = set()
_SHAPE_FREE_OTHERS = ("sum", "where", "astype", "broadcast_to", "_times", "_over")  # _times, _over: the guards


def _check_unknown_shapes(name: str, datas: list[Any], params: dict[str, Any], out: Any,
                          meta: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
    """Refuse, when it is recorded, an op whose gradient could not run on arrays of unknown size.

    Without this, backward would fail inside dask (``cannot broadcast shape (nan,) to shape (nan,)``) or a
    rule would divide by a size of ``nan``. What is allowed records shape stand-ins that can broadcast lazily.
    """
    from ._backend import is_unknown_size, shape_for_rules

    arrays = [d for d in datas if hasattr(d, "shape")]
    results = list(out) if isinstance(out, (tuple, list)) else [out]
    unknown = next((a.shape for a in [*arrays, *results] if any(is_unknown_size(n) for n in a.shape)), None)
    if unknown is None:
        return meta
    if not _SHAPE_FREE_RULES:
        from . import _elementwise

        _SHAPE_FREE_RULES.update(_elementwise.__all__, _SHAPE_FREE_OTHERS)
    # x[mask] of an x of known shape: its gradient writes g back through the mask, block by block; and that
    # write (x[mask] = value, recorded when create_graph differentiates a gradient) reads value back as g[mask].
    masked = (name in ("__getitem__", "__setitem__") and not any(is_unknown_size(n) for n in datas[0].shape)
              and _is_lone_boolean_key(params.get("key")))
    if not masked and name not in _SHAPE_FREE_RULES:
        raise ValueError(
            f"{name}: no gradient through an array of unknown shape {unknown} (its size is known only when it is "
            "computed, as after a boolean mask, nonzero or unique_*). Keep shapes known for the gradient, e.g. "
            "xp.where(mask, x, 0) instead of x[mask], or compute the sizes first (dask: compute_chunk_sizes()) "
            "and wrap the result again; or record this op under no_grad()"
        )
    if meta is None:
        return None
    return tuple(m if m is None or not any(is_unknown_size(n) for n in m.shape)
                 else _arg_meta(ArgMeta, (shape_for_rules(d), m.dtype)) for m, d in zip(meta, datas))


def _is_lone_boolean_key(key: Any) -> bool:
    if isinstance(key, tuple) and len(key) == 1:
        key = key[0]
    dtype = getattr(key, "dtype", None)
    return dtype is not None and getattr(dtype, "kind", None) == "b"


def _anomaly_check(node: Node, out: Any, datas: list[Any]) -> None:
    from ._anomaly import record_forward

    record_forward(node, out, datas)


def _wrap(out: Any, backend: Backend) -> Any:
    if isinstance(out, (tuple, list)):
        return _as_type_of(out, [_make(o, backend, None, 0) for o in out])
    return _make(out, backend, None, 0)


def _as_type_of(out: Any, items: list[Any]) -> Any:
    if hasattr(out, "_fields"):  # a namedtuple result such as eigh's or unique_all's
        return type(out)(*items)
    return tuple(items)


def _raw_arguments(name: str, backend: Backend, args: tuple[Any, ...], datas: list[Any]) -> list[Any]:
    """Raw arrays may join Tensors as constants: those of the same library, and those of another library that
    the backend itself accepts, converted once here (``Backend.constant``); anything else is a clear error."""
    for i, a in enumerate(args):
        if a is None or type(a) in _SCALAR_TYPES or isinstance(a, Tensor):
            continue
        if isinstance(a, _SCALARS) and not array_api_compat.is_array_api_obj(a):
            continue  # a subclass of a Python number that is no array (an IntEnum): a scalar as before
        datas[i] = backend.constant(name, a)
    return datas


def _raise_if_foreign_arrays(name: str, backend: Backend, params: dict[str, Any], exc: Exception) -> None:
    """When the backend refused, and a parameter (an index key) holds an array of another library, say so.

    Array arguments were checked before the call; a key is not. The backend's own message is often about
    something else (array-api-strict says the arrays "are on different devices" for a numpy index). Checked
    only after the backend raised, so a backend that accepts such a key (jax takes numpy indices) keeps
    doing so, and the common path pays nothing.
    """
    for param, value in params.items():
        for item in value if isinstance(value, tuple) else (value,):
            if item is None or isinstance(item, (*_SCALARS, str, slice, type(Ellipsis))) or not hasattr(item, "shape"):
                continue
            try:
                other = backend_of_array(item)
            except TypeError:
                continue
            if other is not backend:
                what = "the index" if param == "key" else f"{param!r}"
                raise TypeError(
                    f"{name}: {what} is an array of another library ({other.name}) than the tensor's "
                    f"({backend.name}); make it with the tensor's namespace, e.g. xp.asarray(...)"
                ) from exc


def _raise_if_mixed_devices(name: str, values: list[Any], exc: Exception) -> None:
    """When the backend refused arrays from different devices, say so in wrapgrad's words.

    ``values`` are the array arguments and the params (an indexing key may hold arrays too).

    The check runs only after the backend has raised, so the common path pays nothing, and a backend that
    does combine devices (torch with a CPU 0-D tensor) keeps doing so. array-api-strict's own messages do
    not always name the operation ("concat inputs must all be on the same device" for stack).
    """
    devices: list[Any] = []
    flat: list[Any] = []
    for v in values:
        flat.extend(v if isinstance(v, (tuple, list)) else (v,))
    for d in flat:
        if d is None or isinstance(d, (*_SCALARS, str, slice)) or not hasattr(d, "shape"):
            continue
        try:
            device = array_api_compat.device(d)
        except Exception:  # not an array: nothing to compare
            continue
        if not any(device == seen for seen in devices):
            devices.append(device)
    if len(devices) > 1:
        listed = ", ".join(str(d) for d in devices)
        raise ValueError(
            f"{name}: arguments are on different devices ({listed}); move them to one device with .to_device()"
        ) from exc


def _type_names(args: tuple[Any, ...]) -> str:
    return "(" + ", ".join(type(a).__name__ for a in args) + ")"
