"""The funnel: every operation on Tensors goes through :func:`apply`."""

from __future__ import annotations

from typing import Any

import array_api_compat

from ._backend import Backend, backend_of_array
from ._derivatives import RULES
from ._grad_mode import _GRAD_ENABLED
from ._graph import ANOMALY, ArgMeta, Edge, Node
from ._tensor import Tensor

__all__ = ["apply", "apply_untracked"]

_SCALARS = (bool, int, float, complex)
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
            if a is not None and not isinstance(a, _SCALARS):
                raw = True
    if backend is None:
        raise TypeError(f"{name}: expected at least one wrapgrad Tensor argument, got {_type_names(args)}")
    if raw:
        _check_raw_arguments(name, backend, args)

    try:
        out = backend.functions[name](*datas, **params)
    except Exception as exc:
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
    edges: list[Edge | None] = []
    for a in args:
        if type(a) is Tensor or isinstance(a, Tensor):
            if not a._requires_grad:
                edges.append(None)
            else:
                node = a._node
                edges.append((a, 0) if node is None else (node, a._output_nr))
        else:  # a raw array constant, a Python scalar or None
            edges.append(None)
    if rule is None or rule.uses_args:
        # The rule gets the arguments themselves, and backward reads their shapes and dtypes from them.
        saved, meta = datas, None
    else:
        # Keep only the shape and dtype of every array argument, not only of those that get a gradient: a
        # rule registered with uses_args=False (concat's) reads the shapes of its constant arguments too.
        saved = None
        meta = [None if (shape := getattr(d, "shape", None)) is None else _arg_meta(ArgMeta, (shape, d.dtype))
                for d in datas]
    if backend.unknown_shapes:
        meta = _check_unknown_shapes(name, datas, params, out, meta)
    node = Node(name, backend, rule, tuple(edges), meta, saved, out if rule is not None and rule.uses_ans else None,
                params, len(out) if multi else 1, multi)
    if ANOMALY.on:
        _anomaly_check(node, out, datas)
    if not multi:
        return _make(out, backend, node, 0)
    results = [
        _make(o, backend, node, i) if o.dtype in differentiable else _make(o, backend, None, 0)
        for i, o in enumerate(out)
    ]
    return _as_type_of(out, results)


# Rules that read no sizes from shapes, so they run on arrays whose sizes are unknown until computed (dask after
# a boolean mask): the element-wise ones and these. Filled on first use (_elementwise imports this module).
_SHAPE_FREE_RULES: set[str] = set()
_SHAPE_FREE_OTHERS = ("sum", "where", "astype", "broadcast_to")


def _check_unknown_shapes(name: str, datas: list[Any], params: dict[str, Any], out: Any,
                          meta: list[Any] | None) -> list[Any] | None:
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
    return [m if m is None or not any(is_unknown_size(n) for n in m.shape)
            else _arg_meta(ArgMeta, (shape_for_rules(d), m.dtype)) for m, d in zip(meta, datas)]


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


def _check_raw_arguments(name: str, backend: Backend, args: tuple[Any, ...]) -> None:
    """Raw arrays may join Tensors as constants, but only arrays of the same library."""
    for a in args:
        if a is None or isinstance(a, (Tensor, *_SCALARS)):
            continue
        try:
            other = backend_of_array(a)
        except TypeError:
            raise TypeError(f"{name}: unsupported argument of type {type(a).__name__}") from None
        if other is not backend:
            raise TypeError(f"{name}: arguments come from different array libraries ({backend.name}, {other.name})")


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
