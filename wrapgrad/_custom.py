"""User-defined gradients: :class:`Function` (``torch.autograd.Function``) and :class:`custom_vjp` (``jax.custom_vjp``).

Each call records one Node whose Rule is built for that call: ``Rule.custom`` holds a :class:`_CustomBackward`
that runs the user's backward on Tensors, and the node's saved ``ans`` is the call's context (so freeing the
graph frees what the user saved, and a second backward is the usual clear error). The node is named after
the class or function, e.g. ``MyExpBackward``. A backward written with wrapgrad operations is itself
recorded under ``create_graph=True``, so higher derivatives work.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from ._backend import Backend
from ._grad_mode import is_grad_enabled, no_grad, set_grad_enabled
from ._graph import ANOMALY, Node, Rule, fit_grad, node_from_edges
from ._tensor import Tensor

__all__ = ["Function", "FunctionCtx", "custom_vjp"]


class FunctionCtx:
    """The ``ctx`` of a :class:`Function`: what ``forward`` leaves for ``backward``.

    Use :meth:`save_for_backward` for Tensors (inputs or outputs) and plain attributes for anything else.
    ``needs_input_grad`` says, per forward argument, whether a gradient is wanted.
    """

    def __init__(self, needs_input_grad: tuple[bool, ...]) -> None:
        self.needs_input_grad = needs_input_grad
        self._saved: tuple[Any, ...] = ()

    def save_for_backward(self, *tensors: Any) -> None:
        """Keep Tensors for backward. Saved inputs and outputs stay on the tape, so a backward written with
        wrapgrad operations can itself be differentiated (``create_graph=True``)."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward: argument {i} is a {type(t).__name__}, not a Tensor (store "
                                f"other values as attributes of ctx)")
        self._saved = tensors

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        """The Tensors given to :meth:`save_for_backward`."""
        return self._saved


class _CustomBackward:
    """The custom part of the Rule of one call: runs the user's backward and fits its gradients."""

    __slots__ = ("backend", "backward", "name", "out_meta")

    def __init__(self, name: str, backend: Backend, backward: Callable[..., Any],
                 out_meta: list[tuple[Any, Any]]) -> None:
        self.name = name
        self.backend = backend
        self.backward = backward
        self.out_meta = out_meta

    def grads(self, node: Node, g: Any, create_graph: bool) -> list[Any]:
        backend = self.backend
        ctx = node.ans
        gs = list(g) if node.multi else [g]
        wrapped = []
        for gi, (shape, dtype) in zip(gs, self.out_meta, strict=True):
            if gi is None:  # an output that got no gradient: zeros, as torch materializes them
                gi = backend.xp.zeros(shape, dtype=dtype)
            wrapped.append(gi if isinstance(gi, Tensor) else Tensor._make(gi, backend))
        with set_grad_enabled(create_graph):
            result = self.backward(ctx, *wrapped)
        results = result if isinstance(result, (tuple, list)) else (result,)
        if len(results) != len(node.next):
            raise TypeError(
                f"{self.name}.backward returned {len(results)} gradient{'s' if len(results) != 1 else ''}, but "
                f"forward took {len(node.next)} argument{'s' if len(node.next) != 1 else ''} (return None for "
                f"the ones without a gradient)"
            )
        if create_graph:
            from ._namespace import namespace_of_backend

            xp = namespace_of_backend(backend)
        else:
            xp = backend.xp
        fitted: list[Any] = []
        for i, (r, edge, meta) in enumerate(zip(results, node.next, node.arg_meta(), strict=True)):
            if edge is None or r is None:
                fitted.append(None)
                continue
            assert meta is not None  # an edge always comes with its input's (shape, dtype)
            fitted.append(fit_grad(xp, self._checked(i, r, meta, create_graph), *meta))
        return fitted

    def _checked(self, i: int, r: Any, meta: tuple[Any, Any], create_graph: bool) -> Any:
        if not isinstance(r, Tensor):
            if isinstance(r, (bool, int, float, complex)):
                r = Tensor._make(self.backend.xp.full(meta[0], r, dtype=meta[1]), self.backend)
            else:
                r = Tensor(r)
        if r._backend is not self.backend:
            raise TypeError(f"{self.name}.backward: gradient {i} comes from {r._backend.name}, the input from "
                            f"{self.backend.name}")
        shape = tuple(meta[0])
        if not _broadcastable(r.shape, shape):
            raise ValueError(f"{self.name}.backward: gradient {i} has shape {r.shape}, but the input has shape "
                             f"{shape}")
        return r if create_graph else r._data


def _broadcastable(grad_shape: tuple[Any, ...], shape: tuple[Any, ...]) -> bool:
    """A gradient may have extra leading axes or size-1 axes (fit_grad sums them away), nothing else."""
    aligned = zip(reversed(grad_shape), reversed(shape), strict=False)  # extra leading axes are summed
    return all(a == b or a == 1 or b == 1 for a, b in aligned)


def _apply_custom(name: str, forward: Callable[..., Any], backward: Callable[..., Any], args: Sequence[Any],
                  ctx: Any, record_forward: bool = False) -> Any:
    """Run ``forward(ctx, *args)`` and record one node whose backward is ``backward(ctx, *grads)``."""
    backend = None
    for a in args:
        if isinstance(a, Tensor):
            if backend is None:
                backend = a._backend
            elif a._backend is not backend:
                raise TypeError(f"{name}: arguments come from different array libraries ({backend.name}, "
                                f"{a._backend.name})")
    if backend is None:
        raise TypeError(f"{name}: expected at least one wrapgrad Tensor argument")
    tracked = is_grad_enabled() and any(isinstance(a, Tensor) and a._requires_grad for a in args)
    if record_forward and tracked:
        out = forward(ctx, *args)
    else:
        with no_grad():
            out = forward(ctx, *args)
    multi = isinstance(out, (tuple, list))
    outs = list(out) if multi else [out]
    for i, o in enumerate(outs):
        if not isinstance(o, Tensor):
            if isinstance(o, (bool, int, float, complex)) or o is None:
                raise TypeError(f"{name}.forward: output {i} is a {type(o).__name__}, not an array")
            outs[i] = Tensor(o)
    if not tracked:
        return tuple(outs) if multi else outs[0]
    edges: list[Any] = []
    meta: list[Any] = []
    for a in args:
        if isinstance(a, Tensor) and a._requires_grad:
            edges.append((a._node, a._output_nr) if a._node is not None else (a, 0))
            meta.append((a._data.shape, a._data.dtype))
        else:
            edges.append(None)
            meta.append(None)
    custom = _CustomBackward(name, backend, backward, [(o._data.shape, o._data.dtype) for o in outs])
    rule = Rule((None,), uses_args=False, uses_ans=True, joint=True, custom=custom)
    node = node_from_edges(name, backend, rule, tuple(edges), tuple(meta), None, ctx, {}, len(outs), multi=multi)
    if ANOMALY.on:
        import traceback

        ANOMALY.where_created[node] = "".join(traceback.format_stack()[:-2])
    results = []
    arg_ids = {id(a) for a in args}
    for i, o in enumerate(outs):
        if o.dtype not in backend.differentiable_dtypes:
            results.append(o)
        elif o._requires_grad or id(o) in arg_ids:
            # Not a fresh result (an input passed through, or a value already on the tape): a new Tensor.
            results.append(Tensor._make(o._data, backend, node, i))
        else:
            # A fresh result: put it on the tape in place, so that ctx's saved copy of it is on the tape too.
            o._node, o._output_nr, o._requires_grad = node, i, True
            results.append(o)
    return tuple(results) if multi else results[0]


class Function:
    """A differentiable operation with a hand-written gradient (``torch.autograd.Function``).

    Subclass it with two static methods, and call it with ``apply``:

    - ``forward(ctx, *args)`` computes the result (grad mode is off inside; use ``ctx.save_for_backward``);
    - ``backward(ctx, *grad_outputs)`` returns one gradient per forward argument (``None`` where there is none).

    ``backward`` gets Tensors; written with wrapgrad operations it is recorded under ``create_graph=True``, so
    higher derivatives work. The node in ``grad_fn`` is named ``<ClassName>Backward``.

    Examples
    --------
    >>> class MyExp(wrapgrad.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         y = xp.exp(x)
    ...         ctx.save_for_backward(y)
    ...         return y
    ...     @staticmethod
    ...     def backward(ctx, g):
    ...         (y,) = ctx.saved_tensors
    ...         return g * y
    >>> y = MyExp.apply(x)
    """

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any) -> Any:
        """Compute the outputs from the inputs; save what backward needs on ``ctx``."""
        raise NotImplementedError("Function.forward: subclasses must define a static forward(ctx, *args)")

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Any) -> Any:
        """Return the gradient of each forward argument, given the gradient of each output."""
        raise NotImplementedError("Function.backward: subclasses must define a static backward(ctx, *grads)")

    @classmethod
    def apply(cls, *args: Any) -> Any:
        """Call ``forward`` and record ``backward`` for the outputs."""
        needs = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        return _apply_custom(cls.__name__, cls.forward, cls.backward, args, FunctionCtx(needs))


class custom_vjp:
    """A function with a user-defined VJP (``jax.custom_vjp``).

    Decorate the primal function, then give the rule with ``defvjp(fwd, bwd)``: ``fwd(*args)`` returns
    ``(output, residuals)``, ``bwd(residuals, g)`` returns a tuple with one cotangent per argument (``None``
    for none); ``g`` is a tuple when the output is. ``fwd`` runs on the tape, so residuals computed from the
    arguments keep their graph and a ``bwd`` written with wrapgrad operations can be differentiated again.
    Arguments are Tensors or raw arrays; other arguments are passed through unchanged.

    Examples
    --------
    >>> @wrapgrad.custom_vjp
    ... def safe_log(x):
    ...     return xp.log(x)
    >>> safe_log.defvjp(lambda x: (xp.log(x), x), lambda x, g: (g / xp.maximum(x, 1e-12),))
    """

    def __init__(self, fun: Callable[..., Any]) -> None:
        if not callable(fun):
            raise TypeError(f"custom_vjp: expected a function, got {type(fun).__name__}")
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.name: str = getattr(fun, "__name__", "custom_vjp")
        self.fwd: Callable[..., Any] | None = None
        self.bwd: Callable[..., Any] | None = None

    def defvjp(self, fwd: Callable[..., Any], bwd: Callable[..., Any]) -> custom_vjp:
        """Set the rule: ``fwd(*args) -> (out, residuals)`` and ``bwd(residuals, g) -> tuple of cotangents``."""
        self.fwd = fwd
        self.bwd = bwd
        return self

    def __call__(self, *args: Any) -> Any:
        if self.fwd is None or self.bwd is None:
            raise TypeError(f"custom_vjp: {self.name} has no rule; call {self.name}.defvjp(fwd, bwd) first")
        if not any(isinstance(a, Tensor) for a in args):
            return self.fun(*args)  # raw arrays: nothing to record
        fwd, bwd, name = self.fwd, self.bwd, _node_name(self.name)
        n_args = len(args)

        def forward(ctx: FunctionCtx, *xs: Any) -> Any:
            out, residuals = fwd(*xs)
            ctx.residuals = residuals  # type: ignore[attr-defined]
            ctx.multi = isinstance(out, (tuple, list))  # type: ignore[attr-defined]
            return out

        def backward(ctx: FunctionCtx, *gs: Any) -> Any:
            cts = bwd(ctx.residuals, tuple(gs) if ctx.multi else gs[0])  # type: ignore[attr-defined]
            if not isinstance(cts, (tuple, list)):
                raise TypeError(f"custom_vjp: the bwd of {self.name} must return a tuple with one cotangent "
                                f"per argument, got {type(cts).__name__}")
            if len(cts) != n_args:
                raise TypeError(f"custom_vjp: the bwd of {self.name} returned {len(cts)} cotangents for "
                                f"{n_args} arguments")
            return tuple(cts)

        needs = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        return _apply_custom(name, forward, backward, args, FunctionCtx(needs), record_forward=True)


def _node_name(fun_name: str) -> str:
    """``safe_log`` -> ``SafeLog``: custom_vjp nodes read like torch's, ``SafeLogBackward``."""
    return "".join(part[:1].upper() + part[1:] for part in fun_name.split("_")) or "CustomVjp"
