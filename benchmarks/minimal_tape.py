"""The smallest reverse-mode tape that runs the W1 chain: a floor for per-op overhead, not a library.

Each op is one numpy call, one ``Var`` and one closure; backward walks the chain from the loss back to
the input, one closure call per op. There is no dispatch by name, no broadcasting or dtype handling,
no graph with fan-out, no grad mode and no error checking; an op's input must be a ``Var``, and the
other operand of ``*`` and ``+`` a Python scalar. So what it measures is what CPython and numpy cost
per op at least, for any Python autodiff over numpy: the part of wrapgrad's W1 time that engineering
inside wrapgrad cannot remove.

Usage (the benchmarks' adapter does this)::

    x = Var(array)
    loss = chain(minimal_tape, x)   # minimal_tape stands in for ``xp``
    loss.backward()
    x.grad
"""

from __future__ import annotations

import numpy as np

__all__ = ["Var", "exp", "sin", "sum", "tanh"]


class Var:
    """An array, and how to send a cotangent back to the one ``Var`` it was computed from."""

    __slots__ = ("grad", "parent", "value", "vjp")

    def __init__(self, value, parent=None, vjp=None):
        self.value = value
        self.parent = parent  # the input Var, or None for the leaf
        self.vjp = vjp  # cotangent of this Var -> cotangent of parent
        self.grad = None

    def __mul__(self, c):
        return Var(self.value * c, self, lambda g: g * c)

    def __add__(self, c):
        return Var(self.value + c, self, lambda g: g)

    def backward(self):
        g = np.ones_like(self.value)
        var = self
        while var.parent is not None:  # a chain: one input per op
            g = var.vjp(g)
            var = var.parent
        var.grad = g if var.grad is None else var.grad + g


def sin(x):
    value = x.value
    return Var(np.sin(value), x, lambda g: g * np.cos(value))


def tanh(x):
    ans = np.tanh(x.value)
    return Var(ans, x, lambda g: g * (1 - ans * ans))


def exp(x):
    ans = np.exp(x.value)
    return Var(ans, x, lambda g: g * ans)


def sum(x):  # the array API's name
    shape = x.value.shape
    return Var(np.sum(x.value), x, lambda g: np.broadcast_to(g, shape))
