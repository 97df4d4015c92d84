"""Entry points into the engine: checking the roots and cotangents of a backward pass."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import array_api_compat

from ._backend import backend_of_array
from ._tensor import Tensor

__all__ = ["autograd_grad"]


def _check_roots(op: str, roots: Sequence[Any], gradients: Sequence[Any] | None,
                 keep_graph: bool = False) -> tuple[list[Tensor], list[Any]]:
    """Validate the outputs and cotangents of a backward pass; return the roots and their cotangents.

    Cotangents come back as raw backend arrays, or as Tensors when ``keep_graph`` (``create_graph``) so
    that a cotangent that itself requires grad stays on the tape.
    """
    if gradients is not None and len(gradients) != len(roots):
        raise ValueError(f"{op}: got {len(gradients)} gradients for {len(roots)} outputs")
    checked: list[Tensor] = []
    cotangents: list[Any] = []
    for i, root in enumerate(roots):
        if not isinstance(root, Tensor):
            raise TypeError(f"{op}: output {i} is a {type(root).__name__}, not a wrapgrad Tensor")
        if not root._requires_grad:
            raise RuntimeError(
                f"{op}: output {i} does not require grad and has no grad_fn (nothing on the tape leads to it; "
                f"did you compute it under no_grad, or from tensors without requires_grad=True?)"
            )
        gradient = None if gradients is None else gradients[i]
        xp = root._backend.xp
        if gradient is None:
            size = root.size
            if size != 1:
                raise RuntimeError(
                    f"{op}: gradient is required for a non-scalar output of shape {root.shape} "
                    f"(pass a cotangent of that shape, e.g. ones_like(output))"
                )
            if root.dtype in root._backend.complex_dtypes:
                # torch refuses too: a complex output has no "the" gradient, and silently taking Re(L) would
                # differentiate something other than what the user wrote.
                raise RuntimeError(
                    f"{op}: gradient can be implicitly created only for real scalar outputs, but output {i} is "
                    f"complex ({root.dtype}); differentiate a real loss (xp.real(out), xp.abs(out) ** 2), or pass "
                    f"the cotangent explicitly (gradient=xp.ones_like(out) for the gradient of Re(out))"
                )
            cotangent: Any = xp.ones_like(root._data)
        else:
            cotangent = _cotangent(op, root, gradient, keep_graph)
        checked.append(root)
        cotangents.append(Tensor._make(cotangent, root._backend) if keep_graph and not isinstance(cotangent, Tensor)
                          else cotangent)
    return checked, cotangents


def _cotangent(op: str, root: Tensor, gradient: Any, keep_graph: bool) -> Any:
    backend = root._backend
    xp = backend.xp
    if isinstance(gradient, Tensor):
        if gradient._backend is not backend:
            raise TypeError(
                f"{op}: gradient comes from {gradient._backend.name}, the output from {backend.name}"
            )
        data = gradient._data
    elif isinstance(gradient, (bool, int, float, complex)):
        data = xp.full(root._data.shape, gradient, dtype=root.dtype, device=root.device)
    else:
        other = backend_of_array(gradient)
        if other is not backend:
            raise TypeError(f"{op}: gradient comes from {other.name}, the output from {backend.name}")
        data = backend.normalize(gradient) if backend.normalize is not None else gradient
    if tuple(data.shape) != root.shape:
        raise ValueError(
            f"{op}: gradient has shape {tuple(data.shape)}, but the output has shape {root.shape}"
        )
    if not isinstance(gradient, (bool, int, float, complex)):
        device = array_api_compat.device(data)
        # None: a traced jax array (jax.vmap/jit) has no device of its own; it is placed with the computation
        if device is not None and root.device is not None and device != root.device:
            raise ValueError(f"{op}: gradient is on device {device}, but the output is on device {root.device}")
    if data.dtype != root.dtype:
        if xp.isdtype(data.dtype, "complex floating") and not xp.isdtype(root.dtype, "complex floating"):
            raise TypeError(f"{op}: gradient is complex ({data.dtype}), but the output is real ({root.dtype})")
        if isinstance(gradient, Tensor) and keep_graph:
            from ._data_type import astype

            return astype(gradient, root.dtype)
        data = xp.astype(data, root.dtype)
    if keep_graph and isinstance(gradient, Tensor):
        return gradient
    return data


def autograd_grad(
    outputs: Any,
    inputs: Any,
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, returned rather than accumulated
    (``torch.autograd.grad``).

    Parameters
    ----------
    outputs : Tensor or sequence of Tensors
        What to differentiate.
    inputs : Tensor or sequence of Tensors
        With respect to what: leaves or intermediate tensors that require grad.
    grad_outputs : sequence, optional
        The cotangent of each output; ``None`` (or a ``None`` entry) means one, for single-element outputs.
    retain_graph : bool, optional
        Keep the saved values for another backward; defaults to ``create_graph``.
    create_graph : bool, optional
        Record the computation of the gradients, so that they can be differentiated again.
    allow_unused : bool, optional
        Return ``None`` for an input that no output depends on, instead of raising.

    Returns
    -------
    tuple of Tensor or None
        One gradient per input. ``.grad`` attributes are left untouched.
    """
    single = isinstance(outputs, Tensor)
    outputs = [outputs] if single else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is not None:
        grad_outputs = [grad_outputs] if isinstance(grad_outputs, Tensor) or not isinstance(
            grad_outputs, (list, tuple)) else list(grad_outputs)
        if len(grad_outputs) != len(outputs):
            raise ValueError(f"autograd_grad: got {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"autograd_grad: input {i} is a {type(t).__name__}, not a wrapgrad Tensor")
        if not t._requires_grad:
            raise RuntimeError(f"autograd_grad: input {i} does not require grad")
    roots, cotangents = [], []
    for i, out in enumerate(outputs):
        given = None if grad_outputs is None else grad_outputs[i]
        r, c = _check_roots("autograd_grad", [out], None if given is None else [given], keep_graph=create_graph)
        roots += r
        cotangents += c
    if retain_graph is None:
        retain_graph = create_graph
    from ._graph import run_backward

    grads = run_backward(roots, cotangents, retain_graph=retain_graph, create_graph=create_graph, capture=inputs)
    assert grads is not None
    results: list[Tensor | None] = []
    for i, (t, g) in enumerate(zip(inputs, grads)):
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"autograd_grad: input {i} is not used to compute the outputs (pass allow_unused=True "
                    f"to get None for it)"
                )
            results.append(None)
        elif isinstance(g, Tensor):
            results.append(g)
        else:
            results.append(Tensor._make(g, t._backend))
    return tuple(results)
