"""Every row of the gradient table, on every backend, against independent references.

For each row: the forward equals the raw backend's (value, dtype, shape); the gradient matches central
finite differences in float64 (directional, via wrapgrad.gradcheck, whose numeric side only runs forwards);
it matches jax.vjp of the same function on raw jax.numpy; and float32 inputs get float32 gradients.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import wrapgrad
from conformance.cases import CASES, Case
from tests.conftest import load_backend

CASE_IDS = [f"{c.id}" for c in CASES]
BACKEND_NAMES = ("numpy", "array_api_strict", "jax")


def _params(complex_inputs: bool = False) -> list[pytest.param]:
    return [
        pytest.param(case, name, id=f"{case.id}-{name}")
        for case in CASES
        for name in BACKEND_NAMES
        if not complex_inputs or case.complex
    ]


def _inputs(xp, case: Case, complex_inputs: bool = False, dtype_name: str = "float64", seed: int = 0):
    values = case.draw(np.random.default_rng(seed), complex_inputs)
    wrt = range(len(values)) if case.wrt is None else case.wrt
    tensors = []
    for i, v in enumerate(values):
        if np.iscomplexobj(v):
            dtype = xp.complex128 if dtype_name == "float64" else xp.complex64
        elif np.issubdtype(v.dtype, np.floating):
            dtype = getattr(xp, dtype_name)
        else:
            dtype = None
        tensors.append(xp.asarray(v, dtype=dtype, requires_grad=i in wrt and dtype is not None))
    return values, tensors


def _skip_if_needed(case: Case, backend: str) -> None:
    if backend in case.skip:
        pytest.skip(case.skip[backend])


def _as_numpy(a):
    import array_api_compat

    if isinstance(a, wrapgrad.Tensor):
        a = a.detach()
    if array_api_compat.is_array_api_strict_namespace(array_api_compat.array_namespace(a)):
        return np.asarray(a)
    return np.asarray(a)


def _outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


@pytest.mark.parametrize(("case", "backend"), _params())
def test_forward_equals_raw_backend(case: Case, backend: str) -> None:
    _skip_if_needed(case, backend)
    xp, raw = load_backend(backend)
    values, tensors = _inputs(xp, case)
    raw_inputs = [raw.asarray(v) for v in values]
    expected = _outputs(case.fn(raw, *raw_inputs))
    got = _outputs(case.fn(xp, *tensors))
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert isinstance(g, wrapgrad.Tensor)
        assert g.dtype == e.dtype
        assert g.shape == tuple(e.shape)
        np.testing.assert_allclose(_as_numpy(g), _as_numpy(e), rtol=1e-12, atol=0)


@pytest.mark.parametrize(("case", "backend"), _params())
def test_gradient_matches_finite_differences(case: Case, backend: str) -> None:
    _skip_if_needed(case, backend)
    xp, _ = load_backend(backend)
    _, tensors = _inputs(xp, case)
    assert wrapgrad.gradcheck(lambda *args: case.fn(xp, *args), tensors, **_tolerance(case))


def _tolerance(case: Case) -> dict[str, float]:
    return {"atol": 1e-6, "rtol": 1e-5, **case.tolerance}


@pytest.mark.parametrize(("case", "backend"), _params(complex_inputs=True))
def test_complex_gradient_matches_finite_differences(case: Case, backend: str) -> None:
    _skip_if_needed(case, backend)
    xp, _ = load_backend(backend)
    _, tensors = _inputs(xp, case, complex_inputs=True)
    assert wrapgrad.gradcheck(lambda *args: case.fn(xp, *args), tensors, **_tolerance(case))


@pytest.mark.parametrize(
    ("case", "complex_inputs"),
    [pytest.param(c, False, id=f"{c.id}-real") for c in CASES if c.jax_reference]
    + [pytest.param(c, True, id=f"{c.id}-complex") for c in CASES if c.jax_reference and c.complex],
)
def test_gradient_matches_jax_vjp(case: Case, complex_inputs: bool) -> None:
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    import wrapgrad.numpy as xp

    values, tensors = _inputs(xp, case, complex_inputs)
    wrt = [i for i, t in enumerate(tensors) if t.requires_grad]
    out = _outputs(case.fn(xp, *tensors))
    rng = np.random.default_rng(1)
    cotangents = []
    for o in out:
        v = rng.standard_normal(o.shape)
        if np.iscomplexobj(np.asarray(o.detach())):
            v = v + 1j * rng.standard_normal(o.shape)
        cotangents.append(v)
    differentiable = [(o, v) for o, v in zip(out, cotangents) if o.requires_grad]
    ours = wrapgrad.autograd_grad([o for o, _ in differentiable], [tensors[i] for i in wrt],
                                  [xp.asarray(v) for _, v in differentiable], allow_unused=True)

    def f(*args):
        full = list(jnp.asarray(v) for v in values)
        for i, a in zip(wrt, args):
            full[i] = a
        return tuple(_outputs(case.fn(jnp, *full)))

    primal, vjp = jax.vjp(f, *[jnp.asarray(values[i]) for i in wrt])
    # jax's vjp takes the cotangent of an output unconjugated and returns dL/dz unconjugated:
    # torch's (wrapgrad's) convention is the conjugate on both sides.
    theirs = vjp(tuple(jnp.asarray(np.conj(v)).astype(p.dtype) for v, p in zip(cotangents, primal)))
    for got, expected in zip(ours, theirs):
        expected = np.conj(np.asarray(expected))
        if got is None:
            np.testing.assert_allclose(expected, 0, atol=1e-12)
        else:
            np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(("case", "backend"), _params())
def test_float32_gradients_stay_float32(case: Case, backend: str) -> None:
    _skip_if_needed(case, backend)
    xp, _ = load_backend(backend)
    _, tensors = _inputs(xp, case, dtype_name="float32")
    out = [o for o in _outputs(case.fn(xp, *tensors)) if o.requires_grad]
    if not out:
        pytest.skip("no differentiable output in float32")
    loss = sum(xp.sum(xp.real(o) if xp.isdtype(o.dtype, "complex floating") else o) for o in out)
    loss.backward()
    for t in tensors:
        if t.requires_grad:
            assert t.grad is not None
            assert t.grad.dtype == t.dtype
            assert t.dtype in (xp.float32, xp.complex64)
            assert t.grad.shape == t.shape
            assert math.isfinite(float(xp.sum(xp.abs(t.grad))))
