"""The functional API: ``grad``, ``value_and_grad``, ``vjp``, ``jvp``, ``jacrev``/``jacfwd``/``jacobian``,
``hessian`` (JAX's names; PyTorch's conventions where the two differ).

Each transform takes a function and returns a function. Arguments are Tensors or raw backend arrays, or
pytrees of them (tuples, lists, dicts, NamedTuples, dataclasses and nodes registered with
``wrapgrad.register_pytree_node``; see ``_pytree``). Raw arrays in give raw arrays out: the
transform wraps them as Tensors that require grad, calls the function on those Tensors, and unwraps the
results, so ``wrapgrad.grad(f)(jnp_array)`` returns a jax array and works under ``jax.jit``.

Arrays among the other arguments are wrapped too (as Tensors that do not require grad), so the function can
take its namespace from any of them: ``xp = array_namespace(params, x)``.

Differences from JAX, on purpose:

- complex gradients follow torch's convention, ``dL/dRe + i dL/dIm`` (the conjugate of ``jax.grad``'s);
- a function whose output does not depend on an input gets a zero gradient (as in JAX), but an output that
  is not an array at all is an error;
- transforms nest (``grad(grad(f))``): inside another transform, or when an argument already requires grad,
  the backward pass is recorded (``create_graph=True``) so the result can be differentiated again. Each
  transform differentiates with respect to its own alias of its arguments, so nested transforms never
  confuse their perturbations.

Forward mode (``jvp``, ``jacfwd``) uses the transpose trick: ``u -> J^H u`` is linear, so the VJP of the
VJP gives ``J t``; every op with a reverse rule therefore has a forward derivative too.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any, NamedTuple

import array_api_compat

from ._apply import apply
from ._autograd import _check_roots
from ._backend import Backend, backend_of_array
from ._grad_mode import enable_grad
from ._graph import run_backward
from ._pytree import TreeDef, tree_flatten, tree_unflatten
from ._tensor import Tensor

__all__ = ["grad", "hessian", "jacfwd", "jacobian", "jacrev", "jvp", "tree_flatten", "tree_unflatten",
           "value_and_grad", "vjp"]

# How many transforms are evaluating their function right now: a transform inside another one records
# its backward pass, so that the outer one can differentiate through it.
_DEPTH: ContextVar[int] = ContextVar("wrapgrad_transform_depth", default=0)


@contextlib.contextmanager
def _inside_transform() -> Iterator[None]:
    token = _DEPTH.set(_DEPTH.get() + 1)
    try:
        with enable_grad():
            yield
    finally:
        _DEPTH.reset(token)


# -- pytrees ----------------------------------------------------------------------------------------------


# TreeDef, tree_flatten and tree_unflatten live in _pytree (registered nodes, dataclasses); imported above.


# -- arguments: the inputs a transform differentiates with respect to -----------------------------------------


class _Inputs(NamedTuple):
    args: tuple[Any, ...]  # the call's arguments, with the differentiated leaves replaced by Tensors
    tensors: list[Tensor]  # those Tensors, in flattening order
    treedefs: list[TreeDef]  # the structure of each differentiated argument
    argnums: tuple[int, ...]
    single: bool  # argnums was an int: return one tree, not a tuple of trees
    raw: bool  # every differentiated leaf was a raw array: unwrap the results
    record: bool  # record the backward pass (nested transform, or an input already requires grad)


def _normalize_argnums(op: str, argnums: int | Sequence[int], n_args: int) -> tuple[tuple[int, ...], bool]:
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)  # type: ignore[arg-type]
    if not nums:
        raise ValueError(f"{op}: argnums is empty; name at least one argument to differentiate with respect to")
    checked = []
    for a in nums:
        if not isinstance(a, int) or isinstance(a, bool):
            raise TypeError(f"{op}: argnums must be an int or a tuple of ints, got {a!r}")
        if not -n_args <= a < n_args:
            raise ValueError(
                f"{op}: argnums {a} is out of range for a function called with {n_args} positional "
                f"argument{'s' if n_args != 1 else ''}"
            )
        checked.append(a % n_args)
    if len(set(checked)) != len(checked):
        raise ValueError(f"{op}: argnums {nums} names an argument twice")
    return tuple(checked), single


def _as_input(op: str, leaf: Any, position: int) -> tuple[Tensor, bool, bool]:
    """The Tensor a transform differentiates with respect to, for one leaf: (tensor, was_raw, on_tape)."""
    if isinstance(leaf, Tensor):
        if leaf.dtype not in leaf._backend.differentiable_dtypes:
            raise TypeError(f"{op}: argument {position} has dtype {leaf.dtype}; only floating-point and complex "
                            f"arrays can be differentiated")
        if leaf._requires_grad:
            # An alias on the tape: gradients with respect to it are this transform's own, and they still flow
            # on to ``leaf`` for an outer transform or backward.
            with enable_grad():
                return apply("positive", leaf), False, True
        return Tensor._make(leaf._data, leaf._backend).requires_grad_(), False, False
    if leaf is None or isinstance(leaf, (bool, int, float, complex)):
        raise TypeError(f"{op}: argument {position} holds a {type(leaf).__name__}, not an array; differentiate "
                        f"with respect to arrays (wrap Python numbers with xp.asarray)")
    try:
        backend = backend_of_array(leaf)
    except TypeError:
        raise TypeError(
            f"{op}: argument {position} holds a {type(leaf).__name__}, which is neither an array nor a pytree node, "
            f"so it cannot be differentiated; make {type(leaf).__name__} a dataclass or register it with "
            f"wrapgrad.register_pytree_node, or pass it among the arguments that are not in argnums"
        ) from None
    tensor = Tensor(leaf)
    if tensor.dtype not in backend.differentiable_dtypes:
        raise TypeError(f"{op}: argument {position} has dtype {tensor.dtype}; only floating-point and complex "
                        f"arrays can be differentiated")
    return tensor.requires_grad_(), True, False


def _prepare(op: str, args: tuple[Any, ...], argnums: int | Sequence[int]) -> _Inputs:
    nums, single = _normalize_argnums(op, argnums, len(args))
    new_args = list(args)
    tensors: list[Tensor] = []
    treedefs: list[TreeDef] = []
    all_raw = True
    record = _DEPTH.get() > 0
    for a in nums:
        leaves, treedef = tree_flatten(args[a])
        if not leaves:
            raise ValueError(f"{op}: argument {a} holds no array to differentiate with respect to")
        replaced = []
        for leaf in leaves:
            tensor, was_raw, on_tape = _as_input(op, leaf, a)
            all_raw = all_raw and was_raw
            record = record or on_tape
            replaced.append(tensor)
        tensors += replaced
        treedefs.append(treedef)
        new_args[a] = tree_unflatten(treedef, replaced)
    backend = tensors[0]._backend
    for a in range(len(args)):
        if a not in nums:
            new_args[a] = _constants(args[a], backend)
    return _Inputs(tuple(new_args), tensors, treedefs, nums, single, all_raw, record)


_PLAIN_LEAVES = frozenset({bool, int, float, complex, str})


def _constants(tree: Any, backend: Backend) -> Any:
    """Raw arrays among the arguments that are not differentiated become Tensors too (that do not require grad),
    so a function can take its namespace from all of its arguments: ``array_namespace(params, x)``.

    Arrays are recognised as array_api_compat does (torch tensors and dask arrays have no ``__array_namespace__``).
    Those of ``backend`` (the differentiated arguments' library) are wrapped as they are; those of another library
    follow the funnel's rule, ``Backend.constant``: wrapped after conversion where the backend accepts them (numpy
    arrays on jax), numpy scalars become the Python numbers torch takes, and the rest stay as they are, so mixing
    them with the inputs is the funnel's error that names both libraries.
    """
    leaves, treedef = tree_flatten(tree)
    if not leaves:
        return tree
    converted = []
    changed = False
    for leaf in leaves:
        original = leaf
        # Exact types: numpy's float64 subclasses float, but it is a numpy scalar, and the funnel treats it as one.
        if type(leaf) not in _PLAIN_LEAVES and not isinstance(leaf, Tensor) and array_api_compat.is_array_api_obj(leaf):
            try:
                leaf = backend.constant("constant argument", leaf)
            except TypeError:
                pass
            else:
                if type(leaf) not in _PLAIN_LEAVES:  # not a numpy scalar turned into a Python number (torch)
                    leaf = Tensor(leaf)
        changed = changed or leaf is not original
        converted.append(leaf)
    # Rebuild only when a leaf was wrapped: a configuration object (a dataclass) passed through stays itself.
    return tree_unflatten(treedef, converted) if changed else tree


def _by_argument(inputs: _Inputs, flat: Sequence[Any]) -> Any:
    """Group per-leaf results back into the structure of the differentiated arguments."""
    trees = []
    start = 0
    for treedef in inputs.treedefs:
        n = _n_leaves(treedef)
        trees.append(tree_unflatten(treedef, flat[start:start + n]))
        start += n
    return trees[0] if inputs.single else tuple(trees)


def _n_leaves(treedef: TreeDef) -> int:
    if treedef.kind == "leaf":
        return 1
    return sum(_n_leaves(c) for c in treedef.children)


def _unwrap(tree: Any, raw: bool) -> Any:
    """Raw arrays in, raw arrays out: Tensors of a result become their (detached) backend arrays."""
    if not raw:
        return tree
    leaves, treedef = tree_flatten(tree)
    return tree_unflatten(treedef, [leaf._data if isinstance(leaf, Tensor) else leaf for leaf in leaves])


def _zeros_like(t: Tensor) -> Tensor:
    return Tensor._make(t._backend.xp.zeros_like(t._data), t._backend)


def _as_tensor(value: Any) -> Tensor:
    return value if isinstance(value, Tensor) else Tensor._make(value, backend_of_array(value))


def _differentiate(op: str, roots: list[Tensor], cotangents: list[Any], inputs: list[Tensor], *,
                   retain_graph: bool, create_graph: bool) -> list[Tensor]:
    """Gradients of ``roots`` (with ``cotangents``) with respect to ``inputs``; zeros for unused inputs."""
    grads: list[Any] = [None] * len(inputs)
    if roots:
        roots, cotangents = _check_roots(op, roots, cotangents, keep_graph=create_graph)
        captured = run_backward(roots, cotangents, retain_graph=retain_graph, create_graph=create_graph,
                                capture=inputs)
        assert captured is not None
        grads = captured
    return [_zeros_like(t) if g is None else _as_tensor(g) for t, g in zip(inputs, grads, strict=True)]


def _check_fn(op: str, fn: Any) -> None:
    if not callable(fn):
        raise TypeError(f"{op}: expected a function, got {type(fn).__name__}")


def _split_aux(op: str, out: Any, has_aux: bool) -> tuple[Any, Any]:
    if not has_aux:
        return out, None
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise TypeError(f"{op}: with has_aux=True the function must return a pair (output, aux), "
                        f"got {type(out).__name__}")
    return out[0], out[1]


def _output_tensors(op: str, out: Any) -> tuple[list[Tensor], TreeDef]:
    leaves, treedef = tree_flatten(out)
    tensors = []
    for leaf in leaves:
        if not isinstance(leaf, Tensor):
            raise TypeError(
                f"{op}: the function returned a {type(leaf).__name__} where an array was expected; it must compute "
                f"its outputs from its (Tensor) arguments with wrapgrad's namespace (xp = array_namespace(x))"
            )
        tensors.append(leaf)
    return tensors, treedef


def _on_tape(t: Tensor) -> bool:
    return t._requires_grad and t.dtype in t._backend.differentiable_dtypes


# -- grad and value_and_grad -----------------------------------------------------------------------------------


def value_and_grad(fun: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False
                   ) -> Callable[..., Any]:
    """A function that returns ``fun``'s value and its gradient (``jax.value_and_grad``).

    Parameters
    ----------
    fun : callable
        Returns a real single-element array (a scalar loss), or ``(loss, aux)`` with ``has_aux``.
    argnums : int or tuple of int
        The positional arguments to differentiate with respect to; each may be a pytree of arrays.
    has_aux : bool
        ``fun`` returns a pair whose second item is passed through (undifferentiated).

    Returns
    -------
    callable
        ``(value, grad)`` or ``((value, aux), grad)``; ``grad`` is shaped like the argument (a tuple of such
        trees when ``argnums`` is a tuple). Complex arguments get torch's ``dL/dRe + i dL/dIm``.

    Examples
    --------
    >>> loss, g = wrapgrad.value_and_grad(lambda w: xp.sum(w * w))(w)
    """
    _check_fn("value_and_grad", fun)

    def value_and_grad_fun(*args: Any, **kwargs: Any) -> Any:
        value, aux, g = _value_and_grad("value_and_grad", fun, argnums, has_aux, args, kwargs)
        return ((value, aux), g) if has_aux else (value, g)

    return value_and_grad_fun


def grad(fun: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable[..., Any]:
    """A function that returns the gradient of the scalar function ``fun`` (``jax.grad``).

    ``grad(f)(x)`` is ``dL/dx`` shaped like ``x``; with a tuple ``argnums`` a tuple of gradients; with
    ``has_aux`` the pair ``(grad, aux)``. Raw backend arrays in give raw arrays out (so it can be jitted over
    jax); Tensors that already require grad get a gradient that is itself on the tape (``grad(grad(f))``).
    Complex arguments get torch's convention, ``dL/dRe + i dL/dIm`` (``jax.grad`` returns its conjugate).

    Examples
    --------
    >>> df = wrapgrad.grad(lambda x: xp.sum(xp.sin(x)))
    >>> df(x)                                   # cos(x)
    >>> wrapgrad.grad(wrapgrad.grad(lambda x: xp.sin(x)))(x0)   # -sin(x0), x0 a 0-D array
    """
    _check_fn("grad", fun)

    def grad_fun(*args: Any, **kwargs: Any) -> Any:
        _, aux, g = _value_and_grad("grad", fun, argnums, has_aux, args, kwargs)
        return (g, aux) if has_aux else g

    return grad_fun


def _value_and_grad(op: str, fun: Callable[..., Any], argnums: int | Sequence[int], has_aux: bool,
                    args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any, Any]:
    """(value, aux, gradient) of one call."""
    inputs = _prepare(op, args, argnums)
    with _inside_transform():
        out, aux = _split_aux(op, fun(*inputs.args, **kwargs), has_aux)
    if not isinstance(out, Tensor):
        if isinstance(out, (bool, int, float, complex)):
            # float(...) at the end of a library function (scikit-learn's scalar metrics) leaves the tape.
            raise TypeError(
                f"{op}: the function must return a single-element array (a scalar loss), got {type(out).__name__}; "
                f"the function returned a Python {type(out).__name__}: a value computed outside the tape "
                f"(float(...), .item() or a library call that converts its result), so it has no gradient; "
                f"return the array itself (e.g. a metric's raw_values form, or the expression before float())"
            )
        raise TypeError(f"{op}: the function must return a single-element array (a scalar loss), got "
                        f"{type(out).__name__}")
    if out.size != 1:
        raise TypeError(
            f"{op}: the function must return a single-element array (a scalar loss), got shape {out.shape}; "
            f"use vjp with a cotangent, or jacrev, for non-scalar outputs"
        )
    if out.dtype in out._backend.complex_dtypes:
        raise TypeError(f"{op}: the function must return a real scalar, got dtype {out.dtype}; differentiate "
                        f"xp.real(...) or xp.abs(...) of it")
    roots = [out] if _on_tape(out) else []
    grads = _differentiate(op, roots, [None] * len(roots), inputs.tensors, retain_graph=inputs.record,
                           create_graph=inputs.record)
    g = _unwrap(_by_argument(inputs, grads), inputs.raw)
    value = _unwrap(out if inputs.record else out.detach(), inputs.raw)
    return value, _unwrap(aux, inputs.raw), g


# -- vjp and jvp --------------------------------------------------------------------------------------------------


def vjp(fun: Callable[..., Any], *primals: Any, has_aux: bool = False) -> Any:
    """``fun``'s output at ``primals`` and a function that pulls cotangents back (``jax.vjp``).

    Returns
    -------
    (out, vjp_fn) or (out, vjp_fn, aux)
        ``vjp_fn(cotangent)`` takes a pytree shaped like ``out`` and returns a tuple with one cotangent per
        primal, each shaped like it. It may be called many times. Complex values follow torch's convention:
        ``vjp_fn(v)`` is the gradient of ``Re(sum(conj(v) * out))``, i.e. ``J^H v`` for holomorphic ``fun``
        (``jax.vjp`` gives ``J^T v``: ``conj(jax_vjp(conj(v)))`` is ours).

    Examples
    --------
    >>> out, vjp_fn = wrapgrad.vjp(lambda x: x * x, x)
    >>> (gx,) = vjp_fn(xp.ones_like(out))        # 2 * x
    """
    _check_fn("vjp", fun)
    if not primals:
        raise TypeError("vjp: give at least one primal argument")
    inputs = _prepare("vjp", primals, tuple(range(len(primals))))
    with _inside_transform():
        out, aux = _split_aux("vjp", fun(*inputs.args), has_aux)
    outputs, out_def = _output_tensors("vjp", out)

    def vjp_fn(cotangent: Any) -> tuple[Any, ...]:
        leaves, ct_def = tree_flatten(cotangent)
        if ct_def != out_def:
            raise ValueError(f"vjp: the cotangent has structure {ct_def!r}, but the output has structure {out_def!r}")
        roots, cts = [], []
        for i, (o, ct) in enumerate(zip(outputs, leaves, strict=True)):
            _check_cotangent_like("vjp", f"cotangent {i}", o, ct)
            if _on_tape(o):
                roots.append(o)
                cts.append(ct)
        grads = _differentiate("vjp", roots, cts, inputs.tensors, retain_graph=True, create_graph=inputs.record)
        return tuple(_unwrap(_by_argument(inputs, grads), inputs.raw))

    shown = _unwrap(out, inputs.raw)
    if has_aux:
        return shown, vjp_fn, _unwrap(aux, inputs.raw)
    return shown, vjp_fn


def _check_cotangent_like(op: str, what: str, like: Tensor, value: Any) -> None:
    """Shape, backend and real/complex kind of a cotangent or tangent, with a message that names it."""
    if isinstance(value, Tensor):
        backend: Backend = value._backend
        shape, dtype = value.shape, value.dtype
    elif isinstance(value, (bool, int, float, complex)) or value is None:
        raise TypeError(f"{op}: {what} is a {type(value).__name__}, not an array shaped {like.shape}")
    else:
        backend = backend_of_array(value)
        shape, dtype = tuple(value.shape), value.dtype
    if backend is not like._backend:
        raise TypeError(f"{op}: {what} comes from {backend.name}, but it belongs to a {like._backend.name} array")
    if shape != like.shape:
        raise ValueError(f"{op}: {what} has shape {shape}, but it should have shape {like.shape}")
    complex_dtypes = like._backend.complex_dtypes
    if (dtype in complex_dtypes) != (like.dtype in complex_dtypes):
        raise TypeError(f"{op}: {what} has dtype {dtype}, which does not match dtype {like.dtype} (complex and real "
                        f"do not mix)")
    if dtype not in like._backend.differentiable_dtypes:
        raise TypeError(f"{op}: {what} has dtype {dtype}; it must be floating-point like {like.dtype}")


def jvp(fun: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """``fun``'s output at ``primals`` and its directional derivative along ``tangents`` (``jax.jvp``).

    ``primals`` and ``tangents`` are tuples (or lists) of the same structure; the result is ``(out, J t)``
    with ``J t`` shaped like ``out``. Computed by transposing the VJP (the VJP ``u -> J^H u`` is linear in
    ``u``, and its own VJP is ``t -> J t``), so every op with a reverse rule is covered; it costs about two
    backward passes. Agrees with ``jax.jvp``, complex values included.

    Examples
    --------
    >>> out, tangent = wrapgrad.jvp(xp.sin, (x,), (xp.ones_like(x),))   # cos(x)
    """
    _check_fn("jvp", fun)
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp: primals and tangents must be tuples (or lists) of arguments")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: got {len(tangents)} tangents for {len(primals)} primals")
    if not primals:
        raise TypeError("jvp: give at least one primal argument")
    inputs = _prepare("jvp", tuple(primals), tuple(range(len(primals))))
    tangent_leaves, tangent_def = tree_flatten(tuple(tangents))
    primal_def = tree_flatten(tuple(primals))[1]
    if tangent_def != primal_def:
        raise ValueError(f"jvp: the tangents have structure {tangent_def!r}, but the primals have {primal_def!r}")
    for i, (t, p) in enumerate(zip(tangent_leaves, inputs.tensors, strict=True)):
        _check_cotangent_like("jvp", f"tangent {i}", p, t)
    with _inside_transform():
        out = fun(*inputs.args)
    outputs, out_def = _output_tensors("jvp", out)
    tangents_out = _forward_columns(outputs, inputs, [_as_tensor(t) for t in tangent_leaves])
    return _unwrap(out, inputs.raw), _unwrap(tree_unflatten(out_def, tangents_out), inputs.raw)


class _Transposed(NamedTuple):
    """``u -> J^H u`` recorded on the tape: the first half of the transpose trick."""

    dummies: list[Tensor | None]  # one cotangent leaf per output (None: the output is off the tape)
    grads: list[Tensor | None]  # J^H u for each input, on the tape (None: no path from the outputs)


def _transpose(outputs: list[Tensor], inputs: _Inputs) -> _Transposed:
    dummies: list[Tensor | None] = []
    roots, cts = [], []
    for o in outputs:
        if _on_tape(o):
            u = Tensor._make(o._backend.xp.zeros_like(o._data), o._backend).requires_grad_()
            roots.append(o)
            cts.append(u)
            dummies.append(u)
        else:
            dummies.append(None)
    if not roots:
        return _Transposed(dummies, [None] * len(inputs.tensors))
    roots, cts = _check_roots("jvp", roots, cts, keep_graph=True)
    grads = run_backward(roots, cts, retain_graph=inputs.record, create_graph=True, capture=inputs.tensors)
    assert grads is not None
    return _Transposed(dummies, [g if isinstance(g, Tensor) and g._requires_grad else None for g in grads])


def _forward_columns(outputs: list[Tensor], inputs: _Inputs, tangents: list[Tensor],
                     transposed: _Transposed | None = None) -> list[Tensor]:
    """``J t`` for each output, by the VJP of ``u -> J^H u`` with cotangent ``t``."""
    if transposed is None:
        transposed = _transpose(outputs, inputs)
    roots, cts = [], []
    for g, t in zip(transposed.grads, tangents, strict=True):
        if g is not None:
            roots.append(g)
            cts.append(t)
    wanted = [u for u in transposed.dummies if u is not None]
    results: list[Any] = [None] * len(wanted)
    if roots and wanted:
        roots, cts = _check_roots("jvp", roots, cts, keep_graph=inputs.record)
        captured = run_backward(roots, cts, retain_graph=True, create_graph=inputs.record, capture=wanted)
        assert captured is not None
        results = captured
    by_output = iter(results)
    columns = []
    for o, u in zip(outputs, transposed.dummies, strict=True):
        r = next(by_output) if u is not None else None
        columns.append(_zeros_like(o) if r is None else _as_tensor(r))
    return columns


# -- jacobians and the hessian ----------------------------------------------------------------------------------


def jacrev(fun: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable[..., Any]:
    """The Jacobian of ``fun`` by reverse mode, one VJP per output element (``jax.jacrev``).

    For an output of shape ``S`` and an argument of shape ``T`` the block has shape ``S + T``. Pytrees nest as
    in JAX: the output's structure outside, the arguments' inside. On jax the VJPs are batched into one
    vectorized backward pass (``jax.vmap``); other backends loop over the output elements, reusing one forward
    pass. Real dtypes only: for holomorphic complex functions use :func:`jacfwd`.

    Examples
    --------
    >>> J = wrapgrad.jacrev(lambda x: xp.sin(x) * x[0])(x)      # shape (n, n)
    """
    _check_fn("jacrev", fun)

    def jacrev_fun(*args: Any) -> Any:
        inputs = _prepare("jacrev", args, argnums)
        with _inside_transform():
            out, aux = _split_aux("jacrev", fun(*inputs.args), has_aux)
        outputs, out_def = _output_tensors("jacrev", out)
        _refuse_complex("jacrev", outputs, inputs.tensors, "use jacfwd for holomorphic functions")
        blocks = [_jacrev_blocks(o, inputs) for o in outputs]
        result = _unwrap(tree_unflatten(out_def, [_by_argument(inputs, b) for b in blocks]), inputs.raw)
        return (result, _unwrap(aux, inputs.raw)) if has_aux else result

    return jacrev_fun


jacobian = jacrev
"""``jacobian(fun, argnums=0, has_aux=False)``: the Jacobian, by reverse mode (an alias of :func:`jacrev`, as
``torch.autograd.functional.jacobian`` defaults to reverse mode)."""


def _refuse_complex(op: str, outputs: list[Tensor], inputs: list[Tensor], hint: str) -> None:
    for t in [*outputs, *inputs]:
        if t.dtype in t._backend.complex_dtypes:
            raise TypeError(f"{op}: complex arrays are not supported ({hint})")


def _basis(o: Tensor) -> Any:
    """The identity matrix on ``o``'s elements, each row shaped like ``o``: shape ``(o.size, *o.shape)``."""
    xp = o._backend.xp
    n = math.prod(_shape(o))
    eye = xp.eye(n, dtype=o.dtype, device=o.device)
    return xp.reshape(eye, (n, *_shape(o)))


def _jacrev_blocks(o: Tensor, inputs: _Inputs) -> list[Tensor]:
    """d o / d input for every input: blocks shaped ``o.shape + input.shape``."""
    if not _on_tape(o):
        return [_zeros_block(o, t) for t in inputs.tensors]
    n = math.prod(_shape(o))
    basis = _basis(o)

    def row(ct: Any) -> tuple[Any, ...]:
        grads = _differentiate("jacrev", [o], [ct], inputs.tensors, retain_graph=True, create_graph=inputs.record)
        return tuple(g if inputs.record else g._data for g in grads)

    rows = _map_rows(o._backend, row, basis, n, inputs.record)
    return [_reshape(r, (*_shape(o), *_shape(t))) for r, t in zip(rows, inputs.tensors, strict=True)]


def _map_rows(backend: Backend, fn: Callable[[Any], tuple[Any, ...]], basis: Any, n: int, record: bool
              ) -> list[Any]:
    """Apply ``fn`` to each row of ``basis`` and stack the results: one vectorized call where the backend can
    batch (jax; not when the results must stay on the tape), else a loop."""
    mapped = None if record else backend.vmap(fn)
    if mapped is not None:
        return [Tensor._make(r, backend) for r in mapped(basis)]
    per_row = [fn(basis[k, ...]) for k in range(n)]
    columns = list(zip(*per_row, strict=True))
    if record:
        xp = _namespace(backend)
        return [xp.stack(list(c), axis=0) for c in columns]
    return [Tensor._make(backend.xp.stack(list(c), axis=0), backend) for c in columns]


def _namespace(backend: Backend) -> Any:
    from ._namespace import namespace_of_backend

    return namespace_of_backend(backend)


def _shape(t: Tensor) -> tuple[int, ...]:
    return tuple(t._data.shape)


def _reshape(t: Tensor, shape: tuple[int, ...]) -> Tensor:
    return apply("reshape", t, shape=shape)


def _zeros_block(o: Tensor, t: Tensor) -> Tensor:
    xp = o._backend.xp
    return Tensor._make(xp.zeros((*_shape(o), *_shape(t)), dtype=t.dtype, device=o.device), o._backend)


def jacfwd(fun: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable[..., Any]:
    """The Jacobian of ``fun`` by forward mode, one JVP per input element (``jax.jacfwd``).

    Same layout as :func:`jacrev` (output shape, then argument shape). The JVPs share one transposed VJP and
    are batched with ``jax.vmap`` on jax. For complex arguments the derivative along the real axis is
    returned, which is ``f'(z)`` for holomorphic ``f`` (``jax.jacfwd(..., holomorphic=True)``).

    Examples
    --------
    >>> J = wrapgrad.jacfwd(lambda x: xp.sin(x) * x[0])(x)
    """
    _check_fn("jacfwd", fun)

    def jacfwd_fun(*args: Any) -> Any:
        inputs = _prepare("jacfwd", args, argnums)
        with _inside_transform():
            out, aux = _split_aux("jacfwd", fun(*inputs.args), has_aux)
        outputs, out_def = _output_tensors("jacfwd", out)
        transposed = _transpose(outputs, inputs)
        per_input = []  # per input: one block per output, shaped output.shape + input.shape
        for i, t in enumerate(inputs.tensors):
            per_input.append(_jacfwd_blocks(outputs, inputs, transposed, i, t))
        blocks = [[per_input[i][k] for i in range(len(inputs.tensors))] for k in range(len(outputs))]
        result = _unwrap(tree_unflatten(out_def, [_by_argument(inputs, b) for b in blocks]), inputs.raw)
        return (result, _unwrap(aux, inputs.raw)) if has_aux else result

    return jacfwd_fun


def _jacfwd_blocks(outputs: list[Tensor], inputs: _Inputs, transposed: _Transposed, i: int, t: Tensor
                   ) -> list[Tensor]:
    n = math.prod(_shape(t))
    basis = _basis(t)
    zero_tangents = [_zeros_like(s) for s in inputs.tensors]

    def column(direction: Any) -> tuple[Any, ...]:
        tangents = list(zero_tangents)
        tangents[i] = _as_tensor(direction)
        cols = _forward_columns(outputs, inputs, tangents, transposed)
        return tuple(c if inputs.record else c._data for c in cols)

    # _map_rows stacks the columns along a new first axis: shape (n, *out.shape); move it to the end.
    stacked = _map_rows(t._backend, column, basis, n, inputs.record)
    blocks = []
    for col, o in zip(stacked, outputs, strict=True):
        moved = apply("permute_dims", col, axes=(*range(1, col.ndim), 0)) if o.ndim else col
        blocks.append(_reshape(moved, (*_shape(o), *_shape(t))))
    return blocks


def hessian(fun: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable[..., Any]:
    """The Hessian of the scalar function ``fun`` (``jax.hessian``): ``jacrev(grad(fun))``.

    For an argument of shape ``T`` the result has shape ``T + T``; for a tuple ``argnums``, a nested tuple of
    blocks ``H[i][j]`` of shape ``T_i + T_j``. The gradient's backward pass is recorded and differentiated
    again, so every op with a reverse rule has a Hessian.

    Examples
    --------
    >>> H = wrapgrad.hessian(lambda x: xp.sum(x ** 3))(x)       # diag(6 x)
    """
    _check_fn("hessian", fun)
    inner = grad(fun, argnums, has_aux)
    return jacrev(inner, argnums, has_aux)
