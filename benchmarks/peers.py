"""Peer adapters: one class per library.

An adapter knows how to turn the numpy inputs of a workload into inputs
that require grad, how to run the forward alone, forward+backward
(returning the gradients), and how to fetch a gradient as numpy.  Every
adapter is optional: if its library does not import, ``available`` is False
and ``reason`` says why ("not installed").

Import ``_env`` before this module (run.py / overhead.py / memprobe.py do).
"""

from __future__ import annotations

import importlib
import traceback

import numpy as np


def _unit(n, i, dtype):
    e = np.zeros(n, dtype=dtype)
    e[i] = 1.0
    return e


class Unavailable(Exception):
    """The library imports but lacks what the adapter needs."""


class Bound:
    """A workload bound to one library, with its inputs already converted.

    fwd()         forward with graph recording (inputs require grad); result discarded
    fwd_bwd()     forward + backward, returns the gradients (library objects, computed)
    fwd_nograd()  forward without recording, or None if the library has no such mode
    split()       (forward_keep, backward) for W4: forward_keep() -> handle, backward(handle) -> grads
    reset()       drop gradients held by the inputs (``.grad``), so memory probes start clean
    """

    reset = staticmethod(lambda: None)

    fwd = None
    fwd_bwd = None
    fwd_nograd = None
    split = None


class Adapter:
    name = "?"
    label = "?"
    module = None  # import name that must be importable
    has_grad = True
    has_split = True
    has_jacobian = True
    notes = ""
    workloads = None  # the workload keys it can run (W1...); None: all of them

    def supports(self, wkey):
        return self.workloads is None or wkey in self.workloads

    def __init__(self):
        self.available = False
        self.reason = "not installed"
        try:
            self._load()
            self.available = True
            self.reason = ""
        except Unavailable as e:
            self.reason = str(e)
        except ImportError as e:  # missing library -> "not installed"
            self.reason = f"not installed ({e.name or e})"
        except Exception as e:  # present but broken
            self.reason = f"import failed: {type(e).__name__}: {e}"
            self.traceback = traceback.format_exc()

    def _load(self):
        raise NotImplementedError

    def version(self):
        top = self.module.split(".")[0]
        v = getattr(importlib.import_module(top), "__version__", None)
        if v is None:
            try:
                from importlib.metadata import version

                v = version(top)
            except Exception:
                v = "?"
        return v

    # to be provided
    def bind(self, fn, diff, const) -> Bound:
        raise NotImplementedError

    def to_numpy(self, g) -> np.ndarray:
        return np.asarray(g)

    def jacobian(self, fn, x, mode):
        """Return a callable computing the 3 rows of the Jacobian of fn at x (numpy)."""
        raise NotImplementedError


# ----------------------------------------------------------------------------
# numpy (forward floor)
# ----------------------------------------------------------------------------


class NumpyAdapter(Adapter):
    name = "numpy"
    label = "numpy (fwd floor)"
    module = "numpy"
    has_grad = False
    has_split = False
    has_jacobian = False

    def _load(self):
        import array_api_compat.numpy as xp

        self.xp = xp

    def bind(self, fn, diff, const):
        xp = self.xp
        b = Bound()
        b.fwd = lambda: fn(xp, *diff, *const)
        return b


# ----------------------------------------------------------------------------
# the minimal Python tape (a floor for per-op overhead, W1's chain only)
# ----------------------------------------------------------------------------


class MinimalTapeAdapter(Adapter):
    name = "minimal-tape"
    label = "minimal tape (floor)"
    module = "numpy"
    has_split = False
    has_jacobian = False
    workloads = frozenset({"W1", "sweep"})

    def _load(self):
        import minimal_tape

        self.xp = minimal_tape

    def version(self):
        return "-"

    def bind(self, fn, diff, const):
        xp = self.xp
        b = Bound()
        b.fwd = lambda: fn(xp, *[xp.Var(a) for a in diff], *const)

        def fwd_bwd():
            leaves = [xp.Var(a) for a in diff]
            fn(xp, *leaves, *const).backward()
            return [t.grad for t in leaves]

        b.fwd_bwd = fwd_bwd
        return b


# ----------------------------------------------------------------------------
# torch-vocabulary libraries: torch and wrapgrad share the same code
# ----------------------------------------------------------------------------


class _TorchLike(Adapter):
    def leaf(self, a):
        raise NotImplementedError

    def const(self, a):
        raise NotImplementedError

    def no_grad(self):
        raise NotImplementedError

    def bind(self, fn, diff, const):
        xp = self.xp
        leaves = [self.leaf(a) for a in diff]
        consts = [self.const(a) for a in const]
        b = Bound()

        def fwd():
            return fn(xp, *leaves, *consts)

        def fwd_bwd():
            for t in leaves:
                t.grad = None
            loss = fn(xp, *leaves, *consts)
            loss.backward()
            return [t.grad for t in leaves]

        def fwd_nograd():
            with self.no_grad():
                return fn(xp, *leaves, *consts)

        def forward_keep():
            for t in leaves:
                t.grad = None
            return fn(xp, *leaves, *consts)

        def backward(loss):
            loss.backward()
            return [t.grad for t in leaves]

        def reset():
            for t in leaves:
                t.grad = None

        b.fwd, b.fwd_bwd, b.fwd_nograd, b.reset = fwd, fwd_bwd, fwd_nograd, reset
        b.split = (forward_keep, backward)
        return b

    def jacobian(self, fn, x, mode):
        xp = self.xp
        leaf = self.leaf(x)
        n = x.shape[0]
        units = [self.const(_unit(n, i, x.dtype)) for i in range(n)]

        if mode == "loop":  # y[i].backward(retain_graph=True) for each row

            def run():
                y = fn(xp, leaf)
                rows = []
                for i in range(n):
                    leaf.grad = None
                    y[i].backward(retain_graph=True)
                    rows.append(leaf.grad)
                return rows

        else:  # one vjp per row: y.backward(e_i, retain_graph=True)

            def run():
                y = fn(xp, leaf)
                rows = []
                for i in range(n):
                    leaf.grad = None
                    y.backward(units[i], retain_graph=True)
                    rows.append(leaf.grad)
                return rows

        return run


class WrapgradAdapter(_TorchLike):
    name = "wrapgrad"
    label = "wrapgrad (numpy)"
    module = "wrapgrad"

    def _load(self):
        import wrapgrad
        import wrapgrad.numpy as wnp

        self.wg = wrapgrad
        self.xp = wnp

    def version(self):
        return getattr(self.wg, "__version__", "dev")

    def leaf(self, a):
        return self.xp.asarray(a, requires_grad=True)

    def const(self, a):
        return self.xp.asarray(a)

    def no_grad(self):
        return self.wg.no_grad()

    def to_numpy(self, g):
        if g is None:
            raise ValueError("gradient is None")
        return np.asarray(getattr(g, "_data", g))


class TorchAdapter(_TorchLike):
    name = "torch"
    label = "torch eager"
    module = "torch"

    def _load(self):
        import torch

        torch.set_num_threads(1)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass
        import array_api_compat.torch as xp  # numpy-like names (max with keepdims, axis=...)

        self.torch = torch
        self.xp = xp

    def leaf(self, a):
        return self.torch.from_numpy(np.array(a)).requires_grad_(True)

    def const(self, a):
        return self.torch.from_numpy(np.array(a))

    def no_grad(self):
        return self.torch.no_grad()

    def to_numpy(self, g):
        return g.detach().numpy()


# ----------------------------------------------------------------------------
# HIPS autograd
# ----------------------------------------------------------------------------


class AutogradAdapter(Adapter):
    name = "autograd"
    label = "HIPS autograd"
    module = "autograd"

    def _load(self):
        import autograd
        import autograd.numpy as anp

        self.ag = autograd
        self.xp = anp

    def bind(self, fn, diff, const):
        xp, ag = self.xp, self.ag
        nd = len(diff)
        f = lambda *d: fn(xp, *d, *const)
        argnum = tuple(range(nd))
        g = ag.grad(f, argnum=argnum)
        mk = ag.make_vjp(f, argnum=argnum)
        b = Bound()
        b.fwd = lambda: f(*diff)  # no tracing happens on plain ndarrays
        b.fwd_bwd = lambda: list(g(*diff))

        def forward_keep():
            return mk(*diff)  # (vjp, ans): the traced graph lives in vjp

        def backward(h):
            vjp, ans = h
            return list(vjp(np.ones_like(ans)))

        b.split = (forward_keep, backward)
        return b

    def jacobian(self, fn, x, mode):
        xp, ag = self.xp, self.ag
        n = x.shape[0]
        f = lambda v: fn(xp, v)
        if mode == "loop":  # no retained graph in autograd: one grad (forward+backward) per row
            gs = [ag.grad(lambda v, i=i: f(v)[i]) for i in range(n)]
            return lambda: [g(x) for g in gs]
        units = [_unit(n, i, x.dtype) for i in range(n)]
        mk = ag.make_vjp(f)

        def run():
            vjp, _ = mk(x)
            return [vjp(u) for u in units]

        return run


# ----------------------------------------------------------------------------
# MyGrad
# ----------------------------------------------------------------------------


class MygradAdapter(Adapter):
    name = "mygrad"
    label = "MyGrad"
    module = "mygrad"

    def _load(self):
        import mygrad

        self.mg = mygrad
        self.xp = mygrad

    def bind(self, fn, diff, const):
        mg = self.mg
        leaves = [mg.tensor(a, constant=False) for a in diff]
        consts = [mg.tensor(a, constant=True) for a in const]
        b = Bound()

        def fwd():
            return fn(mg, *leaves, *consts)

        def fwd_bwd():
            for t in leaves:
                t.null_grad()
            loss = fn(mg, *leaves, *consts)
            loss.backward()
            return [t.grad for t in leaves]

        def fwd_nograd():
            with mg.no_autodiff:
                return fn(mg, *leaves, *consts)

        def forward_keep():
            for t in leaves:
                t.null_grad()
            return fn(mg, *leaves, *consts)

        def backward(loss):
            loss.backward()
            return [t.grad for t in leaves]

        def reset():
            for t in leaves:
                t.null_grad()

        b.fwd, b.fwd_bwd, b.fwd_nograd, b.reset = fwd, fwd_bwd, fwd_nograd, reset
        b.split = (forward_keep, backward)
        return b

    def jacobian(self, fn, x, mode):
        # MyGrad frees the graph after backward (no retain_graph): one forward per row.
        mg = self.mg
        leaf = mg.tensor(x, constant=False)
        n = x.shape[0]
        units = [_unit(n, i, x.dtype) for i in range(n)]

        def run():
            rows = []
            for i in range(n):
                leaf.null_grad()
                y = fn(mg, leaf)
                if mode == "loop":
                    y[i].backward()
                else:
                    y.backward(units[i])
                rows.append(np.array(leaf.grad))
            return rows

        return run


# ----------------------------------------------------------------------------
# jax: eager jax.grad, jax.jit(jax.grad), jax.jit(wrapgrad.grad)
# ----------------------------------------------------------------------------


def _block(tree):
    import jax

    return jax.block_until_ready(tree)


class JaxAdapter(Adapter):
    name = "jax"
    label = "jax.grad eager"
    module = "jax"
    jit = False

    def _load(self):
        import jax

        jax.config.update("jax_enable_x64", True)  # float64 workloads must stay float64
        import jax.numpy as jnp

        self.jax = jax
        self.xp = jnp

    def _put(self, arrays):
        return [self.jax.device_put(a) for a in arrays]

    def bind(self, fn, diff, const):
        jax, jnp = self.jax, self.xp
        d, c = self._put(diff), self._put(const)
        nd = len(d)
        f = lambda *a: fn(jnp, *a)
        g = jax.grad(f, argnums=tuple(range(nd)))
        if self.jit:
            f, g = jax.jit(f), jax.jit(g)
        b = Bound()
        b.fwd = lambda: _block(f(*d, *c))
        b.fwd_bwd = lambda: list(_block(g(*d, *c)))
        if not self.jit:

            def forward_keep():
                return jax.vjp(lambda *dd: f(*dd, *c), *d)

            def backward(h):
                ans, vjp = h
                return list(_block(vjp(jnp.ones_like(ans))))

            b.split = (forward_keep, backward)
        return b

    def jacobian(self, fn, x, mode):
        jax, jnp = self.jax, self.xp
        xj = jax.device_put(x)
        n = x.shape[0]
        f = lambda v: fn(jnp, v)
        if self.jit:  # jit(jacrev): reverse mode, one vjp per row, compiled
            jf = jax.jit(jax.jacrev(f))
            return lambda: list(_block(jf(xj)))
        if mode == "loop":  # one jax.grad per row (forward recomputed per row)
            gs = [jax.grad(lambda v, i=i: f(v)[i]) for i in range(n)]
            return lambda: [_block(g(xj)) for g in gs]
        units = [jnp.asarray(_unit(n, i, x.dtype)) for i in range(n)]

        def run():
            _, vjp = jax.vjp(f, xj)
            return [_block(vjp(u)[0]) for u in units]

        return run


class JaxJitAdapter(JaxAdapter):
    name = "jax.jit"
    label = "jax.jit(jax.grad)"
    jit = True
    has_split = False


class WrapgradJitAdapter(JaxAdapter):
    """``jax.jit(wrapgrad.grad(f))`` with f written against ``wrapgrad.jax``."""

    name = "wrapgrad+jit"
    label = "jax.jit(wrapgrad.grad)"
    jit = True
    has_split = False
    has_jacobian = False

    def _load(self):
        super()._load()
        import wrapgrad

        if not hasattr(wrapgrad, "grad"):
            raise Unavailable("not available (no wrapgrad.grad yet)")
        import wrapgrad.jax as wjx

        self.wg = wrapgrad
        self.wxp = wjx

    def _make_grad(self, f, nd):
        """wrapgrad.grad's signature is not fixed yet: try jax-style argnums first."""
        wg = self.wg
        tries = [
            lambda: wg.grad(f, argnums=tuple(range(nd))),
            lambda: wg.grad(f, argnum=tuple(range(nd))),
            lambda: wg.grad(f) if nd == 1 else None,
        ]
        err = None
        for t in tries:
            try:
                g = t()
                if g is not None:
                    return g
            except TypeError as e:
                err = e
        raise RuntimeError(f"could not call wrapgrad.grad with {nd} differentiable args: {err}")

    def bind(self, fn, diff, const):
        jax, wxp = self.jax, self.wxp
        d, c = self._put(diff), self._put(const)
        nd = len(d)

        def unwrap(v):
            return getattr(v, "_data", v)

        f = lambda *a: fn(wxp, *a)
        g = self._make_grad(f, nd)

        def g_raw(*a):
            try:  # raw jax arrays in (the jax.grad convention) ...
                out = g(*a)
            except TypeError:  # ... or wrapgrad Tensors, if that is what wrapgrad.grad wants
                out = g(*[wxp.asarray(v) for v in a])
            if nd == 1 and not isinstance(out, (tuple, list)):
                out = (out,)
            return [unwrap(o) for o in out]

        jg = jax.jit(g_raw)
        jf = jax.jit(lambda *a: unwrap(f(*[wxp.asarray(v) for v in a])))  # forward through wrapgrad.jax
        b = Bound()
        b.fwd = lambda: _block(jf(*d, *c))
        b.fwd_bwd = lambda: list(_block(jg(*d, *c)))
        return b


ADAPTERS = [
    WrapgradAdapter,
    NumpyAdapter,
    TorchAdapter,
    AutogradAdapter,
    MygradAdapter,
    JaxAdapter,
    JaxJitAdapter,
    WrapgradJitAdapter,
    MinimalTapeAdapter,
]
ADAPTER_BY_NAME = {a.name: a for a in ADAPTERS}


def load_adapters(names=None):
    out = []
    for cls in ADAPTERS:
        if names is None or cls.name in names:
            out.append(cls())
    return out
