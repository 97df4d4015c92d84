"""Feature rows of the benchmark: what the newer features cost, timed in the same harness as W1-W6.

Each row times wrapgrad with a feature against the same work without it (or against torch / the raw
backend), in interleaved rounds, and reports ratios of medians and of best-of-rounds:

- ``views``: a loop of 50 slice writes through views (``v = buf[i:i+2]; v[...] = v * 2 + 1``), fwd+bwd;
  ÷ the same writes through ``buf[i:i+2] = ...``, and ÷ torch.
- ``zeros``: W3 fwd+bwd with the zero-cotangent guard on (the default) ÷ inside ``ieee_cotangents()``.
- ``special``: ``sum(xp.special.erf(x))`` fwd+bwd and fwd on 10^2 and 10^5 elements; ÷ torch.special,
  and fwd ÷ scipy.special's forward.
- ``optim``: one ``optim.Adam(...).step()`` on W2's six parameters; ÷ torch.optim.Adam, and ÷ a
  hand-written numpy Adam step.
- ``dask``: a 30-op residual chain on 10^4 elements in 4 chunks, fwd+bwd and one ``dask.compute``; ÷ the
  raw dask forward, and ÷ wrapgrad over numpy.

Each feature is built on its own branch; a row whose feature is missing from this checkout is reported
as ``feature not present`` (found by ``hasattr`` / import / one behaviour probe), not as an error, so the
rows light up when the branches are merged. Gradients are checked against torch (or against the
feature-off run) before timing.
"""

from __future__ import annotations

import importlib

import numpy as np
import workloads
from harness import Task, compare_grads, exc_summary, run_interleaved

FEATURES = ("views", "zeros", "special", "optim", "dask")


class NotPresent(Exception):
    """The feature is not in this checkout (its branch is not merged yet)."""


# -- workloads written once for wrapgrad and torch -----------------------------------------------------------

N_WRITES = 50


def view_writes(xp, w):
    """Writes through views of a non-leaf buffer, then a loss over the whole buffer."""
    buf = w * 1.0
    for i in range(N_WRITES):
        v = buf[2 * i : 2 * i + 2]
        v[...] = v * 2.0 + 1.0
    return xp.sum(xp.sin(buf))


def base_writes(xp, w):
    """The same writes through the buffer's own ``__setitem__`` (works without write-through views)."""
    buf = w * 1.0
    for i in range(N_WRITES):
        buf[2 * i : 2 * i + 2] = buf[2 * i : 2 * i + 2] * 2.0 + 1.0
    return xp.sum(xp.sin(buf))


def _erf_of(xp):
    special = getattr(xp, "special", None)
    if special is not None and hasattr(special, "erf"):
        return special.erf
    if xp.__name__.startswith("array_api_compat.torch"):
        import torch

        return torch.special.erf
    import scipy.special

    return scipy.special.erf


def erf_sum(xp, x):
    return xp.sum(_erf_of(xp)(x))


# -- helpers ---------------------------------------------------------------------------------------------------


def _wrapgrad():
    import wrapgrad
    import wrapgrad.numpy as wnp

    return wrapgrad, wnp


def _views_write_through(wnp):
    base = wnp.asarray(np.zeros(3))
    v = base[0:2]
    v[...] = 1.0
    return bool(base[0] == 1.0)


def _time(tasks, prof):
    run_interleaved(tasks, prof["rounds"], prof["min_sample_s"], prof["budget_s"])
    cells = {}
    for t in tasks:
        if t.error:
            cells[t.key] = {"error": t.error}
        elif t.samples:
            cells[t.key] = {"median_s": t.median, "best_s": min(t.samples)}
    return cells


def _ratio(cells, a, b):
    ca, cb = cells.get(a, {}), cells.get(b, {})
    if "median_s" not in ca or "median_s" not in cb:
        return None
    return [ca["median_s"] / cb["median_s"], ca["best_s"] / cb["best_s"]]


def _grads(fn_bwd, to_numpy):
    return [to_numpy(g) for g in fn_bwd()]


# -- the rows --------------------------------------------------------------------------------------------------


def row_views(adapters, prof):
    _, wnp = _wrapgrad()
    if not _views_write_through(wnp):
        raise NotPresent("a write through a basic-indexing view does not reach its base (views branch)")
    diff = [np.random.default_rng(5).uniform(-1, 1, 2 * N_WRITES + 20)]
    tasks, checks = [], {}
    bw = adapters["wrapgrad"].bind(view_writes, diff, [])
    bb = adapters["wrapgrad"].bind(base_writes, diff, [])
    g_view = _grads(bw.fwd_bwd, adapters["wrapgrad"].to_numpy)
    g_base = _grads(bb.fwd_bwd, adapters["wrapgrad"].to_numpy)
    checks["view vs base writes"] = compare_grads(g_base, g_view, np.float64)
    tasks += [Task("wrapgrad view writes", bw.fwd_bwd), Task("wrapgrad base writes", bb.fwd_bwd)]
    if "torch" in adapters:
        bt = adapters["torch"].bind(view_writes, diff, [])
        checks["vs torch"] = compare_grads(_grads(bt.fwd_bwd, adapters["torch"].to_numpy), g_view, np.float64)
        tasks.append(Task("torch view writes", bt.fwd_bwd))
    cells = _time(tasks, prof)
    return cells, checks, {
        "view writes ÷ base writes": _ratio(cells, "wrapgrad view writes", "wrapgrad base writes"),
        "wrapgrad ÷ torch": _ratio(cells, "wrapgrad view writes", "torch view writes"),
    }


def row_zeros(adapters, prof):
    wg, _ = _wrapgrad()
    if not hasattr(wg, "ieee_cotangents"):
        raise NotPresent("wrapgrad.ieee_cotangents is missing (zero-cotangent branch)")
    w = workloads.WORKLOADS["W3"]
    diff, const = w.make_inputs(np.float64)
    b = adapters["wrapgrad"].bind(w.fn, diff, const)

    def off():
        with wg.ieee_cotangents():
            return b.fwd_bwd()

    to_np = adapters["wrapgrad"].to_numpy
    checks = {"guard on vs off": compare_grads(_grads(off, to_np), _grads(b.fwd_bwd, to_np), np.float64)}
    cells = _time([Task("W3 guard on", b.fwd_bwd), Task("W3 guard off", off)], prof)
    return cells, checks, {"on ÷ off": _ratio(cells, "W3 guard on", "W3 guard off")}


def row_special(adapters, prof):
    _, wnp = _wrapgrad()
    if not hasattr(getattr(wnp, "special", None), "erf"):
        raise NotPresent("wrapgrad.numpy.special.erf is missing (special branch)")
    cells, checks, ratios = {}, {}, {}
    for size in (100, 100_000):
        diff = [np.random.default_rng(6).uniform(-2, 2, size)]
        b = adapters["wrapgrad"].bind(erf_sum, diff, [])
        tasks = [Task(f"wrapgrad {size} fwd+bwd", b.fwd_bwd), Task(f"wrapgrad {size} fwd", b.fwd)]
        g = _grads(b.fwd_bwd, adapters["wrapgrad"].to_numpy)
        exact = [2.0 / np.sqrt(np.pi) * np.exp(-diff[0] ** 2)]
        checks[f"{size}: vs 2/sqrt(pi) exp(-x^2)"] = compare_grads(exact, g, np.float64)
        if "torch" in adapters:
            bt = adapters["torch"].bind(erf_sum, diff, [])
            tasks.append(Task(f"torch {size} fwd+bwd", bt.fwd_bwd))
        try:
            import scipy.special

            x0 = diff[0]
            tasks.append(Task(f"scipy {size} fwd", lambda x0=x0: np.sum(scipy.special.erf(x0))))
        except ImportError:
            pass
        cells.update(_time(tasks, prof))
        ratios[f"{size}: wrapgrad ÷ torch"] = _ratio(cells, f"wrapgrad {size} fwd+bwd", f"torch {size} fwd+bwd")
        ratios[f"{size}: fwd ÷ scipy fwd"] = _ratio(cells, f"wrapgrad {size} fwd", f"scipy {size} fwd")
    return cells, checks, ratios


def _numpy_adam(params, grads, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    state = {"t": 0, "m": [np.zeros_like(p) for p in params], "v": [np.zeros_like(p) for p in params]}

    def step():
        state["t"] += 1
        t = state["t"]
        for p, g, m, v in zip(params, grads, state["m"], state["v"]):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            p -= lr / (1 - b1**t) * m / (np.sqrt(v / (1 - b2**t)) + eps)

    return step


def row_optim(adapters, prof):
    try:
        optim = importlib.import_module("wrapgrad.optim")
    except ImportError as e:
        raise NotPresent(f"wrapgrad.optim does not import ({e}) (optimizers branch)") from None
    if not hasattr(optim, "Adam"):
        raise NotPresent("wrapgrad.optim.Adam is missing (optimizers branch)")
    w = workloads.WORKLOADS["W2"]
    params0, const = w.make_inputs(np.float64)
    wa = adapters["wrapgrad"]
    grads = _grads(wa.bind(w.fn, params0, const).fwd_bwd, wa.to_numpy)

    def setup(adapter):
        leaves = [adapter.leaf(p.copy()) for p in params0]
        for t, g in zip(leaves, grads):
            t.grad = adapter.const(g.copy())
        return leaves

    wparams = setup(wa)
    wopt = optim.Adam(wparams, lr=1e-3)
    tasks = [Task("wrapgrad Adam step", wopt.step)]
    nparams = [p.copy() for p in params0]
    nstep = _numpy_adam(nparams, grads)
    tasks.append(Task("numpy Adam step", nstep))
    checks = {}
    if "torch" in adapters:
        ta = adapters["torch"]
        tparams = setup(ta)
        topt = ta.torch.optim.Adam(tparams, lr=1e-3)
        # one step each from the same start must agree, before timing moves them apart
        wopt.step()
        topt.step()
        checks["one step vs torch.optim.Adam"] = compare_grads([ta.to_numpy(p.detach()) for p in tparams],
                                                               [wa.to_numpy(p) for p in wparams], np.float64)
        tasks.append(Task("torch Adam step", topt.step))
    cells = _time(tasks, prof)
    return cells, checks, {
        "wrapgrad ÷ torch": _ratio(cells, "wrapgrad Adam step", "torch Adam step"),
        "wrapgrad ÷ numpy": _ratio(cells, "wrapgrad Adam step", "numpy Adam step"),
    }


def row_dask(adapters, prof):
    try:
        import array_api_compat.dask.array as dask_xp
        import dask
        import dask.array as da
    except ImportError as e:
        raise NotPresent(f"dask is not installed ({e})") from None
    try:
        dxp = importlib.import_module("wrapgrad.dask")
    except ImportError as e:
        raise NotPresent(f"wrapgrad.dask does not import ({e}) (dask branch)") from None
    x0 = np.random.default_rng(8).uniform(-1, 1, 10_000)
    fn = lambda xp, x: workloads.residual_chain(xp, x, 30)

    def wrapgrad_dask():
        x = dxp.asarray(da.from_array(x0, chunks=2_500), requires_grad=True)
        loss = fn(dxp, x)
        loss.backward()
        return dask.compute(loss._data, x.grad._data, scheduler="synchronous")

    def raw_dask():
        return dask.compute(fn(dask_xp, da.from_array(x0, chunks=2_500)), scheduler="synchronous")

    bn = adapters["wrapgrad"].bind(fn, [x0], [])
    g_np = _grads(bn.fwd_bwd, adapters["wrapgrad"].to_numpy)
    checks = {"vs wrapgrad over numpy": compare_grads(g_np, [np.asarray(wrapgrad_dask()[1])], np.float64)}
    cells = _time([Task("wrapgrad dask fwd+bwd", wrapgrad_dask), Task("raw dask fwd", raw_dask),
                   Task("wrapgrad numpy fwd+bwd", bn.fwd_bwd)], prof)
    return cells, checks, {
        "÷ raw dask fwd": _ratio(cells, "wrapgrad dask fwd+bwd", "raw dask fwd"),
        "÷ wrapgrad numpy": _ratio(cells, "wrapgrad dask fwd+bwd", "wrapgrad numpy fwd+bwd"),
    }


ROWS = {"views": row_views, "zeros": row_zeros, "special": row_special, "optim": row_optim, "dask": row_dask}
TITLES = {
    "views": f"views: {N_WRITES} slice writes through views of a 120-element buffer, fwd+bwd",
    "zeros": "zero cotangents: W3 (2M elements) fwd+bwd, guard on vs ieee_cotangents()",
    "special": "xp.special.erf: sum(erf(x)) fwd+bwd and fwd, 10^2 and 10^5 elements",
    "optim": "optim.Adam: one step on W2's six parameters (float64)",
    "dask": "dask backend: 30-op residual chain, 10^4 elements in 4 chunks, fwd+bwd + one compute",
}


def bench_features(adapter_list, prof, problems, which=FEATURES, log=print):
    """Run the feature rows; a missing feature is a row saying so, a failing one an error row."""
    adapters = {a.name: a for a in adapter_list if a.available and a.name in ("wrapgrad", "torch")}
    out = {}
    for key in which:
        row = out[key] = {"title": TITLES[key]}
        if "wrapgrad" not in adapters:
            row["status"] = "wrapgrad not available"
            continue
        try:
            cells, checks, ratios = ROWS[key](adapters, prof)
        except NotPresent as e:
            row["status"] = f"feature not present: {e}"
            log(f"  {key}: feature not present: {e}")
            continue
        except Exception as e:
            row["status"] = f"error: {exc_summary(e)}"
            problems.append(f"feature row {key}: {exc_summary(e)}")
            log(f"  {key}: ERROR {exc_summary(e)}")
            continue
        bad = {k: v for k, v in checks.items() if v}
        for k, v in bad.items():
            problems.append(f"GRADIENT MISMATCH feature {key} ({k}): {v}")
        row.update(status="ok" if not bad else "GRADIENT MISMATCH", cells=cells, checks=checks, ratios=ratios)
        log(f"  {key}: " + ", ".join(f"{k} {v[0]:.2f}×" for k, v in ratios.items() if v))  # noqa: RUF001
    return out


def feature_markdown(features, fmt_time):
    L = ["## Feature rows\n", "_What the newer features cost, in the same harness; ratios are of medians "
         "(best-of-rounds in brackets). A row whose feature is not in this checkout says so._\n",
         "| feature | times (median) | ratios | status |", "|---|---|---|---|"]
    for row in features.values():
        cells = row.get("cells", {})
        times = "; ".join(f"{k} {fmt_time(c.get('median_s'))}" if "error" not in c else f"{k} ERROR {c['error'][:60]}"
                          for k, c in cells.items()) or "—"
        ratios = "; ".join(f"{k} {v[0]:.2f}× ({v[1]:.2f}×)" for k, v in row.get("ratios", {}).items() if v)  # noqa: RUF001
        checks = row.get("checks", {})
        status = row["status"] + ("" if not checks else " (checked: " + ", ".join(
            f"{k} {'ok' if v is None else 'MISMATCH'}" for k, v in checks.items()) + ")")
        L.append(f"| {row['title']} | {times} | {ratios or '—'} | {status} |")
    L.append("")
    return L
