"""The README's "works with" table, tried: each row calls a library unchanged on Tensors (numpy backend,
``SCIPY_ARRAY_API=1``, scikit-learn's ``array_api_dispatch``). A differentiable row is checked against central
finite differences of the same call on numpy with a weighted-sum loss; a refusing row must raise a clear error
(never a silent detached copy).
"""

from __future__ import annotations

import numpy as np
import pytest

import wrapgrad
from tests.test_interop import numeric_grad, to_numpy

scipy = pytest.importorskip("scipy")
sklearn = pytest.importorskip("sklearn")

from scipy import integrate, ndimage, signal, special, stats  # noqa: E402
from sklearn import decomposition, linear_model, metrics, preprocessing  # noqa: E402
from sklearn.metrics.pairwise import rbf_kernel  # noqa: E402

RNG = np.random.default_rng(7)
X = RNG.standard_normal((6, 3))
Y = RNG.standard_normal(6)


def ns(t):
    """The namespace of the call's own argument: wrapgrad's for a Tensor, numpy for the reference call."""
    return wrapgrad.numpy if isinstance(t, wrapgrad.Tensor) else np


DIFFERENTIABLE = {
    "special.logsumexp": lambda t: special.logsumexp(t, axis=0),
    "special.softmax": lambda t: special.softmax(t, axis=0),
    "stats.zscore": lambda t: stats.zscore(t),
    "stats.skew": lambda t: stats.skew(t),
    "stats.quantile": lambda t: stats.quantile(t, 0.3, axis=0),
    "stats.gmean": lambda t: stats.gmean(t * t + 1),
    "integrate.trapezoid": lambda t: integrate.trapezoid(t, axis=0),
    "fft.rfft": lambda t: ns(t).abs(scipy.fft.rfft(t, axis=0)),
    "signal.fftconvolve": lambda t: signal.fftconvolve(t, ns(t).asarray(X[:3]), axes=0),
    "optimize.rosen": lambda t: scipy.optimize.rosen(t[:, 0]),
    "preprocessing.MinMaxScaler": lambda t: preprocessing.MinMaxScaler().fit_transform(t),
    "preprocessing.Normalizer": lambda t: preprocessing.Normalizer().fit_transform(t),
    "metrics.r2_score raw_values": lambda t: metrics.r2_score(ns(t).asarray(Y[:, None] * X), t,
                                                              multioutput="raw_values"),
    "metrics.median_absolute_error raw_values": lambda t: metrics.median_absolute_error(
        ns(t).asarray(Y[:, None] * X), t, multioutput="raw_values"),
    "metrics.rbf_kernel": lambda t: rbf_kernel(t),
    "decomposition.PCA": lambda t: ns(t).abs(decomposition.PCA(n_components=2).fit_transform(t)),
    "linear_model.Ridge": lambda t: linear_model.Ridge(alpha=1.0, solver="svd").fit(t, ns(t).asarray(Y)).coef_,
}

REFUSES = {
    "signal.lfilter": lambda t: signal.lfilter(ns(t).asarray([0.5, 0.3]), ns(t).asarray([1.0, -0.4]), t[:, 0]),
    "signal.convolve direct": lambda t: signal.convolve(t[:, 0], ns(t).asarray(Y[:3]), method="direct"),
    "ndimage.gaussian_filter": lambda t: ndimage.gaussian_filter(t, 1.0),
    "interpolate.CubicSpline": lambda t: scipy.interpolate.CubicSpline(ns(t).arange(6.0), t[:, 0])(
        ns(t).asarray([0.5])),
    "linalg.expm": lambda t: scipy.linalg.expm(t[:3]),
    "linear_model.LinearRegression": lambda t: linear_model.LinearRegression().fit(t, ns(t).asarray(Y)).coef_,
    "linear_model.LogisticRegression": lambda t: linear_model.LogisticRegression().fit(
        t, ns(t).asarray((Y > 0).astype(np.int64))).coef_,
    "preprocessing.RobustScaler": lambda t: preprocessing.RobustScaler().fit_transform(t),
}


@pytest.mark.parametrize("name", sorted(DIFFERENTIABLE))
def test_differentiable_unchanged(name: str) -> None:
    fn = DIFFERENTIABLE[name]
    want = fn(X)
    w = RNG.standard_normal(np.shape(want))
    with sklearn.config_context(array_api_dispatch=True):
        t = wrapgrad.numpy.asarray(X, requires_grad=True)
        out = fn(t)
        wrapgrad.numpy.sum(wrapgrad.numpy.asarray(w) * out).backward()
    np.testing.assert_allclose(to_numpy(out), want, atol=1e-10)
    np.testing.assert_allclose(to_numpy(t.grad), numeric_grad(lambda v: np.asarray(fn(v)), X, w), atol=1e-5)


@pytest.mark.parametrize("name", sorted(REFUSES))
def test_refuses_clearly(name: str) -> None:
    fn = REFUSES[name]
    with sklearn.config_context(array_api_dispatch=True), pytest.raises(
            (RuntimeError, TypeError), match=r"requires grad.*detach|Multiple namespaces"):
        fn(wrapgrad.numpy.asarray(X, requires_grad=True))
