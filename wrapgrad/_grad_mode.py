"""Grad mode: whether operations are recorded on the tape.

The flag lives in a :class:`contextvars.ContextVar`, so every thread and every asyncio task sees its own
value: a ``no_grad()`` block in one thread never switches recording off in another.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any, TypeVar

__all__ = ["enable_grad", "is_grad_enabled", "no_grad", "set_grad_enabled"]

_GRAD_ENABLED: ContextVar[bool] = ContextVar("wrapgrad_grad_enabled", default=True)

F = TypeVar("F", bound=Callable[..., Any])


def is_grad_enabled() -> bool:
    """Return True when new operations are recorded for reverse mode."""
    return _GRAD_ENABLED.get()


class _GradMode(contextlib.ContextDecorator):
    """Set the grad flag on entry and restore the previous value on exit (also after an exception)."""

    mode: bool

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self._token: Token[bool] | None = None

    def __enter__(self) -> None:
        self._token = _GRAD_ENABLED.set(self.mode)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._token is not None
        _GRAD_ENABLED.reset(self._token)
        self._token = None

    def _recreate_cm(self) -> _GradMode:
        # Each call of a decorated function gets its own manager, so concurrent calls share no token.
        return _GradMode(self.mode)


class no_grad(_GradMode):
    """Record nothing inside this block or decorated function (``torch.no_grad``).

    Examples
    --------
    >>> with no_grad():
    ...     y = x * 2                           # y.requires_grad is False
    >>> @no_grad()
    ... def evaluate(model, batch): ...
    """

    def __init__(self) -> None:
        super().__init__(False)


class enable_grad(_GradMode):
    """Record again, for example inside a ``no_grad`` block (``torch.enable_grad``)."""

    def __init__(self) -> None:
        super().__init__(True)


class set_grad_enabled(_GradMode):
    """Switch recording on or off: a plain call, a context manager or a decorator (``torch.set_grad_enabled``).

    A plain call ``set_grad_enabled(False)`` takes effect at once in the current context; used with
    ``with`` or as a decorator, the previous value comes back at the end.

    Parameters
    ----------
    mode : bool
        True records operations on Tensors that require grad, False records nothing.
    """

    def __init__(self, mode: bool) -> None:
        super().__init__(mode)
        self._token = _GRAD_ENABLED.set(self.mode)

    def __enter__(self) -> None:
        if self._token is None:  # a reused instance: the value set by __init__ was already restored
            self._token = _GRAD_ENABLED.set(self.mode)

    def __call__(self, func: F) -> F:
        # Used as a decorator: undo the switch __init__ made, the decorated calls make their own.
        if self._token is not None:
            _GRAD_ENABLED.reset(self._token)
            self._token = None
        return super().__call__(func)
