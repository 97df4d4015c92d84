"""Anomaly mode: find the operation that produced the first NaN or Inf, forward or backward.

Off by default, and then free: the funnel and the engine test one flag. On, every recorded forward result
and every gradient a node returns is checked (value-dependent Python, so anomaly mode is for eager debugging
and is not compatible with ``jax.jit``), and the creation traceback of every node is kept, so a NaN found in
backward names the forward call that recorded the guilty node.
"""

from __future__ import annotations

import contextlib
import traceback
import warnings
from types import TracebackType
from typing import Any

from ._fast import general_funnel_only
from ._graph import ANOMALY, Node
from ._zero_cotangent import take_masked

__all__ = ["AnomalyError", "detect_anomaly", "is_anomaly_enabled"]

_WHERE_HINT = (
    "If this value is discarded later (for example in the unselected branch of where(x > 0, sqrt(x), 0)), "
    "the forward result looks fine and by default the gradient is too (a zero cotangent stays zero), but "
    "under wrapgrad.ieee_cotangents() it is NaN, because backward then multiplies the zero cotangent of the "
    "discarded branch by an infinite or NaN local derivative. There, guard the input instead, "
    "e.g. where(x > 0, sqrt(where(x > 0, x, 1)), 0)."
)


class AnomalyError(RuntimeError):
    """A NaN or Inf appeared where the inputs had none (raised only inside :class:`detect_anomaly`)."""


class detect_anomaly(contextlib.ContextDecorator):
    """Check every recorded forward result and every backward gradient for NaN and Inf.

    Raises :class:`AnomalyError` at the first operation that produces a NaN or Inf from finite inputs, naming
    the operation; in backward it names the node (``SqrtBackward0``) and shows where its forward operation was
    called. Process-wide, like ``torch.autograd.detect_anomaly``; use it as a context manager or decorator.

    It also warns (``RuntimeWarning``), naming the node, at each place where a zero cotangent met an infinite
    or NaN local derivative and the zero-cotangent rule made the gradient 0 there (see
    :class:`wrapgrad.ieee_cotangents`): the places where PyTorch would have produced NaN.

    Parameters
    ----------
    check_forward : bool
        Also check forward results (default). With False only gradients are checked, which is what to use when
        the forward legitimately produces NaN or Inf that is discarded (and you want to see whether it poisons
        the gradient).

    Examples
    --------
    >>> with wrapgrad.detect_anomaly(check_forward=False), wrapgrad.ieee_cotangents():
    ...     y = xp.where(x > 0, xp.sqrt(x), 0.0)
    ...     xp.sum(y).backward()      # AnomalyError: SqrtBackward0 returned NaN ... (forward sqrt called at ...)
    >>> with wrapgrad.detect_anomaly(check_forward=False):
    ...     y = xp.where(x > 0, xp.sqrt(x), 0.0)
    ...     xp.sum(y).backward()      # RuntimeWarning: SqrtBackward0: a zero cotangent met ... ; gradient 0
    """

    def __init__(self, check_forward: bool = True) -> None:
        self.check_forward = bool(check_forward)
        self._previous: list[tuple[bool, bool, contextlib.ExitStack]] = []

    def __enter__(self) -> detect_anomaly:
        # The funnel's fast path records no creation tracebacks and checks no results: off meanwhile.
        general = contextlib.ExitStack()
        general.enter_context(general_funnel_only())
        self._previous.append((ANOMALY.on, ANOMALY.check_forward, general))
        take_masked()  # forget counts that an interrupted backward left behind
        ANOMALY.on = True
        ANOMALY.check_forward = self.check_forward
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        ANOMALY.on, ANOMALY.check_forward, general = self._previous.pop()
        general.close()


def is_anomaly_enabled() -> bool:
    """True inside :class:`detect_anomaly`."""
    return ANOMALY.on


def _data(value: Any) -> Any:
    from ._tensor import Tensor

    return value._data if isinstance(value, Tensor) else value


def _bad(backend: Any, value: Any) -> str | None:
    """"NaN" or "Inf" when a floating array holds one (NaN wins), None when it is finite or not floating."""
    data = _data(value)
    if data is None or isinstance(data, (bool, int)):
        return None
    if isinstance(data, (float, complex)):
        data = backend.xp.asarray(data)
    if getattr(data, "dtype", None) not in backend.differentiable_dtypes:
        return None
    xp = backend.xp
    if bool(xp.any(xp.isnan(data))):
        return "NaN"
    if bool(xp.any(xp.isinf(data))):
        return "Inf"
    return None


def _count(backend: Any, value: Any) -> str:
    xp = backend.xp
    data = _data(value)
    bad = ~xp.isfinite(data)
    n = int(xp.sum(xp.astype(bad, xp.int64)))
    return f"{n} of {int(xp.sum(xp.ones_like(bad, dtype=xp.int64)))} elements"


def record_forward(node: Node, outputs: Any, inputs: Any) -> None:
    """Called by the funnel for every recorded operation while anomaly mode is on."""
    ANOMALY.where_created[node] = "".join(traceback.format_stack()[:-3])
    if not ANOMALY.check_forward:
        return
    backend = node.backend
    if any(_bad(backend, a) for a in inputs):
        return  # this operation did not produce it: the first producer was reported, or the data came in so
    for i, out in enumerate(outputs if isinstance(outputs, (tuple, list)) else (outputs,)):
        kind = _bad(backend, out)
        if kind is not None:
            which = f"output {i}" if isinstance(outputs, (tuple, list)) else "result"
            raise AnomalyError(
                f"detect_anomaly: {node.name} produced {kind} in its forward {which} ({_count(backend, out)}) from "
                f"finite inputs. {_WHERE_HINT if kind == 'NaN' or node.name in ('sqrt', 'log') else ''}".rstrip()
            )


def check_backward(node: Node, g: Any, grads: list[Any]) -> None:
    """Called by the engine after each node's rule while anomaly mode is on."""
    _report_masked(node)
    backend = node.backend
    incoming = g if isinstance(g, list) else [g]
    if any(_bad(backend, gi) for gi in incoming if gi is not None):
        return  # the NaN came in with the cotangent: reported where it was made
    for i, gi in enumerate(grads):
        if gi is None:
            continue
        kind = _bad(backend, gi)
        if kind is None:
            continue
        forward_bad = [a for a in (*(node.saved_args or ()), node.ans) if _bad(backend, a)]
        cause = (
            f" The forward {node.name} itself produced non-finite values here. {_WHERE_HINT}" if forward_bad
            else ""
        )
        where = ANOMALY.where_created.get(node)
        trace = f"\nThe forward {node.name} was called at:\n{where}" if where else ""
        raise AnomalyError(
            f"detect_anomaly: {node.type_name()} returned {kind} in the gradient of its argument {i} "
            f"({_count(backend, gi)}) from a finite incoming gradient.{cause}{trace}"
        )


def _report_masked(node: Node) -> None:
    """Warn, naming the node, where its rule's zero-cotangent guard turned 0 * (inf or nan) into 0."""
    masked = take_masked()
    if not masked:
        return
    counts = ", ".join(f"{n} of {total} elements" for n, total in masked)
    where = ANOMALY.where_created.get(node)
    trace = f"\nThe forward {node.name} was called at:\n{where}" if where else ""
    warnings.warn(
        f"detect_anomaly: {node.type_name()}: a zero cotangent met an infinite or NaN local derivative "
        f"({counts}); the gradient there is 0, not NaN (wrapgrad.ieee_cotangents() gives IEEE's NaN).{trace}",
        RuntimeWarning,
        stacklevel=2,
    )
