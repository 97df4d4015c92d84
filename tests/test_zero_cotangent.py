"""A zero cotangent stays zero: the masked-NaN trap of issue 10, on every backend and under jax.jit.

Each case is library code run unchanged (scikit-learn, array-api-extra) or the classic ``where`` trap. Its
forward computes an infinite or NaN intermediate and then discards it (``a[mask] = b[mask]``, ``where``);
backward sends a zero cotangent into the discarded branch, where it meets an infinite or NaN local
derivative. The references are central finite differences in float64 of the library's own numpy result, or
of the guarded formula where the function itself is not differentiable (a zero row of ``cosine_similarity``).
``wrapgrad.ieee_cotangents()`` must bring IEEE's NaN back, exactly as before the guard.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from types import ModuleType

import numpy as np
import pytest

import wrapgrad
from wrapgrad import _backend

pytest.importorskip("sklearn")

pytestmark = pytest.mark.filterwarnings(
    "ignore:invalid value encountered", "ignore:divide by zero encountered", "ignore:overflow encountered"
)

RTOL, ATOL = 1e-6, 1e-8


def to_np(t: object) -> np.ndarray:
    return np.asarray(t.detach() if isinstance(t, wrapgrad.Tensor) else t)


def finite_differences(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences of a scalar numpy function, element by element, in float64."""
    grad = np.zeros_like(x)
    with np.errstate(all="ignore"):
        for i in np.ndindex(x.shape):
            up, down = x.copy(), x.copy()
            up[i] += h
            down[i] -= h
            grad[i] = (f(up) - f(down)) / (2 * h)
    return grad


def gradient(xp: ModuleType, f: Callable[..., object], *values: np.ndarray) -> list[np.ndarray]:
    """The gradients of ``f(*tensors)`` (a scalar) with respect to every argument, by backward()."""
    tensors = [xp.asarray(v, requires_grad=True) for v in values]
    f(*tensors).backward()
    return [to_np(t.grad) for t in tensors]


def sklearn_dispatch() -> object:
    """scikit-learn's array-API mode, in which it runs on wrapgrad's namespaces."""
    import sklearn

    return sklearn.config_context(array_api_dispatch=True)


RNG = np.random.default_rng(10)
X_DATA = RNG.standard_normal((6, 3))
X2_DATA = RNG.standard_normal((4, 3))
W_ROWS = RNG.standard_normal(6)
W_TRANSFORM = RNG.standard_normal((4, 3))
W_SCALE = RNG.standard_normal(3)


# -- scikit-learn's StandardScaler: a 0/0 on its first fit, overwritten by a[mask] = b[mask] ----------------


def test_standard_scaler_fit_transform(xp) -> None:
    from sklearn.preprocessing import StandardScaler

    def loss(X):
        with sklearn_dispatch():
            return xp.sum(StandardScaler().fit_transform(X)[:, 0] * xp.asarray(W_ROWS))

    (ours,) = gradient(xp, loss, X_DATA)
    reference = finite_differences(lambda X: float(np.sum(StandardScaler().fit_transform(X)[:, 0] * W_ROWS)),
                                   X_DATA)
    np.testing.assert_allclose(ours, reference, rtol=RTOL, atol=ATOL)
    assert np.all(ours[:, 1:] == 0)  # the other columns are not in the loss


def test_standard_scaler_scale_and_transform(xp) -> None:
    from sklearn.preprocessing import StandardScaler

    def scale_loss(X):
        with sklearn_dispatch():
            return xp.sum(StandardScaler().fit(X).scale_ * xp.asarray(W_SCALE))

    def transform_loss(X, X2):
        with sklearn_dispatch():
            return xp.sum(StandardScaler().fit(X).transform(X2) * xp.asarray(W_TRANSFORM))

    (ours,) = gradient(xp, scale_loss, X_DATA)
    reference = finite_differences(lambda X: float(np.sum(StandardScaler().fit(X).scale_ * W_SCALE)), X_DATA)
    np.testing.assert_allclose(ours, reference, rtol=RTOL, atol=ATOL)

    ours_x, ours_x2 = gradient(xp, transform_loss, X_DATA, X2_DATA)
    np.testing.assert_allclose(ours_x, finite_differences(
        lambda X: float(np.sum(StandardScaler().fit(X).transform(X2_DATA) * W_TRANSFORM)), X_DATA),
        rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(ours_x2, finite_differences(
        lambda X2: float(np.sum(StandardScaler().fit(X_DATA).transform(X2) * W_TRANSFORM)), X2_DATA),
        rtol=RTOL, atol=ATOL)


def test_ieee_cotangents_bring_the_nan_back(xp) -> None:
    from sklearn.preprocessing import StandardScaler

    def loss(X):
        with sklearn_dispatch():
            return xp.sum(StandardScaler().fit_transform(X)[:, 0] * xp.asarray(W_ROWS))

    with wrapgrad.ieee_cotangents():
        (ieee,) = gradient(xp, loss, X_DATA)
    assert np.all(np.isnan(ieee))  # what every release before the guard returned (issue 10)
    (ours,) = gradient(xp, loss, X_DATA)  # the switch is restored on exit
    assert np.all(np.isfinite(ours))


# -- cosine_similarity with an all-zero row ----------------------------------------------------------------


def _cosine_reference(a0: np.ndarray) -> Callable[[np.ndarray], float]:
    """sum(cosine_similarity(a)) with the zero-norm mask of ``a0`` held fixed: the guarded formula whose
    derivative backward must give (scikit-learn divides a zero row by 1 instead of by its norm)."""
    zero = np.linalg.norm(a0, axis=1, keepdims=True) == 0

    def f(a: np.ndarray) -> float:
        unit = a / np.where(zero, 1.0, np.linalg.norm(a, axis=1, keepdims=True))
        return float(np.sum(unit @ unit.T))

    return f


def test_cosine_similarity_with_a_zero_row(xp) -> None:
    from sklearn.metrics.pairwise import cosine_similarity

    a = RNG.standard_normal((4, 3))
    a[2] = 0.0

    def loss(A):
        with sklearn_dispatch():
            return xp.sum(cosine_similarity(A))

    (ours,) = gradient(xp, loss, a)
    np.testing.assert_allclose(ours, finite_differences(_cosine_reference(a), a), rtol=RTOL, atol=ATOL)
    assert np.any(ours[2] != 0)  # the zero row is divided by 1: it has a gradient
    with wrapgrad.ieee_cotangents():
        (ieee,) = gradient(xp, loss, a)
    assert np.all(np.isnan(ieee[2]))


# -- array_api_extra.nan_to_num at an inf; where(x > 0, sqrt(x), 0) at negative x ---------------------------

NAN_TO_NUM_X = np.array([0.5, 1000.0, -2.0, 800.0])  # exp overflows to inf at 1000 and 800
SQRT_X = np.array([4.0, -1.0, 0.25, -3.0])


def nan_to_num_loss(xp: ModuleType, x: object) -> object:
    xpx = pytest.importorskip("array_api_extra")
    return xp.sum(xp.log(xpx.nan_to_num(xp.exp(x))))  # log: finfo.max stays finite in the sum


def where_sqrt_loss(xp: ModuleType, x: object) -> object:
    return xp.sum(xp.where(x > 0, xp.sqrt(x), xp.zeros_like(x)))


def test_nan_to_num_at_an_inf(xp) -> None:
    (ours,) = gradient(xp, lambda x: nan_to_num_loss(xp, x), NAN_TO_NUM_X)
    reference = finite_differences(lambda x: float(np.sum(np.log(np.nan_to_num(np.exp(x))))), NAN_TO_NUM_X)
    np.testing.assert_allclose(ours, reference, rtol=RTOL, atol=ATOL)
    assert ours[1] == 0 and ours[3] == 0
    with wrapgrad.ieee_cotangents():
        (ieee,) = gradient(xp, lambda x: nan_to_num_loss(xp, x), NAN_TO_NUM_X)
    assert np.isnan(ieee[1]) and np.isnan(ieee[3])


def test_where_sqrt_at_negative_x(xp) -> None:
    (ours,) = gradient(xp, lambda x: where_sqrt_loss(xp, x), SQRT_X)
    reference = finite_differences(lambda x: float(np.sum(np.where(x > 0, np.sqrt(x), 0.0))), SQRT_X)
    np.testing.assert_allclose(ours, reference, rtol=RTOL, atol=ATOL)
    with wrapgrad.ieee_cotangents():
        (ieee,) = gradient(xp, lambda x: where_sqrt_loss(xp, x), SQRT_X)
    np.testing.assert_array_equal(np.isnan(ieee), SQRT_X < 0)


def test_a_zero_cotangent_is_masked_in_every_guarded_rule(xp) -> None:
    # Each op makes an inf or nan local derivative at x[1]; where() discards that element of its result.
    x0 = np.array([0.5, 0.0, 0.25])
    ops = {
        "divide": lambda x: 1.0 / x, "log": lambda x: xp.log(x), "log2": lambda x: xp.log2(x),
        "log10": lambda x: xp.log10(x), "sqrt": lambda x: xp.sqrt(x), "pow": lambda x: x**0.5,
        "pow exponent": lambda x: (x - x) ** (1.0 / x), "multiply": lambda x: x * xp.log(x),
        "reciprocal": lambda x: xp.reciprocal(x), "atanh": lambda x: xp.atanh(1.0 - x),
        "acos": lambda x: xp.acos(1.0 - x), "asin": lambda x: xp.asin(1.0 - x), "acosh": lambda x: xp.acosh(x + 1.0),
        "log1p": lambda x: xp.log1p(x - 1.0), "exp": lambda x: xp.exp(1.0 / x), "expm1": lambda x: xp.expm1(1.0 / x),
        "square": lambda x: xp.square(1.0 / x), "tan": lambda x: xp.tan(1.0 / x), "sin": lambda x: xp.sin(1.0 / x),
        "cos": lambda x: xp.cos(1.0 / x), "sinh": lambda x: xp.sinh(1.0 / x), "cosh": lambda x: xp.cosh(1.0 / x),
        "tanh": lambda x: xp.tanh(xp.log(x)), "abs": lambda x: xp.abs(xp.log(x)),
        "logaddexp": lambda x: xp.logaddexp(1.0 / x, x), "hypot": lambda x: xp.hypot(1.0 / x, x),
    }
    for name, op in ops.items():
        (ours,) = gradient(xp, lambda x, op=op: xp.sum(xp.where(x != 0, op(x), xp.zeros_like(x))), x0)
        assert ours[1] == 0, name
        assert np.all(np.isfinite(ours)), name


# -- jax.jit: the guard adds no value-dependent Python -------------------------------------------------------


def test_the_guarded_gradients_under_jax_jit() -> None:
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    import wrapgrad.jax as wxp

    where_sqrt = jax.jit(wrapgrad.grad(lambda x: where_sqrt_loss(wxp, x)))
    np.testing.assert_allclose(np.asarray(where_sqrt(jnp.asarray(SQRT_X))),
                               finite_differences(lambda x: float(np.sum(np.where(x > 0, np.sqrt(x), 0.0))), SQRT_X),
                               rtol=RTOL, atol=ATOL)
    nan_to_num = jax.jit(wrapgrad.grad(lambda x: nan_to_num_loss(wxp, x)))
    ours = np.asarray(nan_to_num(jnp.asarray(NAN_TO_NUM_X)))
    reference = finite_differences(lambda x: float(np.sum(np.log(np.nan_to_num(np.exp(x))))), NAN_TO_NUM_X)
    np.testing.assert_allclose(ours, reference, rtol=RTOL, atol=ATOL)

    # StandardScaler's own code asks traced values for Python bools, so under jit its trap is written out:
    # a 0/0 multiplied by zero, then overwritten (where, since jit has no boolean-mask setitem).
    def scaler_like(x):
        count = wxp.zeros_like(x[:1])
        poisoned = (count / count * x[0]) ** 2 * count  # 0 * nan**2 in the forward
        return wxp.sum(wxp.where(count == 0, x[1:] * 2.0, poisoned + x[1:]))

    jitted = jax.jit(wrapgrad.grad(scaler_like))
    np.testing.assert_allclose(np.asarray(jitted(jnp.asarray([3.0, 1.0, 2.0]))), [0.0, 2.0, 2.0], rtol=0)
    with wrapgrad.ieee_cotangents():  # read when backward runs, i.e. when jit traces: a new trace is needed
        ieee = jax.jit(wrapgrad.grad(scaler_like))(jnp.asarray([3.0, 1.0, 2.0]))
    assert np.isnan(np.asarray(ieee)[0])


# -- second derivatives: linear in the cotangent, so create_graph, hessians and jvp stay right ------------


def test_second_derivatives_through_the_guard(xp) -> None:
    x0 = np.array([4.0, -1.0, 0.25, -3.0, 2.0])

    def f(x):
        return xp.sum(xp.where(x > 0, x * xp.sqrt(x), xp.zeros_like(x)))

    def analytic_grad(x: np.ndarray) -> np.ndarray:  # d/dx x^1.5 = 1.5 sqrt(x) where x > 0, else 0
        with np.errstate(invalid="ignore"):
            return np.where(x > 0, 1.5 * np.sqrt(x), 0.0)

    x = xp.asarray(x0, requires_grad=True)
    (g,) = wrapgrad.autograd_grad(f(x), x, create_graph=True)
    np.testing.assert_allclose(to_np(g), analytic_grad(x0), rtol=1e-12)
    v = np.array([0.3, -0.7, 1.1, 0.5, -0.2])
    (hv,) = wrapgrad.autograd_grad(xp.sum(g * xp.asarray(v)), x)
    reference = finite_differences(lambda t: float(np.sum(analytic_grad(t) * v)), x0)
    np.testing.assert_allclose(to_np(hv), reference, rtol=RTOL, atol=ATOL)

    # jvp transposes the VJP from an all-zero cotangent: the guard must stay linear in it, not mask it.
    _, tangent = wrapgrad.jvp(lambda t: xp.where(t > 0, xp.sqrt(t), xp.zeros_like(t)) * xp.exp(t),
                              (xp.asarray(x0),), (xp.asarray(v),))
    with np.errstate(invalid="ignore"):
        fd = finite_differences(lambda t: float(np.sum(np.where(t > 0, np.sqrt(t), 0.0) * np.exp(t) * v)), x0)
    np.testing.assert_allclose(to_np(tangent), fd, rtol=RTOL, atol=ATOL)


def test_second_derivatives_of_standard_scaler(xp) -> None:
    from sklearn.preprocessing import StandardScaler

    def loss(X):
        with sklearn_dispatch():
            return xp.sum(StandardScaler().fit_transform(X)[:, 0] * xp.asarray(W_ROWS))

    direction = np.random.default_rng(3).standard_normal(X_DATA.shape)
    x = xp.asarray(X_DATA, requires_grad=True)
    (g,) = wrapgrad.autograd_grad(loss(x), x, create_graph=True)
    (hv,) = wrapgrad.autograd_grad(xp.sum(g * xp.asarray(direction)), x)
    assert np.all(np.isfinite(to_np(hv)))

    def first_gradient_along(X: np.ndarray) -> float:  # the first gradient, checked against FD above
        (grad,) = gradient(xp, loss, X)
        return float(np.sum(grad * direction))

    np.testing.assert_allclose(to_np(hv), finite_differences(first_gradient_along, X_DATA, h=1e-5),
                               rtol=1e-5, atol=1e-6)


# -- the one answer the rule changes, and the switch ---------------------------------------------------------


def test_the_documented_change_sqrt_squared_at_zero(xp) -> None:
    x0 = np.array([0.0, 4.0])
    (ours,) = gradient(xp, lambda x: xp.sum(xp.sqrt(x) ** 2), x0)
    np.testing.assert_array_equal(ours, [0.0, 1.0])  # the cotangent of sqrt is 2 * sqrt(0) = 0
    with wrapgrad.ieee_cotangents():
        (ieee,) = gradient(xp, lambda x: xp.sum(xp.sqrt(x) ** 2), x0)
    torch = pytest.importorskip("torch")
    t = torch.tensor(x0, requires_grad=True)
    torch.sum(torch.sqrt(t) ** 2).backward()
    np.testing.assert_array_equal(ieee, t.grad.numpy())  # IEEE arithmetic is torch's: [nan, 1]
    assert np.isnan(ieee[0])


def test_ieee_cotangents_runs_the_plain_rules(xp, monkeypatch) -> None:
    calls: list[int] = []
    for method in ("guarded_product", "factor_product"):  # every guarded product: the rule table's, the engine's
        real = getattr(_backend.Backend, method)
        monkeypatch.setattr(_backend.Backend, method,
                            lambda self, *a, real=real: calls.append(1) or real(self, *a))
    x0 = np.array([0.5, 2.0])
    with wrapgrad.ieee_cotangents():
        (ieee,) = gradient(xp, lambda x: xp.sum(xp.sin(x) * xp.sqrt(x) / x), x0)
    assert calls == []  # no guard at all: the very operations of the rules before the guard existed
    (ours,) = gradient(xp, lambda x: xp.sum(xp.sin(x) * xp.sqrt(x) / x), x0)
    assert len(calls) == 6  # one guarded product each: sin, both factors of *, sqrt, both operands of /
    np.testing.assert_array_equal(ours, ieee)  # where no cotangent is 0, the guard changes no bit


def test_ieee_cotangents_is_a_decorator_and_per_thread(xp) -> None:
    import threading

    @wrapgrad.ieee_cotangents()
    def ieee_gradient():
        return gradient(xp, lambda x: where_sqrt_loss(xp, x), SQRT_X)[0]

    assert np.isnan(ieee_gradient()[1])
    results = {}
    with wrapgrad.ieee_cotangents():
        worker = threading.Thread(target=lambda: results.update(g=gradient(xp, lambda x: where_sqrt_loss(xp, x),
                                                                           SQRT_X)[0]))
        worker.start()
        worker.join()
    assert np.all(np.isfinite(results["g"]))  # a new thread starts from the default


# -- detect_anomaly names each place where a zero cotangent met a non-finite local derivative ---------------


def test_detect_anomaly_reports_the_masked_places(xp) -> None:
    x = xp.asarray(SQRT_X, requires_grad=True)
    with wrapgrad.detect_anomaly(check_forward=False):
        y = where_sqrt_loss(xp, x)
        with pytest.warns(RuntimeWarning) as record:
            y.backward()
    messages = [str(w.message) for w in record if "zero cotangent" in str(w.message)]
    assert len(messages) == 1, messages
    assert messages[0].startswith("detect_anomaly: SqrtBackward0: a zero cotangent met an infinite or NaN local "
                                  "derivative (2 of 4 elements)")
    assert "where_sqrt_loss" in messages[0]  # the forward call that recorded the node
    np.testing.assert_array_equal(np.isfinite(to_np(x.grad)), [True] * 4)

    clean = xp.asarray([0.5, 2.0], requires_grad=True)
    with wrapgrad.detect_anomaly(), warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing masked: nothing reported
        xp.sum(xp.sqrt(clean) * xp.log(clean)).backward()


@pytest.mark.parametrize("size", [7, 70_000, 300_001])
def test_the_numpy_fast_path_is_the_portable_guard(size: int) -> None:
    # Backend.guarded_product on numpy writes 0 into the product through a mask (in chunks on large arrays); the
    # portable form is where(g == 0, 0, g * d). Zeros, infs and nans in every combination, and the shapes
    # the rules send: alike, g broadcast (a stride-0 view, as sum's cotangent), d broadcast, g transposed.
    import array_api_compat.numpy as compat

    backend = _backend.backend_for(compat)
    rng = np.random.default_rng(size)
    g = rng.standard_normal(size)
    g[::5] = 0.0
    g[1::11] = -0.0
    d = rng.standard_normal(size)
    d[::3], d[1::7], d[2::13] = np.inf, np.nan, 0.0
    square = rng.standard_normal((int(size**0.5) + 1,) * 2)
    square[::2] = 0.0
    cases = [(g, d), (np.broadcast_to(np.float64(0.0), (size,)), d), (g, d[:1]), (square.T, np.inf * square),
             (g.astype(np.complex128) * 1j, d)]
    with np.errstate(all="ignore"):
        for x1, x2 in cases:
            for quotient, plain in ((False, np.multiply), (True, np.divide)):
                expected = np.where(x1 == 0, 0.0, plain(x1, x2))
                np.testing.assert_array_equal(backend.guarded_product(x1, x2, quotient), expected)


@pytest.mark.parametrize(("name", "point", "inside"), [
    ("ndtri", 0.0, 0.3),       # ndtri(0) = -inf, its derivative inf
    ("gammaln", 0.0, 2.5),     # a pole of psi
    ("erfinv", 1.0, 0.2),      # erfinv(1) = inf
])
def test_special_functions_keep_a_zero_cotangent_zero(xp, name, point, inside) -> None:
    # The where trap through the special extension: the unselected branch gets an exact zero cotangent, and a
    # non-finite local derivative there must not turn it into NaN. The selected element's gradient is checked
    # against central finite differences of scipy.special.
    scipy_special = pytest.importorskip("scipy.special")
    fn = getattr(xp.special, name)
    x = xp.asarray([point, inside], dtype=xp.float64, requires_grad=True)
    keep = xp.asarray([False, True])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's note on the masked inf * 0
        xp.sum(xp.where(keep, fn(x), 0.0)).backward()
        raw = getattr(scipy_special, name)
        h = 1e-6
        expected = (raw(inside + h) - raw(inside - h)) / (2 * h)
    got = np.asarray(x.grad)
    assert got[0] == 0.0
    np.testing.assert_allclose(got[1], expected, rtol=1e-6)
    # IEEE's behaviour, when asked for, gives the NaN back.
    x.grad = None
    with wrapgrad.ieee_cotangents(), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        xp.sum(xp.where(keep, fn(x), 0.0)).backward()
    assert np.isnan(np.asarray(x.grad)[0])
