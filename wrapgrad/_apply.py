"""The funnel: every operation on Tensors goes through :func:`apply`."""

from __future__ import annotations

from typing import Any

from ._backend import Backend, backend_of_array
from ._derivatives import RULES
from ._graph import ANOMALY, Node
from ._grad_mode import _GRAD_ENABLED
from ._tensor import Tensor

__all__ = ["apply", "apply_untracked"]

_SCALARS = (bool, int, float, complex)


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
        if isinstance(a, Tensor):
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

    out = backend.function(name)(*datas, **params)
    if backend.normalize is not None:
        out = backend.normalize(out)
    if not tracked or not _GRAD_ENABLED.get():
        return _wrap(out, backend)
    return _record(name, backend, args, datas, params, out)


def apply_untracked(name: str, *args: Any, **params: Any) -> Any:
    """Like :func:`apply`, but never records: for results that do not depend on the input's values
    (``zeros_like``) and for non-differentiable results of differentiable inputs."""
    backend = None
    datas = []
    for a in args:
        if isinstance(a, Tensor):
            if backend is not None and a._backend is not backend:
                raise TypeError(
                    f"{name}: arguments come from different array libraries ({backend.name}, {a._backend.name})"
                )
            backend = a._backend
            datas.append(a._data)
        else:
            datas.append(a)
    if backend is None:
        raise TypeError(f"{name}: expected at least one wrapgrad Tensor argument, got {_type_names(args)}")
    out = backend.function(name)(*datas, **params)
    if backend.normalize is not None:
        out = backend.normalize(out)
    return _wrap(out, backend)


def _record(name: str, backend: Backend, args: tuple[Any, ...], datas: list[Any], params: dict[str, Any],
            out: Any) -> Any:
    multi = isinstance(out, (tuple, list))
    outputs = out if multi else (out,)
    differentiable = backend.differentiable_dtypes
    if not any(getattr(o, "dtype", None) in differentiable for o in outputs):
        return _wrap(out, backend)

    rule = RULES.get(name)
    edges = []
    meta = []
    for a in args:
        if isinstance(a, Tensor) and a._requires_grad:
            edges.append((a._node, a._output_nr) if a._node is not None else (a, 0))
            meta.append((a._data.shape, a._data.dtype))
        else:
            edges.append(None)
            meta.append(None)
    saved = tuple(datas) if rule is None or rule.uses_args else None
    keep_ans = rule is not None and rule.uses_ans
    if not multi:
        node = Node(name, backend, rule, tuple(edges), tuple(meta), saved, out if keep_ans else None, params, 1)
        if ANOMALY.on:
            _anomaly_check(node, out, datas)
        return Tensor._make(out, backend, node, 0)
    node = Node(name, backend, rule, tuple(edges), tuple(meta), saved, out if keep_ans else None, params,
                len(out))
    if ANOMALY.on:
        _anomaly_check(node, out, datas)
    results = [
        Tensor._make(o, backend, node, i) if o.dtype in differentiable else Tensor._make(o, backend)
        for i, o in enumerate(out)
    ]
    return _as_type_of(out, results)


def _anomaly_check(node: Node, out: Any, datas: list[Any]) -> None:
    from ._anomaly import record_forward

    record_forward(node, out, datas)


def _wrap(out: Any, backend: Backend) -> Any:
    if isinstance(out, (tuple, list)):
        return _as_type_of(out, [Tensor._make(o, backend) for o in out])
    return Tensor._make(out, backend)


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


def _type_names(args: tuple[Any, ...]) -> str:
    return "(" + ", ".join(type(a).__name__ for a in args) + ")"
