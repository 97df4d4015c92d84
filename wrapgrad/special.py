"""The ``special`` extension: SciPy's special functions, differentiable.

Each wrapgrad namespace exposes these as ``xp.special`` (``wrapgrad.numpy.special.erf``, ...). They are every
function that SciPy dispatches to ``xp.special.<name>`` for a namespace it does not know (the list is
generated from SciPy into ``wrapgrad/_special_names.py``), plus ``digamma`` (SciPy's second name for
``psi``) and ``ellipe`` (``ellipk``'s derivative needs it). So with ``SCIPY_ARRAY_API=1`` set before SciPy is
imported, ``scipy.special.erf(tensor)`` calls :func:`erf` here and is differentiable unchanged.

The forward runs on each backend's own library (scipy.special on numpy and array-api-strict,
jax.scipy.special on jax, torch.special on torch, with SciPy as the fallback where a library lacks a name:
see ``wrapgrad/_backend.py``). The gradient rules are in ``wrapgrad/_rules_special.py``; an argument without
a closed-form derivative (``gammainc``'s ``a``, an integer order) raises when a gradient is needed through it.
Parameter names are SciPy's; like SciPy's ufuncs, the functions take their arguments positionally.
"""

from __future__ import annotations

import operator

from ._apply import apply
from ._tensor import Tensor

__all__ = [
    "bdtr", "bdtrc", "bdtri", "betainc", "betaincc", "betaincinv", "betaln", "binom", "boxcox", "boxcox1p",
    "cbrt", "chdtr", "chdtrc", "chdtri", "cosdg", "cosm1", "cotdg", "digamma", "ellipe", "ellipk", "ellipkm1",
    "entr", "erf", "erfc", "erfcx", "erfinv", "exp1", "exp10", "exp2", "expi", "expit", "expn", "exprel",
    "fdtr", "fdtrc", "fdtri", "gamma", "gammainc", "gammaincc", "gammainccinv", "gammaincinv", "gammaln",
    "gammasgn", "gdtr", "gdtrc", "huber", "hyp1f1", "i0", "i0e", "i1", "i1e", "inv_boxcox", "inv_boxcox1p",
    "j0", "j1", "k0", "k0e", "k1", "k1e", "kl_div", "log_ndtr", "loggamma", "logit", "lpmv", "multigammaln",
    "nbdtr", "nbdtrc", "nbdtri", "ndtr", "ndtri", "pdtr", "pdtrc", "pdtri", "poch", "polygamma",
    "pseudo_huber", "psi", "radian", "rel_entr", "rgamma", "sinc", "sindg", "spence", "stdtr", "stdtrit",
    "tandg", "xlog1py", "xlogy", "y0", "y1", "yn", "zeta", "zetac",
]


def bdtr(k: Tensor | float, n: Tensor | float, p: Tensor | float, /) -> Tensor:
    """``scipy.special.bdtr``."""
    return apply("special.bdtr", k, n, p)


def bdtrc(k: Tensor | float, n: Tensor | float, p: Tensor | float, /) -> Tensor:
    """``scipy.special.bdtrc``."""
    return apply("special.bdtrc", k, n, p)


def bdtri(k: Tensor | float, n: Tensor | float, y: Tensor | float, /) -> Tensor:
    """``scipy.special.bdtri``."""
    return apply("special.bdtri", k, n, y)


def betainc(a: Tensor | float, b: Tensor | float, x: Tensor | float, /) -> Tensor:
    """``scipy.special.betainc``."""
    return apply("special.betainc", a, b, x)


def betaincc(a: Tensor | float, b: Tensor | float, x: Tensor | float, /) -> Tensor:
    """``scipy.special.betaincc``."""
    return apply("special.betaincc", a, b, x)


def betaincinv(a: Tensor | float, b: Tensor | float, y: Tensor | float, /) -> Tensor:
    """``scipy.special.betaincinv``."""
    return apply("special.betaincinv", a, b, y)


def betaln(a: Tensor | float, b: Tensor | float, /) -> Tensor:
    """``scipy.special.betaln``."""
    return apply("special.betaln", a, b)


def binom(x: Tensor | float, y: Tensor | float, /) -> Tensor:
    """``scipy.special.binom``."""
    return apply("special.binom", x, y)


def boxcox(x: Tensor | float, lmbda: Tensor | float, /) -> Tensor:
    """``scipy.special.boxcox``."""
    return apply("special.boxcox", x, lmbda)


def boxcox1p(x: Tensor | float, lmbda: Tensor | float, /) -> Tensor:
    """``scipy.special.boxcox1p``."""
    return apply("special.boxcox1p", x, lmbda)


def cbrt(x: Tensor | float, /) -> Tensor:
    """``scipy.special.cbrt``."""
    return apply("special.cbrt", x)


def chdtr(v: Tensor | float, x: Tensor | float, /) -> Tensor:
    """``scipy.special.chdtr``."""
    return apply("special.chdtr", v, x)


def chdtrc(v: Tensor | float, x: Tensor | float, /) -> Tensor:
    """``scipy.special.chdtrc``."""
    return apply("special.chdtrc", v, x)


def chdtri(v: Tensor | float, p: Tensor | float, /) -> Tensor:
    """``scipy.special.chdtri``."""
    return apply("special.chdtri", v, p)


def cosdg(x: Tensor | float, /) -> Tensor:
    """``scipy.special.cosdg``."""
    return apply("special.cosdg", x)


def cosm1(x: Tensor | float, /) -> Tensor:
    """``scipy.special.cosm1``."""
    return apply("special.cosm1", x)


def cotdg(x: Tensor | float, /) -> Tensor:
    """``scipy.special.cotdg``."""
    return apply("special.cotdg", x)


def ellipk(m: Tensor | float, /) -> Tensor:
    """``scipy.special.ellipk``."""
    return apply("special.ellipk", m)


def ellipkm1(p: Tensor | float, /) -> Tensor:
    """``scipy.special.ellipkm1``."""
    return apply("special.ellipkm1", p)


def entr(x: Tensor | float, /) -> Tensor:
    """``scipy.special.entr``."""
    return apply("special.entr", x)


def erf(z: Tensor | float, /) -> Tensor:
    """``scipy.special.erf``."""
    return apply("special.erf", z)


def erfc(x: Tensor | float, /) -> Tensor:
    """``scipy.special.erfc``."""
    return apply("special.erfc", x)


def erfcx(x: Tensor | float, /) -> Tensor:
    """``scipy.special.erfcx``."""
    return apply("special.erfcx", x)


def erfinv(y: Tensor | float, /) -> Tensor:
    """``scipy.special.erfinv``."""
    return apply("special.erfinv", y)


def exp1(z: Tensor | float, /) -> Tensor:
    """``scipy.special.exp1``."""
    return apply("special.exp1", z)


def exp10(x: Tensor | float, /) -> Tensor:
    """``scipy.special.exp10``."""
    return apply("special.exp10", x)


def exp2(x: Tensor | float, /) -> Tensor:
    """``scipy.special.exp2``."""
    return apply("special.exp2", x)


def expi(x: Tensor | float, /) -> Tensor:
    """``scipy.special.expi``."""
    return apply("special.expi", x)


def expit(x: Tensor | float, /) -> Tensor:
    """``scipy.special.expit``."""
    return apply("special.expit", x)


def expn(n: Tensor | float, x: Tensor | float, /) -> Tensor:
    """``scipy.special.expn``."""
    return apply("special.expn", n, x)


def exprel(x: Tensor | float, /) -> Tensor:
    """``scipy.special.exprel``."""
    return apply("special.exprel", x)


def fdtr(dfn: Tensor | float, dfd: Tensor | float, x: Tensor | float, /) -> Tensor:
    """``scipy.special.fdtr``."""
    return apply("special.fdtr", dfn, dfd, x)


def fdtrc(dfn: Tensor | float, dfd: Tensor | float, x: Tensor | float, /) -> Tensor:
    """``scipy.special.fdtrc``."""
    return apply("special.fdtrc", dfn, dfd, x)


def fdtri(dfn: Tensor | float, dfd: Tensor | float, p: Tensor | float, /) -> Tensor:
    """``scipy.special.fdtri``."""
    return apply("special.fdtri", dfn, dfd, p)


def gamma(z: Tensor | float, /) -> Tensor:
    """``scipy.special.gamma``."""
    return apply("special.gamma", z)


def gammainc(a: Tensor | float, x: Tensor | float, /) -> Tensor:
    """``scipy.special.gammainc``."""
    return apply("special.gammainc", a, x)


def gammaincc(a: Tensor | float, x: Tensor | float, /) -> Tensor:
    """``scipy.special.gammaincc``."""
    return apply("special.gammaincc", a, x)


def gammainccinv(a: Tensor | float, y: Tensor | float, /) -> Tensor:
    """``scipy.special.gammainccinv``."""
    return apply("special.gammainccinv", a, y)


def gammaincinv(a: Tensor | float, y: Tensor | float, /) -> Tensor:
    """``scipy.special.gammaincinv``."""
    return apply("special.gammaincinv", a, y)


def gammaln(x: Tensor | float, /) -> Tensor:
    """``scipy.special.gammaln``."""
    return apply("special.gammaln", x)


def gammasgn(x: Tensor | float, /) -> Tensor:
    """``scipy.special.gammasgn``."""
    return apply("special.gammasgn", x)


def gdtr(a: Tensor | float, b: Tensor | float, x: Tensor | float, /) -> Tensor:
    """``scipy.special.gdtr``."""
    return apply("special.gdtr", a, b, x)


def gdtrc(a: Tensor | float, b: Tensor | float, x: Tensor | float, /) -> Tensor:
    """``scipy.special.gdtrc``."""
    return apply("special.gdtrc", a, b, x)


def huber(delta: Tensor | float, r: Tensor | float, /) -> Tensor:
    """``scipy.special.huber``."""
    return apply("special.huber", delta, r)


def hyp1f1(a: Tensor | float, b: Tensor | float, x: Tensor | float, /) -> Tensor:
    """``scipy.special.hyp1f1``."""
    return apply("special.hyp1f1", a, b, x)


def i0(x: Tensor | float, /) -> Tensor:
    """``scipy.special.i0``."""
    return apply("special.i0", x)


def i0e(x: Tensor | float, /) -> Tensor:
    """``scipy.special.i0e``."""
    return apply("special.i0e", x)


def i1(x: Tensor | float, /) -> Tensor:
    """``scipy.special.i1``."""
    return apply("special.i1", x)


def i1e(x: Tensor | float, /) -> Tensor:
    """``scipy.special.i1e``."""
    return apply("special.i1e", x)


def inv_boxcox(y: Tensor | float, lmbda: Tensor | float, /) -> Tensor:
    """``scipy.special.inv_boxcox``."""
    return apply("special.inv_boxcox", y, lmbda)


def inv_boxcox1p(y: Tensor | float, lmbda: Tensor | float, /) -> Tensor:
    """``scipy.special.inv_boxcox1p``."""
    return apply("special.inv_boxcox1p", y, lmbda)


def j0(x: Tensor | float, /) -> Tensor:
    """``scipy.special.j0``."""
    return apply("special.j0", x)


def j1(x: Tensor | float, /) -> Tensor:
    """``scipy.special.j1``."""
    return apply("special.j1", x)


def k0(x: Tensor | float, /) -> Tensor:
    """``scipy.special.k0``."""
    return apply("special.k0", x)


def k0e(x: Tensor | float, /) -> Tensor:
    """``scipy.special.k0e``."""
    return apply("special.k0e", x)


def k1(x: Tensor | float, /) -> Tensor:
    """``scipy.special.k1``."""
    return apply("special.k1", x)


def k1e(x: Tensor | float, /) -> Tensor:
    """``scipy.special.k1e``."""
    return apply("special.k1e", x)


def kl_div(x: Tensor | float, y: Tensor | float, /) -> Tensor:
    """``scipy.special.kl_div``."""
    return apply("special.kl_div", x, y)


def log_ndtr(x: Tensor | float, /) -> Tensor:
    """``scipy.special.log_ndtr``."""
    return apply("special.log_ndtr", x)


def loggamma(z: Tensor | float, /) -> Tensor:
    """``scipy.special.loggamma``."""
    return apply("special.loggamma", z)


def logit(x: Tensor | float, /) -> Tensor:
    """``scipy.special.logit``."""
    return apply("special.logit", x)


def lpmv(m: Tensor | float, v: Tensor | float, x: Tensor | float, /) -> Tensor:
    """``scipy.special.lpmv``."""
    return apply("special.lpmv", m, v, x)


def multigammaln(a: Tensor | float, d: int) -> Tensor:
    """``scipy.special.multigammaln``: the log of the multivariate gamma function of dimension ``d`` (an int)."""
    return apply("special.multigammaln", a, d=operator.index(d))


def nbdtr(k: Tensor | float, n: Tensor | float, p: Tensor | float, /) -> Tensor:
    """``scipy.special.nbdtr``."""
    return apply("special.nbdtr", k, n, p)


def nbdtrc(k: Tensor | float, n: Tensor | float, p: Tensor | float, /) -> Tensor:
    """``scipy.special.nbdtrc``."""
    return apply("special.nbdtrc", k, n, p)


def nbdtri(k: Tensor | float, n: Tensor | float, y: Tensor | float, /) -> Tensor:
    """``scipy.special.nbdtri``."""
    return apply("special.nbdtri", k, n, y)


def ndtr(x: Tensor | float, /) -> Tensor:
    """``scipy.special.ndtr``."""
    return apply("special.ndtr", x)


def ndtri(y: Tensor | float, /) -> Tensor:
    """``scipy.special.ndtri``."""
    return apply("special.ndtri", y)


def pdtr(k: Tensor | float, m: Tensor | float, /) -> Tensor:
    """``scipy.special.pdtr``."""
    return apply("special.pdtr", k, m)


def pdtrc(k: Tensor | float, m: Tensor | float, /) -> Tensor:
    """``scipy.special.pdtrc``."""
    return apply("special.pdtrc", k, m)


def pdtri(k: Tensor | float, y: Tensor | float, /) -> Tensor:
    """``scipy.special.pdtri``."""
    return apply("special.pdtri", k, y)


def poch(z: Tensor | float, m: Tensor | float, /) -> Tensor:
    """``scipy.special.poch``."""
    return apply("special.poch", z, m)


def polygamma(n: Tensor | int, x: Tensor | float) -> Tensor:
    """``scipy.special.polygamma``: the ``n``-th derivative of the digamma function (``n`` integral)."""
    return apply("special.polygamma", n, x)


def pseudo_huber(delta: Tensor | float, r: Tensor | float, /) -> Tensor:
    """``scipy.special.pseudo_huber``."""
    return apply("special.pseudo_huber", delta, r)


def psi(z: Tensor | float, /) -> Tensor:
    """``scipy.special.psi``."""
    return apply("special.psi", z)


def radian(d: Tensor | float, m: Tensor | float, s: Tensor | float, /) -> Tensor:
    """``scipy.special.radian``."""
    return apply("special.radian", d, m, s)


def rel_entr(x: Tensor | float, y: Tensor | float, /) -> Tensor:
    """``scipy.special.rel_entr``."""
    return apply("special.rel_entr", x, y)


def rgamma(z: Tensor | float, /) -> Tensor:
    """``scipy.special.rgamma``."""
    return apply("special.rgamma", z)


def sinc(x: Tensor | float) -> Tensor:
    """``scipy.special.sinc``: the normalized sinc function, ``sin(pi x) / (pi x)``."""
    return apply("special.sinc", x)


def sindg(x: Tensor | float, /) -> Tensor:
    """``scipy.special.sindg``."""
    return apply("special.sindg", x)


def spence(z: Tensor | float, /) -> Tensor:
    """``scipy.special.spence``."""
    return apply("special.spence", z)


def stdtr(df: Tensor | float, t: Tensor | float, /) -> Tensor:
    """``scipy.special.stdtr``."""
    return apply("special.stdtr", df, t)


def stdtrit(df: Tensor | float, p: Tensor | float, /) -> Tensor:
    """``scipy.special.stdtrit``."""
    return apply("special.stdtrit", df, p)


def tandg(x: Tensor | float, /) -> Tensor:
    """``scipy.special.tandg``."""
    return apply("special.tandg", x)


def xlog1py(x: Tensor | float, y: Tensor | float, /) -> Tensor:
    """``scipy.special.xlog1py``."""
    return apply("special.xlog1py", x, y)


def xlogy(x: Tensor | float, y: Tensor | float, /) -> Tensor:
    """``scipy.special.xlogy``."""
    return apply("special.xlogy", x, y)


def y0(x: Tensor | float, /) -> Tensor:
    """``scipy.special.y0``."""
    return apply("special.y0", x)


def y1(x: Tensor | float, /) -> Tensor:
    """``scipy.special.y1``."""
    return apply("special.y1", x)


def yn(n: Tensor | float, x: Tensor | float, /) -> Tensor:
    """``scipy.special.yn``."""
    return apply("special.yn", n, x)


def zeta(x: Tensor | float, q: Tensor | float | None = None) -> Tensor:
    """``scipy.special.zeta``: the Hurwitz zeta function, or Riemann's when ``q`` is None."""
    return apply("special.zeta", x, q)


def zetac(x: Tensor | float, /) -> Tensor:
    """``scipy.special.zetac``."""
    return apply("special.zetac", x)


def digamma(z: Tensor | float, /) -> Tensor:
    """``scipy.special.digamma``, the same function as :func:`psi`."""
    return apply("special.digamma", z)


def ellipe(m: Tensor | float, /) -> Tensor:
    """``scipy.special.ellipe``: the complete elliptic integral of the second kind (the derivative of
    :func:`ellipk` needs it)."""
    return apply("special.ellipe", m)
