"""The namespaces: user code written against array_namespace runs on Tensors, unchanged."""

from __future__ import annotations

import subprocess
import sys

import array_api_compat
import numpy as np
import pytest

import wrapgrad


def softplus_loss(x, w):
    """Library code, written the array-API way: it has never heard of wrapgrad."""
    xp = array_api_compat.array_namespace(x, w)
    z = xp.matmul(x, w)
    return xp.mean(xp.log1p(xp.exp(-xp.abs(z))) + xp.maximum(z, 0.0))


def test_array_namespace_of_a_tensor_is_wrapgrads_namespace(xp) -> None:
    t = xp.ones(3)
    assert array_api_compat.array_namespace(t) is xp
    assert t.__array_namespace__() is xp


def test_unchanged_array_api_code_is_differentiable(xp, raw_xp) -> None:
    rng = np.random.default_rng(0)
    x_np, w_np = rng.standard_normal((5, 3)), rng.standard_normal(3)
    x = xp.asarray(x_np)
    w = xp.asarray(w_np, requires_grad=True)
    loss = softplus_loss(x, w)
    loss.backward()
    # the same library code on the raw backend gives the same value
    raw_value = softplus_loss(raw_xp.asarray(x_np), raw_xp.asarray(w_np))
    assert float(loss) == pytest.approx(float(raw_value), rel=1e-12)
    assert wrapgrad.gradcheck(lambda w_: softplus_loss(x, w_), [xp.asarray(w_np, requires_grad=True)])


def test_namespace_is_a_real_module_in_sys_modules(xp, backend) -> None:
    assert sys.modules[f"wrapgrad.{backend}"] is xp
    assert xp.__name__ == f"wrapgrad.{backend}"
    import importlib

    assert importlib.import_module(f"wrapgrad.{backend}") is xp


def test_namespace_of_a_raw_namespace(backend, raw_xp, xp) -> None:
    assert wrapgrad.namespace(raw_xp) is xp


def test_plain_numpy_means_array_api_compat_numpy() -> None:
    import wrapgrad.numpy as wnp

    assert wrapgrad.namespace(np) is wnp


def test_unknown_api_version_is_a_clear_error(xp) -> None:
    for version in ("2025.12", None):
        assert xp.ones(1).__array_namespace__(api_version=version) is xp
    with pytest.raises(ValueError, match=r"unsupported api_version '2019\.01'; wrapgrad serves 2023\.12, 2024\.12"):
        xp.ones(1).__array_namespace__(api_version="2019.01")


def test_importing_wrapgrad_does_not_import_jax() -> None:
    code = "import sys, wrapgrad, wrapgrad.numpy, wrapgrad.array_api_strict; print('jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_creation_functions_take_requires_grad_keyword_only(xp) -> None:
    import inspect

    for name in ("ones", "zeros", "full", "asarray", "arange", "linspace", "eye", "empty"):
        parameter = inspect.signature(getattr(xp, name)).parameters["requires_grad"]
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
    assert xp.full((2,), 3.0, requires_grad=True).requires_grad


def test_asarray_of_a_tensor_keeps_the_graph(xp) -> None:
    x = xp.asarray([1.0, 2.0], requires_grad=True)
    y = x * 2
    assert xp.asarray(y) is y
    z = xp.asarray(y, dtype=xp.float32)
    assert z.requires_grad and z.dtype == xp.float32
    xp.sum(z).backward()
    np.testing.assert_allclose(np.asarray(x.grad), [2.0, 2.0])
    with pytest.raises(TypeError, match="asarray: a nested sequence holds a Tensor that requires grad"):
        xp.asarray([y, y])


def test_jax_float64_is_differentiable_when_x64_is_turned_on_after_first_use() -> None:
    # The Backend is made on first use; jax lists float64 only while x64 is on, so the flag turned on later
    # (a test, a notebook cell) must still give float64 gradients. Run in a subprocess: x64 is process-wide.
    import subprocess
    import sys

    pytest.importorskip("jax")
    code = (
        "import jax, wrapgrad.jax as xp\n"
        "jax.config.update('jax_enable_x64', False)\n"
        "xp.asarray([1.0])\n"
        "jax.config.update('jax_enable_x64', True)\n"
        "x = xp.asarray([3.0], dtype=xp.float64, requires_grad=True)\n"
        "xp.sum(x * x).backward()\n"
        "assert float(x.grad[0]) == 6.0 and str(x.grad.dtype) == 'float64', x.grad\n"
    )
    import os

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
