"""``checkpoint``: trade compute for memory by recomputing a block's forward pass during backward."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._apply import apply
from ._autograd import autograd_grad
from ._custom import FunctionCtx, _apply_custom
from ._grad_mode import enable_grad, is_grad_enabled
from ._tensor import Tensor

__all__ = ["checkpoint"]


def checkpoint(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``, without keeping ``fn``'s intermediate values for backward (``torch.utils.checkpoint``).

    The forward pass runs without recording; only the arguments are kept. Backward runs ``fn`` again, with
    recording, and backpropagates through that fresh graph. Peak memory drops from all of ``fn``'s saved
    intermediates to those of one recomputation; the price is one more forward pass of ``fn``. ``fn`` must be
    deterministic (the same values on the second call) and return a Tensor or a tuple of Tensors. It works
    with ``create_graph=True`` (the recomputation is then recorded against the original arguments).

    Examples
    --------
    >>> def block(h):
    ...     for _ in range(10):
    ...         h = xp.tanh(h @ W)
    ...     return h
    >>> out = wrapgrad.checkpoint(block, x)     # keeps x and the output, not the 10 intermediates
    >>> xp.sum(out).backward()
    """
    if not callable(fn):
        raise TypeError(f"checkpoint: expected a function, got {type(fn).__name__}")
    if not is_grad_enabled() or not any(isinstance(a, Tensor) and a._requires_grad for a in args):
        return fn(*args)

    def forward(ctx: FunctionCtx, *xs: Any) -> Any:
        ctx.args = xs  # type: ignore[attr-defined]
        return fn(*xs)

    def backward(ctx: FunctionCtx, *gs: Any) -> Any:
        create_graph = is_grad_enabled()  # the engine runs a custom backward with grad mode = create_graph
        replay = list(ctx.args)  # type: ignore[attr-defined]
        wanted = []
        with enable_grad():
            for i, a in enumerate(replay):
                if isinstance(a, Tensor) and a._requires_grad:
                    # With create_graph the gradients must reach the original arguments: an alias on the tape.
                    replay[i] = apply("positive", a) if create_graph else a.detach().requires_grad_()
                    wanted.append(i)
            out = fn(*replay)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        roots = [o for o, g in zip(outs, gs, strict=True) if o.requires_grad]
        cotangents = [g for o, g in zip(outs, gs, strict=True) if o.requires_grad]
        grads: list[Any] = [None] * len(replay)
        if roots:
            found = autograd_grad(roots, [replay[i] for i in wanted], cotangents, create_graph=create_graph,
                                  allow_unused=True)
            for i, g in zip(wanted, found, strict=True):
                grads[i] = g
        return tuple(grads)

    needs = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
    return _apply_custom("Checkpoint", forward, backward, args, FunctionCtx(needs))
