"""wrapgrad over torch (``wrapgrad.torch``): gradients against torch.autograd and finite differences.

torch is not in the ``test`` extra (its wheel is large); CI installs the CPU build (``.ci/run``), and every
test here skips with a reason where torch is absent. The whole gradient matrix on torch is
``python -m conformance --backend torch``; this file checks a representative set of its cases (element-wise,
reductions, matmul, indexing, sorting, linalg), the torch-specific boundaries and the imports.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conformance import gradients
from conformance.cases import CASES, Case

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# One or two rows per family: enough to catch a torch-specific break in the funnel or a rule, quick on 2 cores.
REPRESENTATIVE = (
    "exp", "tanh", "pow", "maximum", "where", "add[scalar]",
    "sum[keepdims]", "mean[all]", "prod[zeros]", "max", "std", "var[tuple_axis]", "cumulative_sum",
    "matmul", "matmul[vector_matrix]", "tensordot[pairs]", "vecdot",
    "__getitem__[basic]", "__getitem__[integer_array_duplicates]", "__getitem__[boolean_mask]",
    "take[axis1_duplicates]", "take_along_axis[axis0_duplicates]", "sort[descending]",
    "linalg.solve[matrix]", "linalg.inv", "linalg.det", "linalg.slogdet", "linalg.cholesky", "linalg.eigh",
    "linalg.qr[tall]", "linalg.svd[tall]",
)
SELECTED = [c for c in CASES if c.id in REPRESENTATIVE]


def _torch():
    return pytest.importorskip("torch", reason="torch is not installed (CI installs torch==2.13.0, the CPU wheel)")


def _run(check, *args, **kwargs) -> None:
    _torch()
    try:
        check(*args, **kwargs)
    except gradients.CheckSkipped as reason:
        pytest.skip(str(reason))


def test_the_representative_set_is_in_the_case_table() -> None:
    assert sorted(c.id for c in SELECTED) == sorted(REPRESENTATIVE)


@pytest.mark.parametrize("case", SELECTED, ids=lambda c: c.id)
def test_gradient_matches_torch_autograd(case: Case) -> None:
    _run(gradients.check_torch, case)


@pytest.mark.parametrize("case", [c for c in SELECTED if c.complex], ids=lambda c: c.id)
def test_complex_gradient_matches_torch_autograd(case: Case) -> None:
    _run(gradients.check_torch, case, complex_inputs=True)


@pytest.mark.parametrize("case", SELECTED, ids=lambda c: c.id)
def test_gradient_matches_finite_differences(case: Case) -> None:
    _run(gradients.check_forward, case, "torch")
    _run(gradients.check_finite_differences, case, "torch")


def test_tensor_api_backward_matches_torch_autograd_on_a_small_mlp() -> None:
    torch = _torch()
    import wrapgrad.torch as xp

    rng = np.random.default_rng(0)
    values = [rng.standard_normal(s) for s in ((5, 3), (3, 4), (4,), (4, 2))]
    ours = [xp.asarray(v, requires_grad=i > 0) for i, v in enumerate(values)]
    theirs = [torch.asarray(v).requires_grad_(i > 0) for i, v in enumerate(values)]

    def mlp(ns, x, w1, b1, w2):
        h = ns.tanh(x @ w1 + b1)
        return ns.mean(ns.exp(-(h @ w2) ** 2)) + ns.sum(w1 * w1)

    mlp(xp, *ours).backward()
    mlp(torch, *theirs).backward()
    for a, b in zip(ours[1:], theirs[1:]):
        assert a.grad.dtype == xp.float64
        np.testing.assert_allclose(np.asarray(a.grad), b.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_float32_is_torch_default_and_is_kept() -> None:
    _torch()
    import wrapgrad.torch as xp

    x = xp.asarray([0.5, 1.5], requires_grad=True)
    xp.sum(xp.sin(x) * 2.0).backward()
    assert x.dtype == xp.float32 and x.grad.dtype == xp.float32
    np.testing.assert_allclose(np.asarray(x.grad), 2 * np.cos([0.5, 1.5]), rtol=1e-6)


def test_multi_output_results_are_namedtuples_like_the_standard_asks() -> None:
    torch = _torch()
    import wrapgrad.torch as xp

    a = np.array([[2.0, 1.0], [1.0, 3.0]])
    x = xp.asarray(a, requires_grad=True)
    result = xp.linalg.eigh(x)
    assert result._fields == ("eigenvalues", "eigenvectors")
    raw = torch.linalg.eigh(torch.asarray(a))
    np.testing.assert_allclose(np.asarray(result.eigenvalues.detach()), raw.eigenvalues.numpy())
    assert xp.linalg.qr(x)._fields == ("Q", "R")
    xp.sum(result.eigenvalues ** 2).backward()
    np.testing.assert_allclose(np.asarray(x.grad), 2 * a, rtol=1e-12)  # d tr(A^2) / dA = 2 A (A symmetric)


def test_numpy_scalars_are_constants_as_torch_takes_them() -> None:
    torch = _torch()
    import wrapgrad.torch as xp

    for scalar in (np.float32(3.0), np.float64(3.0), np.int64(3)):
        x = xp.asarray([1.0, 2.0], requires_grad=True)
        y = x * scalar
        assert y.dtype == (torch.ones(2) * scalar).dtype  # torch's own typing (a weak Python scalar)
        xp.sum(y).backward()
        np.testing.assert_array_equal(np.asarray(x.grad), [3.0, 3.0])


def test_other_libraries_arrays_are_a_clear_error_naming_both() -> None:
    _torch()
    import wrapgrad.torch as xp

    x = xp.asarray([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"multiply: arguments come from different array libraries \(torch, numpy\)"):
        x * np.ones(2)
    with pytest.raises(TypeError, match=r"matmul: .*\(torch, numpy\).*wrapgrad\.torch\.asarray"):
        x @ np.ones(2)
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)  # as every test does before jax's Backend is first made
    jnp = jax.numpy
    with pytest.raises(TypeError, match=r"add: arguments come from different array libraries \(torch, jax\)"):
        x + jnp.ones(2)
    assert x.grad is None  # nothing was recorded


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": ROOT, **env}, cwd=ROOT)


def test_import_wrapgrad_torch_works_in_a_fresh_process() -> None:
    _torch()
    out = _python("""
        import wrapgrad.torch as xp, wrapgrad, sys
        assert wrapgrad.torch is xp and sys.modules["wrapgrad.torch"] is xp
        x = xp.asarray([2.0], requires_grad=True)
        xp.sum(x * x).backward()
        print(type(x.grad._data).__module__, float(x.grad[0]))
    """)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["torch", "4.0"]


def test_import_wrapgrad_imports_no_torch() -> None:
    out = _python("""
        import sys, wrapgrad, wrapgrad.numpy as xp
        xp.sum(xp.asarray([1.0], requires_grad=True)).backward()
        print(sorted(m for m in ("torch", "cupy", "dask", "jax") if m in sys.modules))
    """)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(("name", "hint"), [("torch", "pip install torch"), ("cupy", "pip install cupy")])
def test_a_missing_library_is_a_clear_error_with_the_way_to_install_it(name: str, hint: str) -> None:
    # sys.modules[name] = None makes `import name` fail as if the library were not installed.
    out = _python(f"""
        import sys
        sys.modules[{name!r}] = None
        import wrapgrad
        try:
            import wrapgrad.{name}
        except ModuleNotFoundError as error:
            print(error)
    """)
    assert out.returncode == 0, out.stderr
    assert f"wrapgrad.{name} needs" in out.stdout and hint in out.stdout, out.stdout


@pytest.mark.slow  # torch.compile's first call traces with dynamo for several seconds
def test_torch_compile_of_wrapgrad_grad_is_correct() -> None:
    torch = _torch()
    from array_api_compat import array_namespace

    import wrapgrad

    def loss(w, x):
        xp = array_namespace(w, x)
        return xp.sum(xp.tanh(x @ w) ** 2)

    compiled = torch.compile(wrapgrad.grad(loss), backend="eager")  # graph breaks are fine
    x = torch.linspace(0.0, 1.0, 6, dtype=torch.float64).reshape(3, 2)
    for w in (torch.ones(2, dtype=torch.float64), torch.asarray([0.3, -2.0], dtype=torch.float64)):
        expected = torch.func.grad(lambda w: torch.sum(torch.tanh(x @ w) ** 2))(w)
        torch.testing.assert_close(compiled(w, x), expected, rtol=1e-12, atol=1e-14)
