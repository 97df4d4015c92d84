"""``gradcheck``: compare reverse-mode gradients with central finite differences."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._autograd import autograd_grad
from ._grad_mode import no_grad
from ._tensor import Tensor

__all__ = ["GradcheckError", "gradcheck"]


class GradcheckError(AssertionError):
    """A gradient disagrees with finite differences; the message names the worst mismatch."""


def _flat_outputs(out: Any) -> list[Tensor]:
    from ._functional import tree_flatten

    items = tree_flatten(out)[0]
    return [t for t in items if isinstance(t, Tensor) and t.dtype in t._backend.differentiable_dtypes]


def _checked_leaves(inputs: Sequence[Any]) -> tuple[list[Any], Any, list[int]]:
    """Flatten the arguments (pytrees allowed); raw floating arrays become Tensors that require grad.
    Returns the leaves, the structure, and the positions of the leaves to check."""
    from ._backend import backend_of_array
    from ._functional import tree_flatten

    leaves, treedef = tree_flatten(tuple(inputs))
    wrt = []
    for i, leaf in enumerate(leaves):
        if not isinstance(leaf, Tensor) and hasattr(leaf, "__array_namespace__") and not isinstance(leaf, str):
            if getattr(leaf, "dtype", None) in backend_of_array(leaf).differentiable_dtypes:
                leaf = leaves[i] = Tensor(leaf, requires_grad=True)
        if isinstance(leaf, Tensor) and leaf.requires_grad:
            wrt.append(i)
    return leaves, treedef, wrt


def _random_like(rng: np.random.Generator, t: Tensor, xp: Any) -> Any:
    shape = t._data.shape  # known here: gradcheck runs eagerly
    values: np.ndarray = rng.standard_normal(shape)
    if xp.isdtype(t.dtype, "complex floating"):
        values = values + 1j * rng.standard_normal(shape)
    return xp.asarray(values, dtype=t.dtype, device=t.device)


def _real_inner(xp: Any, a: Any, b: Any) -> float:
    """Re(sum(conj(a) * b)), as a Python float (values leave the tape here, on purpose)."""
    product = xp.conj(a) * b if xp.isdtype(a.dtype, "complex floating") else a * b
    return float(xp.sum(xp.real(product) if xp.isdtype(product.dtype, "complex floating") else product))


def gradcheck(
    func: Callable[..., Any],
    inputs: Sequence[Any],
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    n_directions: int = 2,
    seed: int = 0,
) -> bool:
    """Check the gradients of ``func`` at ``inputs`` against directional central finite differences.

    A random cotangent ``v`` for the outputs turns ``func`` into the real scalar ``L = Re<v, func(x)>``;
    for random directions ``d``, the derivative ``<grad L, d>`` from backward must match
    ``(L(x + eps d) - L(x - eps d)) / (2 eps)``. Complex inputs and outputs follow wrapgrad's (torch's)
    convention, ``grad = dL/dRe + i dL/dIm``. Use float64 inputs: float32 finite differences are too coarse.

    Parameters
    ----------
    func : callable
        Takes ``inputs`` positionally and returns a Tensor or a pytree (tuple, list, dict) of Tensors.
    inputs : sequence
        The arguments, each a Tensor, a raw array or a pytree of them; the Tensors among them that require grad
        are checked, and raw floating-point arrays are turned into Tensors that require grad (``func`` then
        gets Tensors).
    eps, atol, rtol : float
        Finite-difference step, and the tolerance ``|analytic - numeric| <= atol + rtol * |numeric|``.
    n_directions : int
        How many random directions to try.
    seed : int
        Seed of the random cotangents and directions.

    Returns
    -------
    bool
        True when every direction agrees.

    Raises
    ------
    GradcheckError
        With the worst mismatch, when a direction disagrees.
    """
    from ._functional import tree_unflatten

    if not isinstance(inputs, (tuple, list)):
        inputs = (inputs,)
    leaves, treedef, wrt = _checked_leaves(inputs)
    if not wrt:
        raise ValueError("gradcheck: no input requires grad")

    def call(values: list[Any]) -> Any:
        return func(*tree_unflatten(treedef, values))

    inputs = leaves
    xp = inputs[wrt[0]].__array_namespace__()
    rng = np.random.default_rng(seed)
    outputs = _flat_outputs(call(inputs))
    if not outputs:
        raise ValueError("gradcheck: func returned no floating-point Tensor")
    cotangents = [_random_like(rng, t, xp) for t in outputs]
    differentiable = [t for t in outputs if t.requires_grad]
    grads: list[Any] = [None] * len(wrt)
    if differentiable:
        used = [cotangents[k] for k, t in enumerate(outputs) if t.requires_grad]
        grads = list(autograd_grad(differentiable, [inputs[i] for i in wrt], used, allow_unused=True))

    def loss(shifted: list[Any]) -> float:
        with no_grad():
            values = _flat_outputs(call(shifted))
        return sum(_real_inner(xp, v, t) for v, t in zip(cotangents, values, strict=True))

    worst: tuple[float, float, float, int] | None = None
    for direction_index in range(n_directions):
        directions = {i: _random_like(rng, inputs[i], xp) for i in wrt}
        analytic = sum(
            0.0 if g is None else _real_inner(xp, g, directions[i]) for i, g in zip(wrt, grads, strict=True)
        )
        plus = [a.detach() + eps * directions[i] if i in directions else a for i, a in enumerate(inputs)]
        minus = [a.detach() - eps * directions[i] if i in directions else a for i, a in enumerate(inputs)]
        numeric = (loss(plus) - loss(minus)) / (2 * eps)
        error = abs(analytic - numeric)
        excess = error - (atol + rtol * abs(numeric))
        if excess > 0 and (worst is None or excess > worst[0]):
            worst = (excess, analytic, numeric, direction_index)
    if worst is not None:
        _, analytic, numeric, direction_index = worst
        raise GradcheckError(
            f"gradcheck: directional derivative {direction_index} disagrees: backward gives {analytic!r}, "
            f"central finite differences give {numeric!r} (eps={eps}, atol={atol}, rtol={rtol})"
        )
    return True
