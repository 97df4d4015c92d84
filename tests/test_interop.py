"""Other libraries' code, unchanged, on Tensors: scipy.fft's real transforms, scikit-learn's hooks (bincount,
median), einops, opt_einsum, einsum, and the way out (custom_vjp) for compiled SciPy code.

Values are compared with the library's own result on numpy; gradients with central finite differences of the
same call on numpy (float64), with a weighted sum as the loss, or with a dense matrix's transpose.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import wrapgrad
from tests.conftest import BACKENDS, load_backend

RNG = np.random.default_rng(20261202)


def numeric_grad(f, x: np.ndarray, w: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central finite differences of ``sum(w * f(x))`` (numpy in, numpy out)."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        g[i] = (np.sum(w * f(x + e)) - np.sum(w * f(x - e))) / (2 * eps)
    return g


def to_numpy(t) -> np.ndarray:
    if isinstance(t, wrapgrad.Tensor):
        t = t.detach()
    return np.asarray(t)


def weighted_grad(xp, f, x: np.ndarray, w: np.ndarray, **kw):
    """(value, gradient) of ``sum(w * f(x))`` with wrapgrad on the namespace ``xp``."""
    t = xp.asarray(x, requires_grad=True)
    y = f(t, **kw)
    xp.sum(xp.asarray(w) * y).backward()
    return to_numpy(y), to_numpy(t.grad)


# ================================================================================================
# scipy.fft's real transforms
# ================================================================================================



@pytest.fixture
def sfft():
    fft = pytest.importorskip("scipy.fft")
    import wrapgrad.interop

    with wrapgrad.interop.scipy_fft():
        yield fft


@pytest.mark.parametrize("backend_name", BACKENDS)
@pytest.mark.parametrize("name", ["dct", "idct", "dst", "idst"])
def test_real_transforms_match_the_dense_matrix(sfft, backend_name: str, name: str) -> None:
    # Every type, norm and orthogonalize, through scipy.fft unchanged: values are M x and gradients M^T w,
    # with M the dense matrix of scipy's transform on numpy (column j is the transform of e_j).
    xp, _ = load_backend(backend_name)
    n = 6
    x = RNG.standard_normal((3, n))
    w = RNG.standard_normal((3, n))
    fn = getattr(sfft, name)
    for type_ in (1, 2, 3, 4):
        for norm in (None, "backward", "ortho", "forward"):
            for orth in (None, True, False):
                kw = dict(type=type_, norm=norm, orthogonalize=orth)
                m = np.stack([fn(e, **kw) for e in np.eye(n)], axis=1)
                value, grad = weighted_grad(xp, lambda t: fn(t, **kw), x, w)
                np.testing.assert_allclose(value, x @ m.T, atol=1e-10, err_msg=str(kw))
                np.testing.assert_allclose(grad, w @ m, atol=1e-10, err_msg=str(kw))


@pytest.mark.parametrize("backend_name", ["numpy", "array_api_strict"])  # jax: the dense-matrix test above
def test_real_transforms_lengths_axes_and_n_dimensional(sfft, backend_name: str) -> None:
    xp, _ = load_backend(backend_name)
    x = RNG.standard_normal((4, 5))
    w3 = RNG.standard_normal((4, 3))
    w7 = RNG.standard_normal((7, 5))
    cases = [
        (lambda t: sfft.dct(t, type=2, n=3), w3),  # cropped
        (lambda t: sfft.dst(t, type=1, n=7, axis=0, norm="forward"), w7),  # zero-padded, axis 0
        (lambda t: sfft.idctn(t, type=3, norm="ortho"), np.ones((4, 5)) + x),
        (lambda t: sfft.dstn(t, type=4, s=(7,), axes=(0,)), w7),
        (lambda t: sfft.dctn(t, type=1, s=(4, 3)), w3),
        (lambda t: sfft.idstn(t, type=2, axes=1, norm="forward", orthogonalize=True), x * x),
    ]
    for f, w in cases:
        value, grad = weighted_grad(xp, f, x, w)
        np.testing.assert_allclose(value, f(x), atol=1e-10)
        np.testing.assert_allclose(grad, numeric_grad(f, x, w), atol=1e-6)


@pytest.mark.slow
def test_real_transform_second_derivative_against_jax() -> None:
    jax = pytest.importorskip("jax")
    sfft = pytest.importorskip("scipy.fft")
    import jax.numpy as jnp
    import jax.scipy.fft as jfft

    import wrapgrad.interop

    load_backend("jax")
    x = jnp.asarray(RNG.standard_normal(5))
    w = jnp.asarray(RNG.standard_normal(5))

    def loss(t):
        return wrapgrad.jax.sum(w * sfft.dct(t, norm="ortho") ** 3)

    with wrapgrad.interop.scipy_fft():
        got = wrapgrad.hessian(loss)(x)
        jitted = jax.jit(wrapgrad.grad(loss))(x)
    want = jax.hessian(lambda t: jnp.sum(w * jfft.dct(t, norm="ortho") ** 3))(x)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=1e-10)
    np.testing.assert_allclose(np.asarray(jitted),
                               np.asarray(jax.grad(lambda t: jnp.sum(w * jfft.dct(t, norm="ortho") ** 3))(x)),
                               atol=1e-10)


def test_scipy_fft_backend_declines_other_arrays_and_complex_transforms() -> None:
    sfft = pytest.importorskip("scipy.fft")
    import wrapgrad.interop

    backend = wrapgrad.interop.scipy_fft_backend
    x = np.arange(4.0)
    assert backend.__ua_function__(sfft.dct, (x,), {}) is NotImplemented
    assert backend.__ua_function__(sfft.fft, (wrapgrad.numpy.asarray(x),), {}) is NotImplemented
    with wrapgrad.interop.scipy_fft():
        np.testing.assert_allclose(sfft.dct(x), sfft.dct(x.copy()))  # numpy still goes to SciPy
        t = wrapgrad.numpy.asarray(x, requires_grad=True)
        spectrum = sfft.fft(t)  # complex transforms: SciPy's own array-API path, on the tape
        wrapgrad.numpy.sum(wrapgrad.numpy.real(spectrum)).backward()
    np.testing.assert_allclose(to_numpy(t.grad), numeric_grad(lambda a: np.real(np.fft.fft(a)), x, np.ones(4)),
                               atol=1e-6)


def test_enable_scipy_fft_is_global_and_keeps_numpy_working() -> None:
    code = (
        "import numpy as np, scipy.fft, wrapgrad.interop, wrapgrad.numpy as xp\n"
        "wrapgrad.interop.enable_scipy_fft()\n"
        "x = xp.asarray([1.0, 2.0, 4.0], requires_grad=True)\n"
        "xp.sum(scipy.fft.dct(x, type=3) * xp.asarray([1.0, 2.0, 3.0])).backward()\n"
        "m = np.stack([scipy.fft.dct(e, type=3) for e in np.eye(3)], axis=1)\n"
        "assert np.allclose(np.asarray(x.grad), np.asarray([1.0, 2.0, 3.0]) @ m)\n"
        "assert np.allclose(scipy.fft.dct(np.ones(3)), [6.0, 0.0, 0.0])\n"
    )
    pytest.importorskip("scipy")
    subprocess.run([sys.executable, "-c", code], check=True, env=_env())


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "SCIPY_ARRAY_API": "1"}


def test_importing_wrapgrad_imports_no_optional_library() -> None:
    code = (
        "import sys, wrapgrad, wrapgrad.numpy, wrapgrad.interop\n"
        "t = wrapgrad.numpy.ones((2, 2))\n"
        "wrapgrad.einsum('ij,jk->ik', t, t); wrapgrad.numpy.median(t)\n"
        "wrapgrad.numpy.bincount(wrapgrad.numpy.asarray([1]))\n"
        "bad = [m for m in ('scipy', 'einops', 'opt_einsum', 'sklearn', 'jax', 'torch') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ================================================================================================
# median and bincount (extensions scikit-learn looks for)
# ================================================================================================


@pytest.mark.parametrize("backend_name", BACKENDS)
@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, False), (1, True), ((0, 2), False), (-1, True)])
def test_median_values_and_gradient(backend_name: str, axis, keepdims: bool) -> None:
    xp, _ = load_backend(backend_name)
    x = RNG.standard_normal((4, 3, 2))  # no ties: finite differences are valid

    def f(a):
        return np.median(a, axis=axis, keepdims=keepdims)

    w = RNG.standard_normal(np.shape(f(x)))
    value, grad = weighted_grad(xp, lambda t: xp.median(t, axis=axis, keepdims=keepdims), x, w)
    np.testing.assert_allclose(value, f(x), atol=1e-12)
    np.testing.assert_allclose(grad, numeric_grad(f, x, w), atol=1e-6)


@pytest.mark.parametrize("backend_name", BACKENDS)
def test_median_splits_ties_evenly(backend_name: str) -> None:
    # The convention (like max's): each middle order statistic gets half of g, shared evenly among the
    # elements equal to it. torch's median picks one element; jax's gives ties what sort gives them.
    xp, _ = load_backend(backend_name)
    cases = [
        ([1.0, 2.0, 2.0, 2.0, 5.0], [0, 1 / 3, 1 / 3, 1 / 3, 0]),  # odd count, a three-way tie
        ([4.0, 2.0, 1.0, 2.0], [0, 0.5, 0, 0.5]),  # even count, both middle values tied
        ([1.0, 2.0, 2.0, 4.0, 4.0, 5.0], [0, 0.25, 0.25, 0.25, 0.25, 0]),  # two different tied middles
    ]
    for values, expected in cases:
        t = xp.asarray(values, requires_grad=True)
        xp.median(t).backward()
        np.testing.assert_allclose(to_numpy(t.grad), expected, atol=1e-12)
        # the split is the average of the one-sided derivatives' tie-shares: the sum is 1, as d median/d(x + c)
        assert abs(float(xp.sum(t.grad)) - 1.0) < 1e-12


@pytest.mark.parametrize("backend_name", BACKENDS)
def test_bincount_values_and_weight_gradient(backend_name: str) -> None:
    xp, _ = load_backend(backend_name)
    positions = np.asarray([0, 3, 3, 1, 5, 3])
    x = RNG.standard_normal(6)
    for minlength in (0, 9):
        def f(weights):
            return np.bincount(positions, weights=weights, minlength=minlength)

        w = RNG.standard_normal(f(x).shape)
        value, grad = weighted_grad(xp, lambda t: xp.bincount(xp.asarray(positions), weights=t, minlength=minlength),
                                    x, w)
        np.testing.assert_allclose(value, f(x), atol=1e-12)
        np.testing.assert_allclose(grad, numeric_grad(f, x, w), atol=1e-6)
    counts = xp.bincount(xp.asarray(positions))
    np.testing.assert_array_equal(to_numpy(counts), np.bincount(positions))


def test_bincount_under_jit_needs_minlength() -> None:
    jax = pytest.importorskip("jax")
    xp, _ = load_backend("jax")
    positions = jax.numpy.asarray([0, 2, 2])
    weights = jax.numpy.asarray([1.0, 2.0, 3.0])

    def loss(w, p, minlength):
        return xp.sum(xp.bincount(p, weights=w, minlength=minlength) * xp.asarray([1.0, 10.0, 100.0, 1000.0]))

    g = jax.jit(wrapgrad.grad(loss), static_argnums=2)(weights, positions, 4)
    np.testing.assert_allclose(np.asarray(g), [1.0, 100.0, 100.0])
    with pytest.raises(ValueError, match=r"bincount: the length of the result depends on the values.*minlength"):
        jax.jit(wrapgrad.grad(lambda w, p: xp.sum(xp.bincount(p, weights=w))))(weights, positions)


def test_bincount_and_median_are_on_every_namespace() -> None:
    for name in BACKENDS:
        xp, _ = load_backend(name)
        assert all(callable(getattr(xp, n)) for n in ("bincount", "median", "einsum"))


# ================================================================================================
# scikit-learn
# ================================================================================================


@pytest.mark.parametrize("backend_name", ["numpy", "array_api_strict"])
def test_sklearn_median_absolute_error_raw_values(backend_name: str) -> None:
    sklearn = pytest.importorskip("sklearn")
    from sklearn.metrics import median_absolute_error

    xp, _ = load_backend(backend_name)
    y_true = RNG.standard_normal((7, 3))
    y_pred = RNG.standard_normal((7, 3))
    w = RNG.standard_normal(3)

    def f(p):
        return median_absolute_error(y_true, p, multioutput="raw_values")

    with sklearn.config_context(array_api_dispatch=True):
        value, grad = weighted_grad(
            xp, lambda t: median_absolute_error(xp.asarray(y_true), t, multioutput="raw_values"), y_pred, w)
    np.testing.assert_allclose(value, f(y_pred), atol=1e-12)
    np.testing.assert_allclose(grad, numeric_grad(f, y_pred, w), atol=1e-6)


@pytest.mark.parametrize("backend_name", ["numpy", "array_api_strict"])
def test_sklearn_classification_metrics_need_no_numpy_round_trip(backend_name: str) -> None:
    # With sample weights that require grad, any round trip through numpy would raise (wrapgrad refuses to
    # hand out a detached copy), so these calls running proves they stay in the namespace; their float()
    # result is off the tape by scikit-learn's design.
    sklearn = pytest.importorskip("sklearn")
    from sklearn import metrics

    xp, _ = load_backend(backend_name)
    y_true = np.asarray([0, 1, 1, 2, 0, 2, 1])
    y_pred = np.asarray([0, 1, 2, 2, 0, 1, 1])
    weights = np.asarray([1.0, 2.0, 1.0, 0.5, 3.0, 1.0, 2.0])
    for fn in (metrics.f1_score, metrics.precision_score, metrics.recall_score, metrics.jaccard_score):
        want = fn(y_true, y_pred, average="macro", sample_weight=weights)
        with sklearn.config_context(array_api_dispatch=True):
            got = fn(xp.asarray(y_true), xp.asarray(y_pred), average="macro",
                     sample_weight=xp.asarray(weights, requires_grad=True))
        assert abs(float(got) - want) < 1e-12, fn.__name__
    if backend_name == "numpy":
        # balanced_accuracy_score goes through confusion_matrix, which moves its inputs to numpy by design (it
        # counts with SciPy's coo_matrix), so it runs only on labels and weights that do not require grad; on
        # array-api-strict it fails in scikit-learn, which recognizes array-api-strict only by its own name.
        with sklearn.config_context(array_api_dispatch=True):
            got = metrics.balanced_accuracy_score(xp.asarray(y_true), xp.asarray(y_pred))
        assert abs(float(got) - metrics.balanced_accuracy_score(y_true, y_pred)) < 1e-12


def test_grad_of_a_scalar_metric_says_it_left_the_tape() -> None:
    sklearn = pytest.importorskip("sklearn")
    from sklearn.metrics import mean_absolute_error

    y_true = RNG.standard_normal(5)
    with sklearn.config_context(array_api_dispatch=True), pytest.raises(
            TypeError, match="the function returned a Python float: a value computed outside the tape"):
        wrapgrad.grad(lambda p: mean_absolute_error(wrapgrad.numpy.asarray(y_true), p))(RNG.standard_normal(5))


# ================================================================================================
# einsum, opt_einsum, einops
# ================================================================================================

EINSUM_CASES = [
    ("ij,jk->ik", [(3, 4), (4, 2)]),
    ("ij,jk", [(3, 4), (4, 2)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->ji", [(2, 3)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 2)]),
    ("i,i->", [(4,), (4,)]),
    ("i,j->ij", [(3,), (2,)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (4, 5)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("abc,cd,ba->d", [(2, 3, 4), (4, 2), (3, 2)]),
    ("iij,jk->ik", [(3, 3, 2), (2, 4)]),
    ("ij,ij,ij->i", [(2, 3), (2, 3), (2, 3)]),
    ("i,i,i->i", [(3,), (1,), (3,)]),
]


@pytest.mark.parametrize("backend_name", BACKENDS)
@pytest.mark.parametrize("subscripts,shapes", EINSUM_CASES, ids=[c[0] for c in EINSUM_CASES])
def test_einsum_values_and_gradients(backend_name: str, subscripts: str, shapes) -> None:
    xp, _ = load_backend(backend_name)
    arrays = [RNG.standard_normal(s) for s in shapes]
    want = np.einsum(subscripts, *arrays)
    w = RNG.standard_normal(np.shape(want))
    tensors = [xp.asarray(a, requires_grad=True) for a in arrays]
    out = xp.einsum(subscripts, *tensors)
    np.testing.assert_allclose(to_numpy(out), want, atol=1e-12)
    xp.sum(xp.asarray(w) * out).backward()
    for k, a in enumerate(arrays):
        def f(v, k=k):
            return np.einsum(subscripts, *arrays[:k], v, *arrays[k + 1:])

        np.testing.assert_allclose(to_numpy(tensors[k].grad), numeric_grad(f, a, w), atol=1e-6)


@pytest.mark.slow
def test_einsum_second_derivative_against_jax() -> None:
    jax = pytest.importorskip("jax")
    load_backend("jax")
    import jax.numpy as jnp

    a = jnp.asarray(RNG.standard_normal((3, 3)))
    b = jnp.asarray(RNG.standard_normal((3,)))
    got = wrapgrad.hessian(lambda m: wrapgrad.einsum("ij,j,ik,k->", m, b, m, b) ** 2)(a)
    want = jax.hessian(lambda m: jnp.einsum("ij,j,ik,k->", m, b, m, b) ** 2)(a)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), atol=1e-9)


def test_einsum_errors_name_the_operation() -> None:
    xp, _ = load_backend("numpy")
    with pytest.raises(ValueError, match="einsum: index 'j' has sizes 3 and 4"):
        xp.einsum("ij,jk->ik", xp.ones((2, 3)), xp.ones((4, 2)))
    with pytest.raises(ValueError, match="einsum: 'ij,jk->ik' names 2 operands, but 1 were given"):
        xp.einsum("ij,jk->ik", xp.ones((2, 3)))


@pytest.mark.parametrize("backend_name", BACKENDS)
def test_opt_einsum_contract_on_tensors(backend_name: str) -> None:
    opt_einsum = pytest.importorskip("opt_einsum")
    xp, _ = load_backend(backend_name)
    a, b, c = RNG.standard_normal((3, 4)), RNG.standard_normal((4, 5)), RNG.standard_normal((5, 3))
    w = RNG.standard_normal((3, 3))
    spec = "ij,jk,kl->il"
    value, grad = weighted_grad(xp, lambda t: opt_einsum.contract(spec, t, xp.asarray(b), xp.asarray(c)), a, w)
    np.testing.assert_allclose(value, opt_einsum.contract(spec, a, b, c), atol=1e-12)
    np.testing.assert_allclose(grad, numeric_grad(lambda v: np.einsum(spec, v, b, c), a, w), atol=1e-6)
    value, grad = weighted_grad(xp, lambda t: opt_einsum.contract("ij,ij->i", t, t), a, w[:, 0])
    np.testing.assert_allclose(grad, numeric_grad(lambda v: np.einsum("ij,ij->i", v, v), a, w[:, 0]), atol=1e-6)


@pytest.fixture
def einops():
    module = pytest.importorskip("einops")
    import wrapgrad.interop

    wrapgrad.interop.enable_einops()
    return module


EINOPS_CASES = [
    ("rearrange", lambda e, t: e.rearrange(t, "a (b c) d -> (a d) c b", c=2)),
    ("reduce_mean", lambda e, t: e.reduce(t, "a b d -> d a", "mean")),
    ("reduce_max", lambda e, t: e.reduce(t, "a (b c) d -> a c", "max", c=2)),
    ("repeat", lambda e, t: e.repeat(t, "a b d -> a b d r", r=3)),
    ("einsum", lambda e, t: e.einsum(t, t, "a b d, a c d -> b c")),
    ("pack", lambda e, t: e.pack([t, t[:, :, :1] * 2.0], "a b *")[0]),
    ("unpack", lambda e, t: e.unpack(t, [[2], [1]], "a b *")[1]),
]


@pytest.mark.parametrize("backend_name", BACKENDS)
@pytest.mark.parametrize("name,call", EINOPS_CASES, ids=[c[0] for c in EINOPS_CASES])
def test_einops_main_api_on_tensors(einops, backend_name: str, name: str, call) -> None:
    xp, _ = load_backend(backend_name)
    x = RNG.standard_normal((2, 4, 3))
    want = call(einops, x)
    w = RNG.standard_normal(want.shape)
    value, grad = weighted_grad(xp, lambda t: call(einops, t), x, w)
    np.testing.assert_allclose(value, want, atol=1e-12)
    np.testing.assert_allclose(grad, numeric_grad(lambda v: call(einops, v), x, w), atol=1e-6)


# ================================================================================================
# The way out for compiled code: a custom_vjp around the call
# ================================================================================================


def test_custom_vjp_around_lfilter() -> None:
    signal = pytest.importorskip("scipy.signal")
    b, a = [0.5, 0.3], [1.0, -0.4]

    def run(x):
        return wrapgrad.numpy.asarray(signal.lfilter(b, a, np.asarray(x.detach())))

    lfilter = wrapgrad.custom_vjp(run)

    def fwd(x):
        return run(x), None

    def bwd(_, g):
        # A causal filter from rest is a lower-triangular Toeplitz matrix; its transpose runs the same filter
        # backwards in time.
        return (wrapgrad.numpy.asarray(signal.lfilter(b, a, np.asarray(g.detach())[::-1])[::-1].copy()),)

    lfilter.defvjp(fwd, bwd)
    x = RNG.standard_normal(8)
    w = RNG.standard_normal(8)
    value, grad = weighted_grad(wrapgrad.numpy, lfilter, x, w)
    np.testing.assert_allclose(value, signal.lfilter(b, a, x), atol=1e-12)
    np.testing.assert_allclose(grad, numeric_grad(lambda v: signal.lfilter(b, a, v), x, w), atol=1e-6)


def test_bincount_and_median_on_dask() -> None:
    pytest.importorskip("dask")
    import array_api_compat.dask.array as dask_xp

    xp = wrapgrad.namespace(dask_xp)
    positions = xp.asarray(np.asarray([0, 2, 2]))
    weights = xp.asarray(np.asarray([1.0, 2.0, 3.0]), requires_grad=True)
    with pytest.raises(ValueError, match=r"bincount: .*lazy \(dask\) array.*pass minlength"):
        xp.bincount(positions, weights=weights)
    counts = xp.bincount(positions, weights=weights, minlength=4)
    np.testing.assert_allclose(to_numpy(counts), np.bincount([0, 2, 2], weights=[1.0, 2.0, 3.0], minlength=4))
    xp.sum(counts * xp.asarray(np.asarray([1.0, 10.0, 100.0, 1000.0]))).backward()
    np.testing.assert_allclose(to_numpy(weights.grad), [1.0, 100.0, 100.0])
    x = xp.asarray(np.asarray([3.0, 1.0, 2.0, 5.0]), requires_grad=True)
    xp.median(x).backward()
    np.testing.assert_allclose(to_numpy(x.grad), [0.5, 0.0, 0.5, 0.0])
