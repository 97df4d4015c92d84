"""Zero cotangents stay zero: the switch, and what anomaly mode learns from the guard.

By default a cotangent element that is exactly zero contributes exactly zero through every gradient rule,
even where the rule's local derivative is infinite or NaN ("0 times anything is 0" in the chain rule). That
is what makes ``where(x > 0, sqrt(x), 0)`` at negative ``x``, ``a[mask] = b[mask]`` over a 0/0, and the code
of SciPy and scikit-learn that relies on either, give the true gradient instead of NaN. The rules apply it
through two helpers of the rule table (``_times`` and ``_over`` in ``_derivatives.py``), which read the flag
kept here at backward time. :class:`ieee_cotangents` switches back to plain IEEE arithmetic (``0 * inf`` is
NaN), where the rules run exactly the operations they ran before the guard existed.
"""

from __future__ import annotations

import cmath
import contextlib
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any

__all__ = ["ieee_cotangents"]

# True: a zero cotangent stays zero (the default). A ContextVar, like grad mode: each thread and task has its own.
ZERO_COTANGENTS: ContextVar[bool] = ContextVar("wrapgrad_zero_cotangents", default=True)


class ieee_cotangents(contextlib.ContextDecorator):
    """Compute gradients with plain IEEE arithmetic inside this block or decorated function.

    By default wrapgrad's backward treats a cotangent element that is exactly zero as contributing exactly
    zero, even where an operation's local derivative is infinite or NaN: the gradient of
    ``where(x > 0, sqrt(x), 0)`` at ``x = -1`` is 0, where PyTorch and JAX give NaN (``0 * nan``). Inside
    ``ieee_cotangents()`` the rules multiply as IEEE 754 says, so a NaN or infinite local derivative always
    reaches the gradient, as in PyTorch. The switch is read when backward runs (not when the forward is
    recorded), and it lives in a :class:`contextvars.ContextVar`, so it holds for the current thread or task
    only.

    The one place where the default changes an answer that is otherwise defined: a cotangent that is zero
    by coincidence at a point where an intermediate is not differentiable. ``sqrt(x) ** 2`` at ``x = 0``
    gets the gradient 0 (the cotangent of ``sqrt`` is ``2 * sqrt(0) = 0``), where IEEE arithmetic (and
    torch) give NaN.

    See Also
    --------
    detect_anomaly : reports, with a warning, each place where a zero cotangent met a non-finite local
        derivative.

    Examples
    --------
    >>> x = xp.asarray([4.0, -1.0], requires_grad=True)
    >>> with wrapgrad.ieee_cotangents():
    ...     xp.sum(xp.where(x > 0, xp.sqrt(x), 0.0)).backward()
    >>> x.grad                                     # [0.25, nan]; without the block: [0.25, 0.]
    """

    def __init__(self) -> None:
        self._tokens: list[Token[bool]] = []

    def __enter__(self) -> ieee_cotangents:
        self._tokens.append(ZERO_COTANGENTS.set(False))
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        ZERO_COTANGENTS.reset(self._tokens.pop())

    def _recreate_cm(self) -> ieee_cotangents:
        # Each call of a decorated function gets its own manager, so concurrent calls share no token.
        return ieee_cotangents()


# -- anomaly mode ------------------------------------------------------------------------------------------
# Under detect_anomaly the guard counts the elements where it turned 0 * (inf or nan) into 0; the engine's
# anomaly check (_anomaly.check_backward) collects the counts after each node's rule and names the node.
# Anomaly mode is process-wide and eager, so one list is enough.

_MASKED: list[tuple[int, int]] = []  # (elements masked, elements in the product), one entry per guard call


def note_masked(g: Any, d: Any, quotient: bool = False) -> None:
    """Count where a zero ``g`` meets a non-finite local derivative: ``d`` itself, or ``1 / d`` for a
    ``quotient`` (raw arrays, Tensors or scalars; eager only: anomaly mode reads values)."""
    import array_api_compat

    from ._tensor import Tensor

    g = g._data if isinstance(g, Tensor) else g
    d = d._data if isinstance(d, Tensor) else d
    xp = array_api_compat.array_namespace(g)
    if isinstance(d, (bool, int, float, complex)):
        if (d != 0 and cmath.isfinite(d)) if quotient else cmath.isfinite(d):
            return
        masked = g == 0
    elif quotient:
        masked = (g == 0) & ((d == 0) | xp.isnan(d))
    else:
        masked = (g == 0) & ~xp.isfinite(d)
    n = int(xp.sum(xp.astype(masked, xp.int64)))
    if n:
        _MASKED.append((n, int(xp.sum(xp.ones_like(masked, dtype=xp.int64)))))


def take_masked() -> list[tuple[int, int]]:
    """The counts noted since the last call, and forget them."""
    taken = list(_MASKED)
    _MASKED.clear()
    return taken
