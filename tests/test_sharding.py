"""jax across devices: a data-parallel gradient over 4 virtual CPU devices keeps its shardings.

jax fixes its device count when it starts, so the check runs in a subprocess with
``XLA_FLAGS=--xla_force_host_platform_device_count=4``. There the batch is sharded over the 4 devices and the
parameters are replicated; wrapgrad's gradient, eager and under ``jax.jit``, must equal ``jax.grad``'s and be
replicated like the parameters, and the forward's activations must stay sharded like the batch.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("jax", reason="jax is not installed")

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = r'''
import jax, jax.numpy as jnp, numpy as np
jax.config.update("jax_enable_x64", True)
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
from array_api_compat import device
import wrapgrad, wrapgrad.jax as xp

assert len(jax.devices()) == 4, jax.devices()
mesh = Mesh(np.array(jax.devices()), ("batch",))
batch, replicated = NamedSharding(mesh, P("batch")), NamedSharding(mesh, P())
rng = np.random.default_rng(0)
X = jax.device_put(jnp.asarray(rng.standard_normal((16, 5))), batch)
y = jax.device_put(jnp.asarray(rng.standard_normal(16)), batch)
w = jax.device_put(jnp.asarray(rng.standard_normal(5)), replicated)

def loss(w, X, y):
    ns = w.__array_namespace__()
    hidden = ns.tanh(X @ w)
    return ns.mean((hidden - y) ** 2) + 0.1 * ns.sum(w * w)

expected = jax.grad(loss)(w, X, y)  # the same function on raw jax.numpy
assert expected.sharding.is_equivalent_to(replicated, 1)

# eager: the forward keeps the batch sharding, the gradient is replicated like w and equals jax.grad
hidden = xp.tanh(xp.asarray(X) @ xp.asarray(w))
assert hidden._data.sharding.is_equivalent_to(batch, 1), hidden._data.sharding
wt = xp.asarray(w, requires_grad=True)
loss(wt, xp.asarray(X), xp.asarray(y)).backward()
eager = wt.grad._data
np.testing.assert_allclose(np.asarray(eager), np.asarray(expected), rtol=1e-12, atol=1e-14)
assert eager.sharding.is_equivalent_to(replicated, 1), eager.sharding

# jit: wrapgrad's backward traced by jax over sharded inputs
@jax.jit
def step(w, X, y):
    g = wrapgrad.grad(loss)(xp.asarray(w), xp.asarray(X), xp.asarray(y))
    return g._data

jitted = step(w, X, y)
np.testing.assert_allclose(np.asarray(jitted), np.asarray(expected), rtol=1e-12, atol=1e-14)
assert jitted.sharding.is_equivalent_to(replicated, 1), jitted.sharding

# per-example gradients (the batch's cotangent) stay sharded over the batch
Xt = xp.asarray(X, requires_grad=True)
loss(xp.asarray(w), Xt, xp.asarray(y)).backward()
assert Xt.grad._data.sharding.is_equivalent_to(batch, 2), Xt.grad._data.sharding
np.testing.assert_allclose(np.asarray(Xt.grad._data), np.asarray(jax.grad(loss, argnums=1)(w, X, y)), rtol=1e-12)

# device(x) of a sharded array is a sharding; a scalar created there goes to the same devices
assert device(X) == X.sharding and xp.asarray(X).device == X.sharding
zero = xp.asarray(0.0, device=device(X))
assert set(zero._data.devices()) == set(jax.devices()), zero._data.devices()
assert float(zero) == 0.0
row = xp.asarray(np.zeros((16, 5)), device=device(X))
assert row._data.sharding.is_equivalent_to(batch, 2)
print("sharding ok")
'''


def test_data_parallel_gradient_on_4_devices() -> None:
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "PYTHONPATH": str(ROOT),
           "JAX_PLATFORMS": "cpu"}
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "sharding ok" in result.stdout
