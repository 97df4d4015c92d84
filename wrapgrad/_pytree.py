"""Pytrees: nested containers of arrays, flattened to a list of leaves and a structure (JAX's model).

Tuples, lists, dicts (keys in sorted order, as in JAX), ``None`` (no leaves), NamedTuples and dataclasses
are nodes; everything else is a leaf. More node types are added with :func:`register_pytree_node`. A
dataclass's fields are data (children) unless marked static, as in ``jax.tree_util.register_dataclass``:
``field(metadata={"static": True})``, or by naming them in :func:`register_dataclass`.

Every functional transform (``grad``, ``vjp``, ``jacrev``, ``hessian``) and the optimizers of
:mod:`wrapgrad.optim` walk their arguments with these functions, so a registered node works in all of them.
Where jax has been imported, registered types (and each dataclass when it is first seen) are registered
with ``jax.tree_util`` too, so that they can cross ``jax.jit``; wrapgrad never imports jax for this.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, NamedTuple

__all__ = ["TreeDef", "register_dataclass", "register_pytree_node", "tree_flatten", "tree_leaves", "tree_map",
           "tree_structure", "tree_unflatten"]


class TreeDef(NamedTuple):
    """The structure of a pytree.

    ``kind`` is "leaf", "none", "tuple", "list", "dict" or "node" (a registered type or a dataclass);
    ``keys`` holds a dict's sorted keys or a registered node's auxiliary data (its static part).
    """

    kind: str
    node_type: Any
    keys: Any
    children: tuple[TreeDef, ...]

    def __repr__(self) -> str:
        if self.kind == "leaf":
            return "*"
        if self.kind == "none":
            return "None"
        if self.kind == "dict":
            return "{" + ", ".join(f"{k!r}: {c!r}" for k, c in zip(self.keys, self.children, strict=True)) + "}"
        inner = ", ".join(repr(c) for c in self.children)
        if self.kind == "node":
            return f"{self.node_type.__name__}({inner})"
        return f"[{inner}]" if self.kind == "list" else f"({inner})"

    @property
    def num_leaves(self) -> int:
        """How many leaves a tree of this structure has."""
        if self.kind == "leaf":
            return 1
        return sum(c.num_leaves for c in self.children)


_LEAF = TreeDef("leaf", None, (), ())
_NONE = TreeDef("none", None, (), ())


class _NodeKind(NamedTuple):
    flatten: Callable[[Any], tuple[Iterable[Any], Any]]  # node -> (children, auxiliary data)
    unflatten: Callable[[Any, Iterable[Any]], Any]  # (auxiliary data, children) -> node


# Registered node types; dataclasses join on first sight. _JAX_PENDING holds those not yet registered with jax.
_REGISTRY: dict[type, _NodeKind] = {}
_JAX_PENDING: list[type] = []


def register_pytree_node(nodetype: type, flatten_func: Callable[[Any], tuple[Iterable[Any], Any]],
                         unflatten_func: Callable[[Any, Iterable[Any]], Any]) -> None:
    """Make ``nodetype`` a pytree node (``jax.tree_util.register_pytree_node``).

    Parameters
    ----------
    nodetype : type
        The container type.
    flatten_func : callable
        ``flatten_func(node) -> (children, aux_data)``: the children are pytrees; ``aux_data`` is the static
        part (hashable and comparable: two trees with different ``aux_data`` have different structures).
    unflatten_func : callable
        ``unflatten_func(aux_data, children) -> node``.

    Examples
    --------
    >>> class Pair:
    ...     def __init__(self, a, b): self.a, self.b = a, b
    >>> wrapgrad.register_pytree_node(Pair, lambda p: ((p.a, p.b), None), lambda _, c: Pair(*c))
    """
    if not isinstance(nodetype, type):
        raise TypeError(f"register_pytree_node: expected a type, got {type(nodetype).__name__}")
    if nodetype in _REGISTRY or nodetype in (tuple, list, dict, type(None)):
        raise ValueError(f"register_pytree_node: {nodetype.__name__} is already a pytree node type")
    _REGISTRY[nodetype] = _NodeKind(flatten_func, unflatten_func)
    _JAX_PENDING.append(nodetype)
    _sync_jax()


def register_dataclass(nodetype: type, data_fields: Sequence[str] | None = None,
                       meta_fields: Sequence[str] | None = None) -> type:
    """Make a dataclass a pytree node whose ``data_fields`` are children and ``meta_fields`` static
    (``jax.tree_util.register_dataclass``); returns the class, so it also works as a decorator.

    Without field lists, a field is static when it was declared ``field(metadata={"static": True})`` and
    data otherwise (also what an unregistered dataclass gets). Fields with ``init=False`` are skipped.
    """
    if not dataclasses.is_dataclass(nodetype) or not isinstance(nodetype, type):
        raise TypeError(f"register_dataclass: {getattr(nodetype, '__name__', nodetype)!r} is not a dataclass type")
    if data_fields is None and meta_fields is None:
        data, meta = _default_fields(nodetype)
    else:
        data, meta = tuple(data_fields or ()), tuple(meta_fields or ())
        init_fields = {f.name for f in dataclasses.fields(nodetype) if f.init}
        if set(data) | set(meta) != init_fields or set(data) & set(meta):
            raise ValueError(
                f"register_dataclass: data_fields {list(data)} and meta_fields {list(meta)} of {nodetype.__name__} "
                f"must split its init fields {sorted(init_fields)} between them"
            )
    register_pytree_node(nodetype, *_dataclass_functions(nodetype, data, meta))
    return nodetype


def _default_fields(nodetype: type) -> tuple[tuple[str, ...], tuple[str, ...]]:
    fields = [f for f in dataclasses.fields(nodetype) if f.init]
    meta = tuple(f.name for f in fields if f.metadata.get("static", False))
    data = tuple(f.name for f in fields if not f.metadata.get("static", False))
    return data, meta


def _dataclass_functions(nodetype: type, data: tuple[str, ...], meta: tuple[str, ...]) -> _NodeKind:
    def flatten(node: Any) -> tuple[list[Any], tuple[Any, ...]]:
        return [getattr(node, n) for n in data], tuple(getattr(node, n) for n in meta)

    def unflatten(aux: tuple[Any, ...], children: Iterable[Any]) -> Any:
        kwargs = dict(zip(data, children, strict=True))
        kwargs.update(zip(meta, aux, strict=True))
        return nodetype(**kwargs)

    return _NodeKind(flatten, unflatten)


def _node_kind(tree: Any) -> _NodeKind | None:
    kind = _REGISTRY.get(type(tree))
    if kind is None and dataclasses.is_dataclass(tree) and not isinstance(tree, type):
        register_dataclass(type(tree))  # a plain dataclass is a node: its static fields as declared
        kind = _REGISTRY[type(tree)]
    return kind


def _sync_jax() -> None:
    """Register the pending node types with jax, if (and only if) the user's program has imported it."""
    if not _JAX_PENDING or "jax" not in sys.modules:
        return
    tree_util = getattr(sys.modules["jax"], "tree_util", None)
    if tree_util is None:  # jax is still being imported; the next flatten will try again
        return
    while _JAX_PENDING:
        nodetype = _JAX_PENDING.pop()
        kind = _REGISTRY[nodetype]
        try:
            tree_util.register_pytree_node(nodetype, kind.flatten, kind.unflatten)
        except ValueError:  # the user registered it with jax already: theirs wins there
            pass


# -- flatten and unflatten ------------------------------------------------------------------------------------


def tree_flatten(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> tuple[list[Any], TreeDef]:
    """The leaves of a pytree, in order, and its structure (``jax.tree_util.tree_flatten``).

    ``is_leaf(x)`` returning True stops the descent at ``x``. Dict keys are visited in sorted order.
    """
    if _JAX_PENDING:
        _sync_jax()
    leaves: list[Any] = []
    return leaves, _flatten(tree, leaves, is_leaf)


def _flatten(tree: Any, leaves: list[Any], is_leaf: Callable[[Any], bool] | None) -> TreeDef:
    if is_leaf is not None and is_leaf(tree):
        leaves.append(tree)
        return _LEAF
    if tree is None:
        return _NONE
    if isinstance(tree, (tuple, list)):
        kind = "list" if isinstance(tree, list) else "tuple"
        return TreeDef(kind, type(tree), (), tuple(_flatten(v, leaves, is_leaf) for v in tree))
    if isinstance(tree, dict):
        keys = tuple(sorted(tree))
        return TreeDef("dict", type(tree), keys, tuple(_flatten(tree[k], leaves, is_leaf) for k in keys))
    node = _node_kind(tree)
    if node is not None:
        children, aux = node.flatten(tree)
        return TreeDef("node", type(tree), aux, tuple(_flatten(c, leaves, is_leaf) for c in children))
    leaves.append(tree)
    return _LEAF


def tree_unflatten(treedef: TreeDef, leaves: Iterable[Any]) -> Any:
    """Rebuild a pytree of structure ``treedef`` from its leaves (the inverse of :func:`tree_flatten`)."""
    leaves = list(leaves)
    if len(leaves) != treedef.num_leaves:
        raise ValueError(f"tree_unflatten: the structure {treedef!r} has {treedef.num_leaves} leaves, "
                         f"got {len(leaves)}")
    return _unflatten(treedef, iter(leaves))


def _unflatten(treedef: TreeDef, leaves: Iterator[Any]) -> Any:
    kind = treedef.kind
    if kind == "leaf":
        return next(leaves)
    if kind == "none":
        return None
    children = [_unflatten(c, leaves) for c in treedef.children]
    if kind == "node":
        return _REGISTRY[treedef.node_type].unflatten(treedef.keys, children)
    if kind == "dict":
        return treedef.node_type(zip(treedef.keys, children, strict=True))
    if kind == "list":
        return children if treedef.node_type is list else treedef.node_type(children)
    if hasattr(treedef.node_type, "_fields"):
        return treedef.node_type(*children)
    return treedef.node_type(children)


def tree_leaves(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> list[Any]:
    """The leaves of a pytree, in :func:`tree_flatten`'s order (``jax.tree_util.tree_leaves``)."""
    return tree_flatten(tree, is_leaf)[0]


def tree_structure(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> TreeDef:
    """The structure of a pytree (``jax.tree_util.tree_structure``)."""
    return tree_flatten(tree, is_leaf)[1]


def tree_map(f: Callable[..., Any], tree: Any, *rest: Any, is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """Apply ``f`` to the leaves of ``tree`` (and the matching leaves of each tree in ``rest``), keeping the
    structure (``jax.tree_util.tree_map``).

    Examples
    --------
    >>> params = {"w": xp.ones(3), "b": xp.zeros(())}
    >>> wrapgrad.tree_map(lambda p, g: p - 0.1 * g, params, grads)
    """
    leaves, treedef = tree_flatten(tree, is_leaf)
    others = []
    for i, other in enumerate(rest):
        other_leaves, other_def = tree_flatten(other, is_leaf)
        if other_def != treedef:
            raise ValueError(f"tree_map: tree {i + 1} has structure {other_def!r}, but the first has {treedef!r}")
        others.append(other_leaves)
    return tree_unflatten(treedef, [f(*xs) for xs in zip(leaves, *others, strict=True)])
