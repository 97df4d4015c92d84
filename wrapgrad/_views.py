"""Views: Tensors that share their base's values, as numpy's views do, the same on every backend.

The set of views: the results of basic indexing (integers, slices, ``...``, ``None``) that keep at least
one axis, and ``T``, ``mT`` and ``permute_dims``. Everything else is a copy, which the standard allows.

A view remembers its root base (the base's base, for views of views) and the chain of steps that derives
it from that root, each one a funnel call. A write through a view (``v[...] = ``, ``v += ``, every in-place
operator, ``zero_()``) becomes a write to the root: the region the view covers is replaced there by the
funnel's own ``__setitem__`` (a permutation step is undone by ``permute_dims`` with the inverse
permutation), so the root gets one new value and node, and gradients flow through the existing rules to
the old root, the view and the values written (torch's CopySlices).

The root keeps weak references to its live views and re-derives them eagerly whenever it is written,
directly or through one of them. A view is then always current when it is read, and code that never writes
through a view pays nothing on the funnel's path (no check on reads; only ``__getitem__``, ``T``, ``mT`` and
``permute_dims`` note their result).

Copy-on-write keeps its promise: arrays saved for backward keep their values. On numpy a write goes into
the root's buffer in place only when :meth:`Backend.owned_alone` proves that no one else can see it, which
makes slice-write loops (overlap-add) linear instead of quadratic.
"""

from __future__ import annotations

import weakref
from typing import Any

from . import _graph
from ._apply import apply
from ._backend import WRITE_IN_PLACE, Backend
from ._grad_mode import _GRAD_ENABLED
from ._tensor import Tensor, check_in_place_result

__all__ = ["is_view_key", "refresh", "set_item", "track", "write_through"]

# One step from a base to its view: ("__getitem__", key), ("permute_dims", axes) or ("matrix_transpose", None).
Step = tuple[str, Any]


def is_view_key(key: Any, backend: Backend) -> bool:
    """True for a basic-indexing key: integers (not bool), slices, ``...`` and ``None`` only."""
    for k in key if type(key) is tuple else (key,):
        if k is None or k is Ellipsis or type(k) is slice or backend.is_integer_scalar(k):
            continue
        return False
    return True


def track(base: Tensor, view: Tensor, step: Step) -> Tensor:
    """Note that ``view`` is ``step`` applied to ``base`` (a view when it keeps at least one axis)."""
    if view._data.ndim == 0:
        return view
    parent = getattr(base, "_view", None)
    if parent is None or (base._node is None and base._requires_grad):
        # A view of a view made a leaf with requires_grad_() is that leaf's view, not its base's.
        root, chain = base, (step,)
    else:
        root, chain = parent[0], (*parent[1], step)
    view._view = (root, chain)
    refs = getattr(root, "_views", None)
    if refs is None:
        refs = root._views = []
    refs.append(weakref.ref(view))
    n = len(refs)
    if n >= 64 and not n & (n - 1):  # at each power of two: drop the dead, so reading views never leaks
        refs[:] = [r for r in refs if r() is not None]
    return view


def set_item(target: Tensor, key: Any, value: Any) -> None:
    """``target[key] = value`` for ``Tensor.__setitem__`` (``key`` already unwrapped)."""
    view = getattr(target, "_view", None)
    root, chain = (target, ()) if view is None else view
    if _writes_back_itself(root, chain, key, value, target._backend):
        # `a[k] += b` ends with `a[k] = <the view a[k], already written through>`: a no-op, in value and in
        # gradient, that would otherwise cost a second copy of the base.
        return
    if view is None:
        target._assign(_set_region(target, value, key), "__setitem__")
    else:
        write_through(target, apply("__setitem__", target, value, key=key), "__setitem__")


def write_through(view: Tensor, result: Tensor, op: str) -> None:
    """Give ``view`` the new value ``result`` by writing it into the view's root base."""
    root, chain = view._view
    if _GRAD_ENABLED.get() and ((root._node is None and root._requires_grad)
                                or (view._node is None and view._requires_grad)):
        raise RuntimeError(
            f"{op}: a view of a leaf tensor that requires grad is being used in an in-place operation, which "
            f"would change the leaf; do it under wrapgrad.no_grad(), or write into a copy that keeps the "
            f"gradient (y = xp.asarray(x, copy=True), then write through views of y)"
        )
    check_in_place_result(view, result, op)
    try:
        value = result if len(chain) == 1 else _unwind(root, chain, result)
        name, param = chain[0]
        if name == "__getitem__":
            key, value = _settable_key(param, value)
            new_root = _set_region(root, value, key)
        else:
            new_root = _undo_step(root, chain[0], value)
    except Exception as exc:  # never a lost write: say which write failed, and leave the base as it was
        steps = " then ".join(_describe(step) for step in chain)
        raise RuntimeError(
            f"{op}: cannot write through this view ({steps}) into its {root._backend.name} base: {exc}; "
            f"write into the base directly, or work on a copy (xp.asarray(v, copy=True))"
        ) from exc
    root._assign(new_root, op)


def refresh(root: Tensor) -> None:
    """Re-derive every live view of ``root`` from its current value (after each write to it)."""
    backend, data = root._backend, root._data
    # Without a node to give them, views whose arrays are numpy views of the root's buffer (written in place)
    # already show the new values: skipping them keeps a loop that writes through many views linear.
    nodeless = not (root._requires_grad and _GRAD_ENABLED.get())
    for view in _live(root):
        if nodeless and backend.is_view_of(view._data, data):
            continue
        _rebind(view, _derive(root, view._view[1]))


# -- helpers -----------------------------------------------------------------------------------------------


def _writes_back_itself(root: Tensor, chain: tuple[Step, ...], key: Any, value: Any, backend: Backend) -> bool:
    """True when ``value`` is the live view ``root[chain][key]`` itself, so that the write changes nothing."""
    if not isinstance(value, Tensor):
        return False
    seen = getattr(value, "_view", None)
    if seen is None or seen[0] is not root or (value._node is None and value._requires_grad):
        return False
    if _GRAD_ENABLED.get() and root._node is None and root._requires_grad:
        return False  # the leaf's refusal applies to a no-op write too
    return is_view_key(key, backend) and bool(seen[1] == (*chain, ("__getitem__", key)))


def _unwind(root: Tensor, chain: tuple[Step, ...], result: Tensor) -> Any:
    """The new value of the region ``chain[0]`` takes from ``root``, for a view whose new value is ``result``.

    The bases between the root and the view are derived from the root's current value and die when this
    returns: their arrays are views of the root's, which the in-place proof must not find alive.
    """
    parents = [root]  # parents[i] is the base that chain[i] is taken from
    for step in chain[:-1]:
        parents.append(_derive_step(parents[-1], step))
    value: Any = result
    for i in range(len(chain) - 1, 0, -1):
        value = _undo_step(parents[i], chain[i], value)
    return value


def _set_region(root: Tensor, value: Any, key: Any) -> Tensor:
    """``root`` with ``root[key] = value``: the funnel's ``__setitem__``, in place when that is unobservable."""
    backend = root._backend
    if backend.is_numpy and not (root._node is None and root._requires_grad and _GRAD_ENABLED.get()):
        if backend.owned_alone(root._data, _live(root)):
            token = WRITE_IN_PLACE.set(root._data)
            try:
                return apply("__setitem__", root, value, key=key)
            finally:
                WRITE_IN_PLACE.reset(token)
    return apply("__setitem__", root, value, key=key)


def _describe(step: Step) -> str:
    name, param = step
    if name == "__getitem__":
        return f"[{param!r}]"
    return f"permute_dims(axes={param})" if name == "permute_dims" else "mT"


def _live(root: Tensor) -> list[Tensor]:
    """The live views of ``root`` (the references to dead ones are dropped on the way)."""
    refs = getattr(root, "_views", None)
    if not refs:
        return []
    live = [view for r in refs if (view := r()) is not None and view._view[0] is root]
    if len(live) < len(refs):
        refs[:] = [weakref.ref(view) for view in live]
    return live


def _derive(root: Tensor, chain: tuple[Step, ...]) -> Tensor:
    x = root
    for step in chain:
        x = _derive_step(x, step)
    return x


def _derive_step(x: Tensor, step: Step) -> Tensor:
    name, param = step
    if name == "__getitem__":
        return apply("__getitem__", x, key=param)
    if name == "permute_dims":
        return apply("permute_dims", x, axes=param)
    return apply("matrix_transpose", x)


def _undo_step(parent: Tensor, step: Step, value: Any) -> Any:
    """``parent`` with the region that ``step`` takes from it replaced by ``value``."""
    name, param = step
    if name == "__getitem__":
        key, value = _settable_key(param, value)
        return apply("__setitem__", parent, value, key=key)
    if name == "permute_dims":
        ndim = len(param)
        inverse = [0] * ndim
        for i, a in enumerate(param):
            inverse[a % ndim] = i
        return apply("permute_dims", value, axes=tuple(inverse))
    return apply("matrix_transpose", value)


def _settable_key(key: Any, value: Any) -> tuple[Any, Any]:
    """``key`` without its ``None`` entries (not every backend's ``__setitem__`` takes them), and ``value``
    without the size-1 axes that those entries added."""
    keys = key if type(key) is tuple else (key,)
    if None not in keys:  # the common key: basic keys hold no arrays, so `in` compares plainly
        return key, value
    ndim = value.ndim
    # Each entry's result axes: a slice keeps one, None adds one, an integer drops its axis, `...` expands to
    # the axes that no other entry names.
    spanned = ndim - sum(1 for k in keys if k is None or type(k) is slice)
    position, added = 0, []
    for k in keys:
        if k is None:
            added.append(position)
            position += 1
        elif k is Ellipsis:
            position += spanned
        elif type(k) is slice:
            position += 1
    stripped = tuple(k for k in keys if k is not None)
    return stripped, apply("squeeze", value, axis=tuple(added))



def _rebind(view: Tensor, new: Tensor) -> None:
    # Tensor._assign's rebinding: a result without a node (a write under no_grad) keeps the view's node.
    view._data = new._data
    if new._node is None:
        return
    if view._retains_grad and view._node is not None:
        _graph.RETAINED.get(view._node, {}).pop(view._output_nr, None)
    view._node = new._node
    view._output_nr = new._output_nr
    view._requires_grad = True
    if view._retains_grad:
        _graph.RETAINED.setdefault(view._node, {})[view._output_nr] = weakref.ref(view)
