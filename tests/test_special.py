"""The ``special`` extension: SciPy's special functions on every wrapgrad namespace, differentiable.

One row per function (``CASES``): the input domain of each argument, and which arguments are constants that
must refuse a gradient (a shape parameter without a closed-form derivative, an integer order). Each row is
checked on every backend (numpy, array-api-strict, jax; torch where installed) against SciPy's forward on
numpy and against float64 central finite differences of SciPy's function (the functions are element-wise,
so one pair of evaluations gives the derivative of every element). Then SciPy itself, unchanged, on
Tensors: ``scipy.special.erf``, ``stats.entropy``, ``pearsonr``, the t-tests, a distribution's ``logpdf``,
with a weighted sum as the loss, and ``hessian`` of a few SciPy calls against ``jax.hessian``.
"""

from __future__ import annotations

import importlib
import inspect
import math
import os
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import wrapgrad
from tests.conftest import BACKENDS, load_backend
from wrapgrad._derivatives import RULES
from wrapgrad._special_names import FUNCTIONS, SCIPY_VERSION

scipy_special = pytest.importorskip("scipy.special")

HELPERS = ("digamma", "ellipe")


@dataclass(frozen=True)
class D:
    """A differentiable argument: uniform in ``(lo, hi)``, or the given ``values``."""

    lo: float = 0.0
    hi: float = 1.0
    values: tuple[float, ...] | None = None


@dataclass(frozen=True)
class C:
    """A constant argument; ``refuses``: a gradient through it must raise, naming the function and argument."""

    values: tuple[float, ...]
    refuses: bool = True
    integer: bool = False  # passed as an integer array (SciPy's integer-only arguments)


@dataclass(frozen=True)
class Case:
    name: str
    args: tuple[D | C, ...]
    params: dict[str, Any] = field(default_factory=dict)
    second: bool = False  # also check the second derivative


N = 4
K = C((1.0, 2.0, 3.0, 4.0))  # a count (SciPy floors it)
KI, NI = C((1, 2, 3, 4), integer=True), C((2, 3, 4, 5), integer=True)  # counts SciPy wants as integers
BN = C((10, 10, 12, 9), integer=True)
CASES = [
    Case("bdtr", (K, BN, D(0.1, 0.9))),
    Case("bdtrc", (K, BN, D(0.1, 0.9))),
    Case("bdtri", (K, BN, D(0.2, 0.8))),
    Case("betainc", (C((0.5, 1.5, 2.0, 3.0)), C((1.5, 2.5, 0.7, 4.0)), D(0.1, 0.9)), second=True),
    Case("betaincc", (C((0.5, 1.5, 2.0, 3.0)), C((1.5, 2.5, 0.7, 4.0)), D(0.1, 0.9))),
    Case("betaincinv", (C((0.5, 1.5, 2.0, 3.0)), C((1.5, 2.5, 0.7, 4.0)), D(0.1, 0.9))),
    Case("betaln", (D(0.5, 3.0), D(0.5, 3.0))),
    Case("binom", (D(3.0, 6.0), D(0.5, 2.5))),
    Case("boxcox", (D(0.5, 3.0), D(values=(-0.8, 0.0, 0.3, 1.1)))),
    Case("boxcox1p", (D(-0.5, 2.0), D(values=(-0.8, 0.0, 0.3, 1.1)))),
    Case("cbrt", (D(0.2, 3.0),)),
    Case("chdtr", (C((1.0, 2.0, 3.5, 5.0)), D(0.5, 4.0))),
    Case("chdtrc", (C((1.0, 2.0, 3.5, 5.0)), D(0.5, 4.0))),
    Case("chdtri", (C((1.0, 2.0, 3.5, 5.0)), D(0.1, 0.9))),
    Case("cosdg", (D(-80.0, 80.0),)),
    Case("cosm1", (D(-2.0, 2.0),)),
    Case("cotdg", (D(10.0, 80.0),)),
    Case("digamma", (D(0.5, 3.0),)),
    Case("ellipe", (D(values=(0.0, 0.2, 0.5, 0.9)),)),
    Case("ellipk", (D(values=(0.0, 0.2, 0.5, 0.9)),), second=True),
    Case("ellipkm1", (D(0.1, 0.9),)),
    Case("entr", (D(0.1, 3.0),)),
    Case("erf", (D(-2.0, 2.0),), second=True),
    Case("erfc", (D(-2.0, 2.0),)),
    Case("erfcx", (D(-1.0, 3.0),)),
    Case("erfinv", (D(-0.9, 0.9),)),
    Case("exp1", (D(0.2, 3.0),)),
    Case("exp10", (D(-1.0, 1.0),)),
    Case("exp2", (D(-2.0, 2.0),)),
    Case("expi", (D(0.2, 3.0),)),
    Case("expit", (D(-3.0, 3.0),)),
    Case("expn", (C((1, 2, 3, 0), integer=True), D(0.3, 3.0))),
    Case("exprel", (D(values=(-1.5, -3e-3, 2e-3, 1.2)),)),
    Case("fdtr", (C((1.0, 2.0, 5.0, 10.0)), C((3.0, 4.0, 8.0, 12.0)), D(0.2, 3.0))),
    Case("fdtrc", (C((1.0, 2.0, 5.0, 10.0)), C((3.0, 4.0, 8.0, 12.0)), D(0.2, 3.0))),
    Case("fdtri", (C((1.0, 2.0, 5.0, 10.0)), C((3.0, 4.0, 8.0, 12.0)), D(0.1, 0.9))),
    Case("gamma", (D(0.3, 4.0),)),
    Case("gammainc", (C((0.5, 1.0, 2.5, 4.0)), D(0.3, 4.0))),
    Case("gammaincc", (C((0.5, 1.0, 2.5, 4.0)), D(0.3, 4.0))),
    Case("gammainccinv", (C((0.5, 1.0, 2.5, 4.0)), D(0.1, 0.9))),
    Case("gammaincinv", (C((0.5, 1.0, 2.5, 4.0)), D(0.1, 0.9))),
    Case("gammaln", (D(0.3, 5.0),), second=True),
    Case("gammasgn", (D(values=(-2.5, -0.5, 0.5, 3.0)),)),
    Case("gdtr", (D(0.5, 2.0), C((1.0, 2.0, 3.5, 0.7)), D(0.2, 3.0))),
    Case("gdtrc", (D(0.5, 2.0), C((1.0, 2.0, 3.5, 0.7)), D(0.2, 3.0))),
    Case("huber", (D(0.5, 1.5), D(values=(-2.0, -0.3, 0.4, 2.5)))),
    Case("hyp1f1", (C((0.5, 1.0, 1.5, 2.0)), C((1.5, 2.0, 3.0, 2.5)), D(-1.0, 1.5))),
    Case("i0", (D(-2.0, 2.0),), second=True),
    Case("i0e", (D(-2.0, 2.0),)),
    Case("i1", (D(values=(-1.5, 0.0, 0.4, 2.0)),)),
    Case("i1e", (D(-2.0, 2.0),)),
    Case("inv_boxcox", (D(0.1, 1.0), D(values=(-0.5, 0.0, 0.2, 0.5)))),
    Case("inv_boxcox1p", (D(0.1, 1.0), D(values=(-0.5, 0.0, 0.2, 0.5)))),
    Case("j0", (D(-3.0, 3.0),)),
    Case("j1", (D(values=(-2.5, 0.0, 0.7, 3.0)),)),
    Case("k0", (D(0.3, 3.0),)),
    Case("k0e", (D(0.3, 3.0),)),
    Case("k1", (D(0.3, 3.0),)),
    Case("k1e", (D(0.3, 3.0),)),
    Case("kl_div", (D(0.2, 2.0), D(0.2, 2.0))),
    Case("log_ndtr", (D(-5.0, 2.0),)),
    Case("loggamma", (D(0.3, 4.0),)),
    Case("logit", (D(0.1, 0.9),)),
    Case("lpmv", (C((0.0, 1.0, 1.0, 2.0)), C((1.5, 2.0, 3.0, 2.5)), D(-0.8, 0.8))),
    Case("multigammaln", (D(2.0, 4.0),), {"d": 3}),
    Case("nbdtr", (KI, NI, D(0.1, 0.9))),
    Case("nbdtrc", (KI, NI, D(0.1, 0.9))),
    Case("nbdtri", (KI, NI, D(0.2, 0.8))),
    Case("ndtr", (D(-2.0, 2.0),)),
    Case("ndtri", (D(0.1, 0.9),), second=True),
    Case("pdtr", (C((0.0, 1.0, 2.0, 4.0)), D(0.5, 4.0))),
    Case("pdtrc", (C((0.0, 1.0, 2.0, 4.0)), D(0.5, 4.0))),
    Case("pdtri", (C((0, 1, 2, 4), integer=True), D(0.2, 0.8))),
    Case("poch", (D(0.5, 3.0), D(0.2, 2.0))),
    Case("polygamma", (C((0, 1, 2, 1), integer=True), D(0.5, 3.0))),
    Case("pseudo_huber", (D(0.5, 2.0), D(-2.0, 2.0))),
    Case("psi", (D(0.5, 3.0),), second=True),
    Case("radian", (D(-10.0, 10.0), D(-10.0, 10.0), D(-10.0, 10.0))),
    Case("rel_entr", (D(0.2, 2.0), D(0.2, 2.0))),
    Case("rgamma", (D(0.3, 4.0),)),
    Case("sinc", (D(values=(-1.3, -4e-4, 2e-4, 0.7)),)),
    Case("sindg", (D(-80.0, 80.0),)),
    Case("spence", (D(values=(0.3, 1.0, 1.5, 2.5)),)),
    Case("stdtr", (C((2.0, 3.5, 5.0, 10.0)), D(-2.0, 2.0)), second=True),
    Case("stdtrit", (C((2.0, 3.5, 5.0, 10.0)), D(0.1, 0.9))),
    Case("tandg", (D(-60.0, 60.0),)),
    Case("xlog1py", (D(-1.0, 1.0), D(-0.5, 2.0))),
    Case("xlogy", (D(-1.0, 1.0), D(0.2, 2.0))),
    Case("y0", (D(0.5, 3.0),)),
    Case("y1", (D(0.5, 3.0),)),
    Case("yn", (C((0, 1, 2, 3), integer=True), D(0.5, 3.0))),
    Case("zeta", (C((2.0, 3.0, 2.5, 4.0)), D(0.5, 3.0))),
    Case("zetac", (C((2.0, 3.0, 2.5, 4.0)),)),
]
BY_NAME = {c.name: c for c in CASES}
TORCH = importlib.util.find_spec("torch") is not None
ALL_BACKENDS = BACKENDS + (("torch",) if TORCH else ())


def _values(case: Case) -> list[np.ndarray]:
    rng = np.random.default_rng(sum(map(ord, case.name)))
    out = []
    for a in case.args:
        if isinstance(a, C):
            out.append(np.asarray(a.values))
        elif a.values is not None:
            out.append(np.asarray(a.values))
        else:
            out.append(rng.uniform(a.lo, a.hi, N))
    return out


def _scipy(case: Case, values: list[np.ndarray]) -> np.ndarray:
    return np.asarray(getattr(scipy_special, case.name)(*values, **case.params), dtype=np.float64)


def _namespace(backend: str):
    if backend == "torch":
        import array_api_compat.torch as raw

        return wrapgrad.namespace(raw), raw
    return load_backend(backend)


def _to_numpy(t) -> np.ndarray:
    data = t.detach()._data if isinstance(t, wrapgrad.Tensor) else t
    if hasattr(data, "numpy") and not isinstance(data, np.ndarray) and type(data).__module__.startswith("torch"):
        return data.numpy()
    return np.asarray(np.from_dlpack(data) if not isinstance(data, np.ndarray) else data)


def _tensors(xp, case: Case, values: list[np.ndarray], grad: bool) -> list[Any]:
    return [xp.asarray(v, dtype=xp.int64 if isinstance(a, C) and a.integer else xp.float64,
                       requires_grad=grad and isinstance(a, D)) for a, v in zip(case.args, values)]


def _fd(case: Case, values: list[np.ndarray], k: int) -> np.ndarray:
    """The element-wise central difference of SciPy's function in argument k."""
    x = values[k]
    h = 1e-6 * np.maximum(1.0, np.abs(x))
    up = [v + h if i == k else v for i, v in enumerate(values)]
    down = [v - h if i == k else v for i, v in enumerate(values)]
    return (_scipy(case, up) - _scipy(case, down)) / (2 * h)


@pytest.mark.parametrize("backend", ALL_BACKENDS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_forward_and_gradient_against_scipy_and_finite_differences(case: Case, backend: str) -> None:
    xp, _ = _namespace(backend)
    values = _values(case)
    args = _tensors(xp, case, values, grad=True)
    out = getattr(xp.special, case.name)(*args, **case.params)
    assert isinstance(out, wrapgrad.Tensor) and out.dtype == xp.float64
    expected = _scipy(case, values)
    rtol = 1e-10 if backend in ("numpy", "array_api_strict") else 1e-6
    np.testing.assert_allclose(_to_numpy(out), expected, rtol=rtol, atol=1e-12, err_msg=f"{case.name} forward")
    weights = np.linspace(0.5, 1.5, N)
    if not any(isinstance(a, D) for a in case.args):
        return
    xp.sum(out * xp.asarray(weights)).backward()
    for k, (a, arg) in enumerate(zip(case.args, args)):
        if isinstance(a, D):
            np.testing.assert_allclose(_to_numpy(arg.grad), weights * _fd(case, values, k), rtol=2e-5, atol=1e-8,
                                       err_msg=f"{case.name}: gradient of argument {k} on {backend}")


SECOND = [c for c in CASES if c.second]


@pytest.mark.parametrize("case", SECOND, ids=lambda c: c.name)
def test_second_derivatives_against_finite_differences(case: Case, xp) -> None:
    values = _values(case)
    k = next(i for i, a in enumerate(case.args) if isinstance(a, D))
    args = _tensors(xp, case, values, grad=True)
    out = getattr(xp.special, case.name)(*args, **case.params)
    (g,) = wrapgrad.autograd_grad(xp.sum(out), args[k], create_graph=True)
    (h,) = wrapgrad.autograd_grad(xp.sum(g), args[k])
    x = values[k]
    step = 1e-4 * np.maximum(1.0, np.abs(x))
    at = [lambda d, i=i, v=v: v + d if i == k else v for i, v in enumerate(values)]
    second = (_scipy(case, [f(step) for f in at]) - 2 * _scipy(case, values) + _scipy(case, [f(-step) for f in at]))
    np.testing.assert_allclose(_to_numpy(h), second / step**2, rtol=1e-4, atol=1e-6, err_msg=case.name)


REFUSED = [(c, k) for c in CASES for k, a in enumerate(c.args) if isinstance(a, C) and a.refuses]


@pytest.mark.filterwarnings("ignore:non-integer arg n:DeprecationWarning")
@pytest.mark.parametrize(("case", "k"), REFUSED, ids=lambda v: v.name if isinstance(v, Case) else str(v))
def test_an_argument_without_a_derivative_refuses_by_name(case: Case, k: int) -> None:
    xp, _ = load_backend("numpy")
    values = _values(case)
    # The argument made floating, so that it can require grad (SciPy warns about a non-integer order).
    args = [xp.asarray(v, dtype=xp.float64, requires_grad=(i == k)) for i, v in enumerate(values)]
    out = getattr(xp.special, case.name)(*args, **case.params)
    argument = FUNCTIONS.get(case.name, (None,))[0][k]
    with pytest.raises(NotImplementedError, match=rf"special\.{case.name}: .*`{argument}`"):
        xp.sum(out).backward()
    assert args[k].grad is None


# -- completeness -------------------------------------------------------------------------------------

def _refusing(name: str) -> list[bool]:
    return [vjp is not None and vjp.__qualname__.startswith("_refuse.") for vjp in RULES[f"special.{name}"].vjps]


def test_every_function_is_defined_has_a_rule_and_a_row() -> None:
    import wrapgrad.special

    gaps = []
    names = sorted(FUNCTIONS) + list(HELPERS)
    for backend in BACKENDS:
        xp, _ = load_backend(backend)
        gaps += [f"wrapgrad.{backend}.special.{n}" for n in names if not hasattr(xp.special, n)]
    gaps += [f"no rule special.{n}" for n in names if f"special.{n}" not in RULES]
    gaps += [f"no row {n}" for n in names if n not in BY_NAME]
    gaps += [f"row {n} is neither SciPy's nor a helper" for n in BY_NAME if n not in names]
    for n in names:
        if n in BY_NAME and f"special.{n}" in RULES:
            marked = [isinstance(a, C) and a.refuses for a in BY_NAME[n].args]
            if marked != _refusing(n):
                gaps.append(f"{n}: the row marks {marked} as refusing, the rule {_refusing(n)}")
        if n in FUNCTIONS:
            params = tuple(inspect.signature(getattr(wrapgrad.special, n)).parameters)
            if params != FUNCTIONS[n][0]:
                gaps.append(f"{n}{params}: SciPy's parameters are {FUNCTIONS[n][0]}")
    assert set(wrapgrad.special.__all__) == set(names)
    assert len(FUNCTIONS) == 91 and sum(u for _, u in FUNCTIONS.values()) == 87
    assert not gaps, "\n".join(gaps)


def test_the_generated_table_is_the_installed_scipys() -> None:
    import scipy

    if scipy.__version__ != SCIPY_VERSION:
        pytest.skip(f"wrapgrad/_special_names.py was generated from SciPy {SCIPY_VERSION}, SciPy "
                    f"{scipy.__version__} is installed: regenerate it with conformance/make_special_table.py")
    from conformance.make_special_table import read_table

    assert read_table() == (SCIPY_VERSION, FUNCTIONS)


def test_importing_wrapgrad_and_its_namespaces_imports_no_scipy() -> None:
    code = "import sys, wrapgrad, wrapgrad.numpy as xp; xp.special.erf; assert 'scipy' not in sys.modules, 'scipy'"
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


# -- SciPy, unchanged, on Tensors ---------------------------------------------------------------------
# SCIPY_ARRAY_API=1 is set by conftest before SciPy is imported: SciPy then dispatches to xp.special.

def _scipy_calls() -> dict[str, tuple[Any, list[np.ndarray]]]:
    from scipy import special, stats

    rng = np.random.default_rng(7)
    a, b = rng.normal(size=8), rng.normal(size=8) + 0.4
    p, q = rng.uniform(0.1, 1.0, 5), rng.uniform(0.1, 1.0, 5)
    return {
        "special.erf": (lambda x: special.erf(x), [a]),
        "special.gammaln": (lambda x: special.gammaln(x), [p * 3]),
        "stats.entropy(pk)": (lambda pk: stats.entropy(pk), [p]),
        "stats.entropy(pk, qk)": (lambda pk, qk: stats.entropy(pk, qk), [p, q]),
        "stats.pearsonr": (lambda x, y: stats.pearsonr(x, y), [a, b]),
        "stats.ttest_1samp": (lambda x: stats.ttest_1samp(x, 0.3), [a]),
        "stats.ttest_ind": (lambda x, y: stats.ttest_ind(x, y), [a, b]),
        "stats.skewtest": (lambda x: stats.skewtest(x), [rng.normal(size=12)]),
    }


CALLS = list(_scipy_calls())


def _loss(xp, result: Any) -> Any:
    """A weighted sum of every output (statistic and p-value): a plain sum would hide errors."""
    outputs = [result.statistic, result.pvalue] if hasattr(result, "pvalue") else [result]
    total = 0.0
    for i, out in enumerate(outputs):
        weights = xp.asarray(np.linspace(0.5, 1.5, math.prod(out.shape)).reshape(out.shape), dtype=out.dtype)
        total = total + (0.7 + 0.6 * i) * xp.sum(weights * out)
    return total


@pytest.mark.parametrize("backend", ALL_BACKENDS)
@pytest.mark.parametrize("call", CALLS)
def test_scipy_calls_are_differentiable_unchanged(call: str, backend: str) -> None:
    import array_api_compat.numpy as np_xp

    xp, _ = _namespace(backend)
    fn, values = _scipy_calls()[call]
    args = [xp.asarray(v, requires_grad=True) for v in values]
    loss = _loss(xp, fn(*args))
    assert isinstance(loss, wrapgrad.Tensor)
    loss.backward()
    for k, (arg, v) in enumerate(zip(args, values)):
        fd = np.empty_like(v)
        for i in range(v.size):
            h = 1e-6 * max(1.0, abs(v[i]))
            up, down = [u.copy() for u in values], [u.copy() for u in values]
            up[k][i] += h
            down[k][i] -= h
            fd[i] = (float(_loss(np_xp, fn(*up))) - float(_loss(np_xp, fn(*down)))) / (2 * h)
        np.testing.assert_allclose(_to_numpy(arg.grad), fd, rtol=1e-5, atol=1e-8, err_msg=f"{call}, argument {k}")


def test_welchs_t_test_statistic_is_differentiable_and_its_p_value_refuses_through_df(xp) -> None:
    from scipy import stats

    rng = np.random.default_rng(3)
    a = xp.asarray(rng.normal(size=8), requires_grad=True)
    b = xp.asarray(rng.normal(size=9) + 0.5, requires_grad=True)
    result = stats.ttest_ind(a, b, equal_var=False)
    (ga,) = wrapgrad.autograd_grad(result.statistic, a, retain_graph=True)
    assert ga.shape == (8,)
    with pytest.raises(NotImplementedError, match=r"special\.stdtr: no derivative with respect to .*`df`"):
        result.pvalue.backward()
    assert a.grad is None and b.grad is None


HESSIAN_CALLS = ("special.gammaln", "stats.entropy(pk)", "stats.ttest_1samp", "stats.pearsonr")


@pytest.mark.parametrize("call", HESSIAN_CALLS)
def test_hessian_of_scipy_calls_matches_jax_hessian(call: str) -> None:
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from array_api_compat import array_namespace

    fn, values = _scipy_calls()[call]
    others = values[1:]

    def f(x: Any) -> Any:  # SciPy on x (wrapgrad Tensors here, jax tracers there), the rest constant
        return _loss(array_namespace(x), fn(x, *[array_namespace(x).asarray(o) for o in others]))

    ours = wrapgrad.hessian(f)(values[0])
    theirs = jax.jit(jax.hessian(f))(jnp.asarray(values[0]))  # jit: eager jax.hessian of SciPy takes ~10x longer
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-7, atol=1e-10)


# -- jax.jit, fallbacks, errors -----------------------------------------------------------------------

def test_special_functions_trace_under_jax_jit_also_through_a_host_callback() -> None:
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from array_api_compat import array_namespace

    def loss(x: Any) -> Any:  # erf is jax's own; ellipk (which jax lacks) and its rule's ellipe are callbacks
        xp = array_namespace(x)
        return xp.sum(xp.special.erf(x) * xp.special.ellipk(x / 2))

    x = np.asarray([0.1, 0.4, 0.8])
    jitted = jax.jit(wrapgrad.grad(loss))(jnp.asarray(x))
    plain = wrapgrad.grad(loss)(x)
    np.testing.assert_allclose(np.asarray(jitted), plain, rtol=1e-12)
    def on_numpy(x: np.ndarray) -> float:
        return float(np.sum(scipy_special.erf(x) * scipy_special.ellipk(x / 2)))

    fd = np.asarray([(on_numpy(x + h) - on_numpy(x - h)) / 2e-6 for h in np.eye(3) * 1e-6])
    np.testing.assert_allclose(plain, fd, rtol=1e-6)


def test_a_backend_without_a_special_function_library_gets_a_clear_error() -> None:
    pytest.importorskip("dask")
    import array_api_compat.dask.array as dask_xp

    xp = wrapgrad.namespace(dask_xp)
    with pytest.raises(NotImplementedError, match=r"special\.erf: wrapgrad knows no special-function library for "
                                                  r"the backend dask"):
        xp.special.erf(xp.asarray([0.5]))


SCALAR_CALLS = [  # (name, arguments with Python scalars where SciPy's callers pass them, the differentiated one)
    ("gammainc", (2.5, "x"), 1),
    ("stdtr", (4, "x"), 1),
    ("polygamma", (1, "x"), 1),
    ("zeta", (3.0, "x"), 1),
    ("xlogy", (2.0, "x"), 1),
    ("betainc", (1.5, 2.5, "p"), 2),
    ("multigammaln", ("x",), 0),
]


# jax takes scalars in every function itself (and compiling each call eagerly is slow): the others.
@pytest.mark.parametrize("backend", [b for b in ALL_BACKENDS if b != "jax"])
def test_python_scalar_arguments_work_on_every_backend(backend: str) -> None:
    xp, _ = _namespace(backend)
    for name, spec, k in SCALAR_CALLS:
        values = {"x": np.asarray([2.2, 2.9, 3.7]), "p": np.asarray([0.2, 0.5, 0.7])}
        tensor = xp.asarray(values[spec[k]], dtype=xp.float64, requires_grad=True)
        args = [tensor if i == k else a for i, a in enumerate(spec)]
        params = {"d": 2} if name == "multigammaln" else {}
        xp.sum(getattr(xp.special, name)(*args, **params)).backward()
        raw = [values[a] if isinstance(a, str) else a for a in spec]
        h = 1e-6
        up, down = list(raw), list(raw)
        up[k], down[k] = raw[k] + h, raw[k] - h
        fd = (getattr(scipy_special, name)(*up, **params) - getattr(scipy_special, name)(*down, **params)) / (2 * h)
        np.testing.assert_allclose(_to_numpy(tensor.grad), fd, rtol=1e-5, err_msg=f"{name} on {backend}")


def test_complex_arguments_follow_the_conjugate_convention() -> None:
    xp, _ = load_backend("numpy")
    z0 = np.asarray([0.3 + 0.4j, -0.2 + 1.1j])
    for name in ("erf", "loggamma"):
        z = xp.asarray(z0, requires_grad=True)
        xp.sum(xp.real(getattr(xp.special, name)(z))).backward()
        f = getattr(scipy_special, name)
        h = 1e-7  # grad = dL/dRe + i dL/dIm of L = sum(real(f(z)))
        expected = ((f(z0 + h) - f(z0 - h)).real + 1j * (f(z0 + 1j * h) - f(z0 - 1j * h)).real) / (2 * h)
        np.testing.assert_allclose(_to_numpy(z.grad), expected, rtol=1e-6, err_msg=name)


def test_host_callbacks_batch_under_jax_vmap() -> None:
    pytest.importorskip("jax")
    xp, _ = load_backend("jax")
    import jax.numpy as jnp

    x = np.asarray([0.1, 0.4, 0.8])
    # jacrev on jax batches the backward pass with jax.vmap: ellipk's rule calls ellipe, a host callback
    jac = wrapgrad.jacrev(lambda v: xp.special.ellipk(v) * xp.special.expit(v))(jnp.asarray(x))
    m = x
    dk = (scipy_special.ellipe(m) - (1 - m) * scipy_special.ellipk(m)) / (2 * m * (1 - m))
    s = scipy_special.expit(x)
    np.testing.assert_allclose(np.diag(np.asarray(jac)), dk * s + scipy_special.ellipk(m) * s * (1 - s), rtol=1e-10)
