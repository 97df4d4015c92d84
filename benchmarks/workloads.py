"""Benchmark workloads, written once against an Array-API-like namespace ``xp``.

Every workload body is a plain function ``f(xp, *diff_args, *const_args)``
returning a scalar loss.  Only names that exist in numpy, the Array API
standard, torch (via ``array_api_compat.torch``), ``autograd.numpy``,
``mygrad`` and ``jax.numpy`` are used, so exactly the same body runs on
wrapgrad, raw numpy and every peer.

The inputs are produced as numpy arrays by ``make_inputs(dtype, size)``;
the peer adapters (``peers.py``) convert them to their own array type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

# --------------------------------------------------------------------------
# Workload bodies
# --------------------------------------------------------------------------

#: one cycle of the elementwise chain; values stay in roughly [-1, 1.7],
#: so a chain of any length stays finite in float32 and float64.
CHAIN_CYCLE = ("sin", "mul 1.01", "add 0.1", "tanh", "mul 0.5", "exp")


def chain(xp, x, n_ops: int = 200):
    """``n_ops`` cheap elementwise ops (sin, *1.01, +0.1, tanh, *0.5, exp, ...), then a sum."""
    y = x
    for i in range(n_ops):
        k = i % 6
        if k == 0:
            y = xp.sin(y)
        elif k == 1:
            y = y * 1.01
        elif k == 2:
            y = y + 0.1
        elif k == 3:
            y = xp.tanh(y)
        elif k == 4:
            y = y * 0.5
        else:
            y = xp.exp(y)
    return xp.sum(y)


def residual_chain(xp, x, n_ops: int = 100_000):
    """``n_ops`` sequential ops as n_ops/3 residual steps ``y = y + sin(y) * 1e-4``, then a sum.

    Unlike ``chain`` (whose derivative product underflows to 0 over 100k ops),
    the gradient here stays O(1), so the cross-library gradient check means
    something.  Each step uses y twice, so backward also accumulates fan-out.
    """
    y = x
    for _ in range(n_ops // 3):
        y = y + xp.sin(y) * 1e-4
    return xp.sum(y)


def chain200(xp, x):
    return chain(xp, x, 200)


def mlp_loss(xp, W1, b1, W2, b2, W3, b3, X, Y):
    """784-256-256-10 tanh MLP, mean logsumexp cross-entropy against one-hot ``Y``."""
    h1 = xp.tanh(xp.matmul(X, W1) + b1)
    h2 = xp.tanh(xp.matmul(h1, W2) + b2)
    z = xp.matmul(h2, W3) + b3
    m = xp.max(z, axis=1, keepdims=True)
    lse = xp.log(xp.sum(xp.exp(z - m), axis=1, keepdims=True)) + m
    return (xp.sum(lse) - xp.sum(z * Y)) * (1.0 / X.shape[0])


def elementwise(xp, x):
    """``sum(sin(x)*exp(-x*x) + x**3)``."""
    return xp.sum(xp.sin(x) * xp.exp(-x * x) + x**3)


def matmul_chain(xp, A, B, C):
    """``sum((A@B)@C)``."""
    return xp.sum(xp.matmul(xp.matmul(A, B), C))


def jac_fn(xp, x):
    """R^3 -> R^3 with a dense Jacobian: ``sin(x) * sum(x*x) + 2*x``.

    J = diag(cos(x) * sum(x*x) + 2) + 2 * outer(sin(x), x).
    """
    return xp.sin(x) * xp.sum(x * x) + x * 2.0


def jac_exact(x: np.ndarray) -> np.ndarray:
    s = float(np.sum(x * x))
    return np.diag(np.cos(x) * s + 2.0) + 2.0 * np.outer(np.sin(x), x)


# --------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------


def _rng(seed=0):
    return np.random.default_rng(seed)


def chain_inputs(dtype, size=10):
    x = _rng(1).uniform(-1.0, 1.0, size).astype(dtype)
    return [x], []


def mlp_inputs(dtype, batch=64):
    r = _rng(2)
    sizes = [784, 256, 256, 10]
    params = []
    for fan_in, fan_out in pairwise(sizes):
        params.append((r.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)).astype(dtype))
        params.append((0.1 * r.standard_normal(fan_out)).astype(dtype))
    X = r.standard_normal((batch, 784)).astype(dtype)
    Y = np.eye(10, dtype=dtype)[r.integers(0, 10, batch)]
    return params, [X, Y]


def elementwise_inputs(dtype, size=2_000_000):
    return [_rng(3).uniform(-1.5, 1.5, size).astype(dtype)], []


def matmul_inputs(dtype, n=512):
    r = _rng(4)
    return [(r.standard_normal((n, n)) / np.sqrt(n)).astype(dtype) for _ in range(3)], []


def jac_inputs(dtype):
    return [np.array([0.5, -1.0, 2.0], dtype=dtype)], []


# --------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------


@dataclass
class Workload:
    key: str
    title: str
    fn: Callable
    make_inputs: Callable  # (dtype) -> (diff list, const list) of numpy arrays
    n_ops: int = 1  # for "us per op"
    kind: str = "grad"  # "grad" | "jacobian" | "long_chain"
    notes: str = ""
    extra: dict = field(default_factory=dict)


W4_OPS = 100_000

WORKLOADS = {
    "W1": Workload(
        "W1",
        "chain of 200 elementwise ops, 10 elements",
        chain200,
        chain_inputs,
        n_ops=200,
        notes="us/op = (fwd+bwd time) / 200; the final sum is not counted as an op",
    ),
    "W2": Workload("W2", "MLP step 64x784-256-256-10, tanh, logsumexp CE, 6 grads", mlp_loss, mlp_inputs),
    "W3": Workload("W3", "sum(sin(x)*exp(-x*x) + x**3), 2,000,000 elements", elementwise, elementwise_inputs),
    "W4": Workload(
        "W4",
        f"{W4_OPS:,}-op sequential chain (y = y + sin(y)*1e-4), 10 elements",
        residual_chain,
        chain_inputs,
        n_ops=W4_OPS,
        kind="long_chain",
    ),
    "W5": Workload("W5", "3x3 Jacobian: retain_graph loop, and one vjp per row", jac_fn, jac_inputs, kind="jacobian"),
    "W6": Workload("W6", "sum((A@B)@C), 512x512", matmul_chain, matmul_inputs),
}

DTYPES = {"float64": np.float64, "float32": np.float32}
