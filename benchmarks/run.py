"""wrapgrad benchmark: wrapgrad vs torch / HIPS autograd / MyGrad / jax / raw numpy.

    python benchmarks/run.py            # full run (< ~10 min on a 2-core box)
    python benchmarks/run.py --quick    # ~1-2 min
    python benchmarks/run.py --workloads W1,W2 --libs wrapgrad,torch --dtypes float64

Writes benchmarks/results/results.md, results.json and overhead.png
(the plot needs matplotlib).  See benchmarks/README.md.

Besides the targets, it prints the feature rows (``features.py``; ``--features views,zeros`` or ``none``)
and a regression check of W1-W6 against the last committed ``results/results.md`` (``regression.py``).
"""

from __future__ import annotations

import _env  # must come first: pins BLAS/OpenMP/XLA to one thread

# isort: split

import argparse
import datetime
import json
import os
import platform
import sys
import time

import features
import harness
import numpy as np
import peers
import regression
import workloads
from harness import Task, compare_grads, exc_summary, fmt_bytes, fmt_time, run_interleaved

REF_ORDER = ["torch", "autograd", "jax", "mygrad", "jax.jit", "wrapgrad", "wrapgrad+jit"]

PROFILES = {
    #           rounds  min sample  per (workload,dtype) budget  W4 timeout  sweep sizes
    "quick": dict(
        rounds=5,
        min_sample_s=0.01,
        budget_s=8.0,
        w4_timeout_s=60,
        mem=("W3",),
        sweep=(10, 1_000, 100_000),
        sweep_rounds=3,
        jax_w4=False,
    ),
    "full": dict(
        rounds=15,
        min_sample_s=0.02,
        budget_s=35.0,
        w4_timeout_s=120,
        mem=("W1", "W2", "W3", "W5", "W6"),
        sweep=(10, 100, 1_000, 10_000, 100_000, 1_000_000),
        sweep_rounds=5,
        jax_w4=True,
    ),
}
SWEEP_OPS = 30


def log(*a):
    print(*a, flush=True)


# ----------------------------------------------------------------------------
# timed workloads (W1, W2, W3, W5, W6)
# ----------------------------------------------------------------------------


def bench_grad_workload(w, dtype_name, adapters, prof, problems):
    dtype = workloads.DTYPES[dtype_name]
    diff, const = w.make_inputs(dtype)
    rows = {}
    tasks = []
    grads = {}
    for a in adapters:
        r = rows[a.name] = {"lib": a.name}
        try:
            b = a.bind(w.fn, diff, const)
        except Exception as e:
            r["error"] = f"bind: {exc_summary(e)}"
            continue
        if a.has_grad:
            try:
                grads[a.name] = [a.to_numpy(g) for g in b.fwd_bwd()]
            except Exception as e:
                r["error"] = f"fwd+bwd: {exc_summary(e)}"
        for kind, fn in (("fwd_bwd", b.fwd_bwd), ("fwd", b.fwd), ("fwd_nograd", b.fwd_nograd)):
            if fn is None or (kind == "fwd_bwd" and "error" in r):
                continue
            tasks.append(Task((a.name, kind), fn))
    # --- verification: every gradient against one reference library
    ref_name = next((n for n in REF_ORDER if n in grads), None)
    for name, g in grads.items():
        if name == ref_name:
            rows[name]["grad_check"] = "reference"
            continue
        bad = compare_grads(grads[ref_name], g, dtype)
        rows[name]["grad_check"] = "ok" if bad is None else f"MISMATCH vs {ref_name}: {bad}"
        if bad:
            msg = f"GRADIENT MISMATCH {w.key} {dtype_name} {name} vs {ref_name}: {bad}"
            log("  " + msg)
            problems.append(msg)
    # --- timing, interleaved round by round
    run_interleaved(tasks, prof["rounds"], prof["min_sample_s"], prof["budget_s"])
    for t in tasks:
        name, kind = t.key
        r = rows[name]
        if t.error:
            r.setdefault("error", f"{kind}: {t.error}")
            continue
        r[kind + "_s"] = t.median
        r[kind + "_min_s"] = min(t.samples)
        r[kind + "_n"] = len(t.samples)
    return rows


def bench_jacobian(w, dtype_name, adapters, prof, problems):
    dtype = workloads.DTYPES[dtype_name]
    diff, _ = w.make_inputs(dtype)
    x = diff[0]
    exact = workloads.jac_exact(x.astype(np.float64))
    rows = {}
    tasks = []
    for a in adapters:
        r = rows[a.name] = {"lib": a.name}
        try:
            b = a.bind(w.fn, diff, [])
            tasks.append(Task((a.name, "fwd"), b.fwd))
        except Exception as e:
            r["error"] = f"bind: {exc_summary(e)}"
            continue
        if not a.has_jacobian:
            continue
        modes = ("vjp",) if a.name == "jax.jit" else ("loop", "vjp")
        for mode in modes:
            try:
                run = a.jacobian(w.fn, x, mode)
                J = np.stack([np.asarray(a.to_numpy(row), dtype=np.float64) for row in run()])
            except Exception as e:
                r[f"jac_{mode}_error"] = exc_summary(e)
                problems.append(f"{w.key} {dtype_name} {a.name} jacobian[{mode}] failed: {exc_summary(e)}")
                log(f"  {a.name} jacobian[{mode}] failed: {exc_summary(e)}")
                continue
            bad = compare_grads([exact], [J], dtype)
            r[f"jac_{mode}_check"] = "ok" if bad is None else f"MISMATCH vs analytic: {bad}"
            if bad:
                msg = f"JACOBIAN MISMATCH {w.key} {dtype_name} {a.name} [{mode}]: {bad}"
                log("  " + msg)
                problems.append(msg)
            tasks.append(Task((a.name, f"jac_{mode}"), run))
    run_interleaved(tasks, prof["rounds"], prof["min_sample_s"], prof["budget_s"])
    for t in tasks:
        name, kind = t.key
        if t.error:
            rows[name].setdefault("error", f"{kind}: {t.error}")
            continue
        rows[name][kind + "_s"] = t.median
        rows[name][kind + "_min_s"] = min(t.samples)
        rows[name][kind + "_n"] = len(t.samples)
    return rows


# ----------------------------------------------------------------------------
# W4 and peak memory: fresh subprocesses
# ----------------------------------------------------------------------------


def bench_w4(adapters, prof, problems):
    out = {}
    for a in adapters:
        if a.name in ("jax.jit", "wrapgrad+jit"):
            out[a.name] = {"ok": False, "error": "not run (jit-compiling a 100k-op program)", "skipped": True}
            continue
        if a.name == "jax" and not prof["jax_w4"]:
            out[a.name] = {"ok": False, "error": "skipped in --quick (eager jax.vjp: ~20 s, ~2 GiB)", "skipped": True}
            continue
        log(f"  W4 {a.name} ...")
        out[a.name] = harness.run_probe(["w4", "--lib", a.name], prof["w4_timeout_s"])
        if not out[a.name].get("ok"):
            log(f"    {a.name}: {out[a.name].get('error')}")
    ref = next((n for n in REF_ORDER if out.get(n, {}).get("grad")), None)
    for name, r in out.items():
        if r.get("grad") and name != ref:
            bad = compare_grads([np.array(out[ref]["grad"])], [np.array(r["grad"])], np.float64)
            r["grad_check"] = "ok" if bad is None else f"MISMATCH vs {ref}: {bad}"
            if bad:
                problems.append(f"GRADIENT MISMATCH W4 {name} vs {ref}: {bad}")
                log("  " + problems[-1])
        elif name == ref:
            r["grad_check"] = "reference"
    return out


def bench_memory(adapters, keys, problems):
    out = {}
    for wkey in keys:
        out[wkey] = {}
        for a in adapters:
            if a.name == "wrapgrad+jit" or not a.supports(wkey) or (wkey == "W5" and not a.has_jacobian):
                continue
            r = harness.run_probe(["peak", "--lib", a.name, "--workload", wkey], 180)
            out[wkey][a.name] = r
            if not r.get("ok") and a.name.startswith("wrapgrad"):
                problems.append(f"memory probe {wkey} {a.name}: {r.get('error')}")
        log(f"  {wkey}: " + ", ".join(f"{k}={fmt_bytes(v.get('peak_bytes'))}" for k, v in out[wkey].items()))
    return out


# ----------------------------------------------------------------------------
# size sweep for the plot
# ----------------------------------------------------------------------------


def bench_sweep(adapters, prof):
    out = {}
    fn = lambda xp, x: workloads.chain(xp, x, SWEEP_OPS)
    for size in prof["sweep"]:
        diff, const = workloads.chain_inputs(np.float64, size)
        tasks = []
        for a in adapters:
            if a.name == "wrapgrad+jit" or not a.supports("sweep"):
                continue
            try:
                b = a.bind(fn, diff, const)
            except Exception:
                continue
            tasks.append(Task(a.name, b.fwd_bwd if a.has_grad else b.fwd))
        run_interleaved(tasks, prof["sweep_rounds"], prof["min_sample_s"] / 2, prof["budget_s"])
        out[size] = {t.key: (t.median / SWEEP_OPS * 1e6 if t.median else None) for t in tasks}
        log(f"  size {size:>9,}: " + ", ".join(f"{k}={v:.2f}" for k, v in out[size].items() if v))
    return out


def plot_sweep(sweep, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib not installed; no plot"
    sizes = sorted(sweep)
    libs = sorted({k for s in sizes for k in sweep[s]}, key=lambda n: list(peers.ADAPTER_BY_NAME).index(n))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for lib in libs:
        ys = [sweep[s].get(lib) for s in sizes]
        xs = [s for s, y in zip(sizes, ys, strict=True) if y]
        ys = [y for y in ys if y]
        if not ys:
            continue
        label = peers.ADAPTER_BY_NAME[lib].label + ("" if lib != "numpy" else ", forward only")
        style = dict(lw=2.5, color="black", zorder=5) if lib == "wrapgrad" else dict(lw=1.2)
        ax.plot(xs, ys, marker="o", label=label, **style)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("array size (float64 elements)")
    ax.set_ylabel("µs per op (forward + backward)")
    ax.set_title(f"{SWEEP_OPS}-op elementwise chain, 1 thread")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return None


# ----------------------------------------------------------------------------
# report
# ----------------------------------------------------------------------------


def _ratio(a, b):
    return a / b if a and b else None


def _fr(x, digits=2):
    return "—" if x is None else f"{x:.{digits}f}×"  # noqa: RUF001


def status_cell(a):
    return f"{a.label}: {a.reason}" if not a.available else None


def make_markdown(res, adapters):
    L = []
    meta = res["meta"]
    L.append("# wrapgrad benchmark results\n")
    L.append(
        f"- date: {meta['date']}  profile: `{meta['profile']}`  host: {meta['cpu']}, "
        f"{meta['nproc']} cores, Python {meta['python']}"
    )
    L.append("- versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()))
    blas = "; ".join(
        ", ".join(
            f"{k}={v}"
            for k, v in d.items()
            if k in ("internal_api", "prefix", "version", "architecture", "num_threads", "note")
        )
        for d in meta["blas"]
    )
    L.append(f"- BLAS/OpenMP (threadpoolctl): {blas}")
    L.append("- environment: " + ", ".join(f"`{k}={v}`" for k, v in meta["env"].items()))
    L.append(
        "- times are medians over interleaved rounds (libraries rotate within each round); "
        "the targets table also gives "
        "the ratio of best-of-rounds times, which is less sensitive to other load on a shared machine; "
        "`fwd` is the forward with graph recording (inputs require grad), `fwd no_grad` without; "
        "`wrapgrad ÷ lib` compares fwd+bwd (numpy row: wrapgrad fwd ÷ numpy fwd)"
    )
    missing = [status_cell(a) for a in adapters if not a.available]
    if missing:
        L.append("- not available: " + "; ".join(missing))
    if "load_before" in meta:
        L.append(f"- load average (1, 5, 15 min): {meta['load_before']} before, {meta.get('load_after')} after")
    L.append("")

    # targets first
    L.append("## Targets\n")
    L.append("| target | measured | status |")
    L.append("|---|---|---|")
    for t in res["targets"]:
        L.append(f"| {t['target']} | {t['measured']} | {t['status']} |")
    L.append("")
    if any("FAIL" in t["status"] for t in res["targets"]):
        L.append(
            "What bounds each missed target, with the measurements behind it: "
            "`benchmarks/README.md`, section *What bounds the misses, and what the profiles showed*.\n"
        )

    for wkey in ("W1", "W2", "W3", "W5", "W6"):
        if wkey not in res["timed"]:
            continue
        w = workloads.WORKLOADS[wkey]
        L.append(f"## {wkey}: {w.title}\n")
        if w.notes:
            L.append(f"_{w.notes}_\n")
        mem = res.get("memory", {}).get(wkey, {})
        for dtype_name, rows in res["timed"][wkey].items():
            wg = rows.get("wrapgrad", {})
            L.append(f"**{dtype_name}**\n")
            if w.kind == "jacobian":
                L.append(
                    "| library | jacobian, retain_graph loop | jacobian, one vjp per row | fwd | "
                    "wrapgrad ÷ lib (loop / vjp) | peak mem (f64) | check |"
                )
                L.append("|---|---|---|---|---|---|---|")
            else:
                extra = " µs/op (fwd+bwd) |" if wkey == "W1" else ""
                L.append(
                    f"| library |{extra} fwd+bwd | fwd | fwd no_grad | fwd+bwd ÷ fwd | wrapgrad ÷ lib | "
                    "peak mem (f64) | grad check |"
                )
                L.append("|---|" + ("---|" if extra else "") + "---|---|---|---|---|---|---|")
            for a in adapters:
                name = a.name
                if not a.supports(wkey):
                    continue
                if not a.available:
                    cols = 6 if w.kind == "jacobian" else (8 if wkey == "W1" else 7)
                    L.append(
                        f"| {a.label} | "
                        + " | ".join(
                            ["not installed" if "not installed" in a.reason else "not available"] + ["—"] * (cols - 1)
                        )
                        + " |"
                    )
                    continue
                r = rows.get(name, {})
                m = mem.get(name, {}) if dtype_name == "float64" else {}
                memc = (
                    fmt_bytes(m.get("peak_bytes"))
                    if m.get("ok")
                    else ("—" if not m else f"failed: {m.get('error', '')[:40]}")
                )
                err = r.get("error")
                if w.kind == "jacobian":
                    if not a.has_jacobian:
                        L.append(
                            f"| {a.label} | — | — | {fmt_time(r.get('fwd_s'))} | — | {memc} | "
                            f"{'n/a' if not err else err} |"
                        )
                        continue
                    chk = ", ".join(f"{k[4:-6]}: {v}" for k, v in r.items() if k.endswith("_check"))
                    errs = "; ".join(f"{k[4:-6]} FAILED: {v}" for k, v in r.items() if k.endswith("_error"))
                    if err:
                        errs = (errs + "; " if errs else "") + err
                    rl = _ratio(wg.get("jac_loop_s"), r.get("jac_loop_s"))
                    rv = _ratio(wg.get("jac_vjp_s"), r.get("jac_vjp_s"))
                    L.append(
                        f"| {a.label} | {fmt_time(r.get('jac_loop_s'))} | {fmt_time(r.get('jac_vjp_s'))} | "
                        f"{fmt_time(r.get('fwd_s'))} | {_fr(rl)} / {_fr(rv)} | {memc} | "
                        f"{chk}{' — ' + errs if errs else ''} |"
                    )
                    continue
                fb, fw, ng = r.get("fwd_bwd_s"), r.get("fwd_s"), r.get("fwd_nograd_s")
                if name == "numpy":
                    wr = _ratio(wg.get("fwd_s"), fw)
                else:
                    wr = _ratio(wg.get("fwd_bwd_s"), fb)
                chk = r.get("grad_check", "n/a" if not a.has_grad else "—")
                if err:
                    chk = f"ERROR {err}"
                per_op = ""
                if wkey == "W1":
                    per_op = (
                        f" {fb / w.n_ops * 1e6:.2f} |"
                        if fb
                        else (f" {fw / w.n_ops * 1e6:.2f} (fwd) |" if name == "numpy" and fw else " — |")
                    )
                L.append(
                    f"| {a.label} |{per_op} {fmt_time(fb)} | {fmt_time(fw)} | {fmt_time(ng)} | "
                    f"{_fr(_ratio(fb, fw))} | {_fr(wr)} | {memc} | {chk} |"
                )
            L.append("")

    # W4
    if res.get("w4"):
        w = workloads.WORKLOADS["W4"]
        L.append(f"## W4: {w.title} (float64, fresh subprocess each)\n")
        L.append(
            "| library | survives | fwd | bwd | bwd µs/op | graph memory | graph bytes/op | peak mem | grad check |"
        )
        L.append("|---|---|---|---|---|---|---|---|---|")
        for a in adapters:
            r = res["w4"].get(a.name)
            if not a.supports("W4"):
                continue
            if r is None or not a.available:
                L.append(f"| {a.label} | {a.reason or '—'} | — | — | — | — | — | — | — |")
                continue
            if r.get("skipped"):
                L.append(f"| {a.label} | {r['error']} | — | — | — | — | — | — | — |")
                continue
            surv = "yes" if r.get("ok") else f"**no**: {r.get('error', '')}"
            bpo = r.get("graph_bytes_per_op")
            bwd = r.get("bwd_s")
            L.append(
                f"| {a.label} | {surv} | {fmt_time(r.get('fwd_s'))} | {fmt_time(bwd)} | {bwd / w.n_ops * 1e6:.2f} |"
                if bwd
                else f"| {a.label} | {surv} | {fmt_time(r.get('fwd_s'))} | — | — |"
            )
            L[-1] += (
                f" {fmt_bytes(r.get('graph_bytes'))} | {'—' if bpo is None else f'{bpo:.0f}'} | "
                f"{fmt_bytes(r.get('peak_bytes'))} | {r.get('grad_check', '—')} |"
            )
        L.append("")

    if res.get("sweep"):
        sizes = sorted(res["sweep"], key=int)
        libs = [a for a in adapters if any(a.name in res["sweep"][s] for s in sizes)]
        L.append(f"## µs per op vs array size ({SWEEP_OPS}-op chain, float64, fwd+bwd; numpy: fwd only)\n")
        L.append("| size | " + " | ".join(a.label for a in libs) + " |")
        L.append("|---|" + "---|" * len(libs))
        for s in sizes:
            L.append(
                f"| {int(s):,} | "
                + " | ".join(
                    "—" if res["sweep"][s].get(a.name) is None else f"{res['sweep'][s][a.name]:.2f}" for a in libs
                )
                + " |"
            )
        L.append("")
        if res.get("plot"):
            L.append(f"![µs/op vs size]({res['plot']})\n")

    if res.get("features"):
        L += features.feature_markdown(res["features"], fmt_time)

    if res["problems"]:
        L.append("## Problems seen\n")
        for p in res["problems"]:
            L.append(f"- {p}")
        L.append("")
    L.append("## Memory method\n")
    L.append(
        "Peak memory = VmHWM - VmRSS measured in a fresh subprocess per (library, workload), float64, "
        "after one warm-up call (so imports, lazy init and jit compilation are excluded); the high-water "
        "mark is reset through /proc/self/clear_refs. RSS (not tracemalloc) because tracemalloc only sees "
        "numpy's buffers, not torch's or XLA's allocations. W4 graph memory = RSS after the forward "
        "(graph alive) minus RSS before it."
    )
    return "\n".join(L) + "\n"


def compute_targets(res):
    T = []
    timed = res["timed"]

    def row(target, measured, ok):
        T.append(
            {
                "target": target,
                "measured": measured,
                "status": "n/a" if ok is None else ("**PASS**" if ok else "**FAIL**"),
            }
        )

    def get(w, d, lib, k):
        return timed.get(w, {}).get(d, {}).get(lib, {}).get(k)

    def with_min(r, a_min, b_min):
        rm = _ratio(a_min, b_min)
        return f"{_fr(r)} (best-of-rounds: {_fr(rm)})" if r and rm else _fr(r)

    for d in timed.get("W1", {}):
        wg, to = get("W1", d, "wrapgrad", "fwd_bwd_s"), get("W1", d, "torch", "fwd_bwd_s")
        r = _ratio(wg, to)
        n = workloads.WORKLOADS["W1"].n_ops
        meas = (
            f"wrapgrad {wg / n * 1e6:.2f} µs/op, torch {to / n * 1e6:.2f} µs/op → "
            + with_min(r, get("W1", d, "wrapgrad", "fwd_bwd_min_s"), get("W1", d, "torch", "fwd_bwd_min_s"))
            if r
            else f"wrapgrad {fmt_time(wg)}, torch {fmt_time(to)}"
        )
        floor = get("W1", d, "minimal-tape", "fwd_bwd_s")
        if r and floor:  # what no Python tape over numpy gets below, measured in the same rounds
            meas += f"; minimal tape (floor) {floor / n * 1e6:.2f} µs/op = {_fr(_ratio(floor, to))} torch"
        row(f"W1 {d}: wrapgrad µs/op ≤ 0.5× torch", meas, None if r is None else r <= 0.5)  # noqa: RUF001
    for w in ("W2", "W3", "W6"):
        for d in timed.get(w, {}):
            fb, fw = get(w, d, "wrapgrad", "fwd_bwd_s"), get(w, d, "wrapgrad", "fwd_s")
            fbm, fwm = get(w, d, "wrapgrad", "fwd_bwd_min_s"), get(w, d, "wrapgrad", "fwd_min_s")
            r = _ratio(fb, fw)
            ok = None if r is None else r <= 3.0
            row(f"{w} {d}: wrapgrad fwd+bwd ≤ 3× own fwd", with_min(r, fbm, fwm), ok)  # noqa: RUF001
            nf, nfm = get(w, d, "numpy", "fwd_s"), get(w, d, "numpy", "fwd_min_s")
            r2 = _ratio(fw, nf)
            row(
                f"{w} {d}: wrapgrad fwd ≤ 1.15× numpy fwd",  # noqa: RUF001
                with_min(r2, fwm, nfm),
                None if r2 is None else r2 <= 1.15,
            )
    w4 = res.get("w4", {})
    wg4, to4 = w4.get("wrapgrad", {}), w4.get("torch", {})
    if w4:
        row(
            "W4: 100k ops survive (wrapgrad)",
            "yes" if wg4.get("ok") else f"no: {wg4.get('error', 'not run')}",
            bool(wg4.get("ok")) if "wrapgrad" in w4 else None,
        )
        a, b = wg4.get("bwd_s"), to4.get("bwd_s")
        row(
            "W4: wrapgrad backward ≤ torch backward",
            f"{fmt_time(a)} vs {fmt_time(b)}",
            None if not (a and b) else a <= b,
        )
        a, b = wg4.get("graph_bytes_per_op"), to4.get("graph_bytes_per_op")
        row(
            "W4: wrapgrad graph bytes/op ≤ torch",
            f"{a:.0f} B vs {b:.0f} B" if a and b else "—",
            None if not (a and b) else a <= b,
        )
    m3 = res.get("memory", {}).get("W3", {})
    a, b = m3.get("wrapgrad", {}).get("peak_bytes"), m3.get("torch", {}).get("peak_bytes")
    row(
        "W3 peak memory (f64): wrapgrad ≤ torch", f"{fmt_bytes(a)} vs {fmt_bytes(b)}", None if not (a and b) else a <= b
    )
    for w in ("W2", "W6"):
        for d in timed.get(w, {}):
            a, b = get(w, d, "wrapgrad+jit", "fwd_bwd_s"), get(w, d, "jax.jit", "fwd_bwd_s")
            r = _ratio(a, b)
            meas = (
                with_min(r, get(w, d, "wrapgrad+jit", "fwd_bwd_min_s"), get(w, d, "jax.jit", "fwd_bwd_min_s"))
                if r
                else ("not available" if not a else "—")
            )
            ok = None if r is None else r <= 1.2
            row(f"{w} {d}: jax.jit(wrapgrad.grad) ≤ 1.2× jax.jit(jax.grad)", meas, ok)  # noqa: RUF001
    return T


# ----------------------------------------------------------------------------


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="short run (~1-2 min)")
    p.add_argument("--workloads", default="W1,W2,W3,W4,W5,W6")
    p.add_argument(
        "--libs", default=None, help=f"comma list; default: all installed ({','.join(peers.ADAPTER_BY_NAME)})"
    )
    p.add_argument("--dtypes", default="float64,float32")
    p.add_argument("--rounds", type=int, default=None)
    p.add_argument("--no-memory", action="store_true")
    p.add_argument("--no-sweep", action="store_true")
    p.add_argument("--features", default="all", help=f"feature rows: all, none, or a comma list of "
                   f"{','.join(features.FEATURES)}")
    p.add_argument("--baseline", default=None, help="results.md to check regressions against "
                   "(default: benchmarks/results/results.md as committed at HEAD)")
    p.add_argument("--out", default=os.path.join(harness.HERE, "results"))
    args = p.parse_args()

    prof = dict(PROFILES["quick" if args.quick else "full"])
    if args.rounds:
        prof["rounds"] = args.rounds
    wkeys = [k.strip().upper() for k in args.workloads.split(",") if k.strip()]
    dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    t_start = time.perf_counter()

    adapters = peers.load_adapters(args.libs.split(",") if args.libs else None)
    _env.limit_threadpools()
    live = [a for a in adapters if a.available]
    log("libraries:")
    for a in adapters:
        log(f"  {a.label:24s} {'ok ' + str(a.version()) if a.available else a.reason}")
    problems = []
    wga = next((a for a in adapters if a.name == "wrapgrad"), None)
    if wga is not None and not wga.available:
        problems.append(f"wrapgrad unavailable: {wga.reason}")

    versions = {}
    for a in live:
        try:
            versions[a.module.split(".")[0]] = str(a.version())
        except Exception:
            pass
    versions["numpy"] = np.__version__
    cpu = "?"
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name"))
    except Exception:
        pass
    res = {
        "meta": {
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "profile": "quick" if args.quick else "full",
            "python": platform.python_version(),
            "cpu": cpu,
            "nproc": os.cpu_count(),
            "versions": versions,
            "blas": _env.blas_info(),
            "env": _env.env_snapshot(),
            "availability": {a.name: (a.reason or "ok") for a in adapters},
            "load_before": [round(v, 2) for v in os.getloadavg()],
        },
        "timed": {},
        "problems": problems,
    }

    for wkey in wkeys:
        if wkey == "W4":
            continue
        w = workloads.WORKLOADS[wkey]
        res["timed"][wkey] = {}
        for d in dtypes:
            t0 = time.perf_counter()
            log(f"{wkey} {d}: {w.title}")
            fn = bench_jacobian if w.kind == "jacobian" else bench_grad_workload
            rows = fn(w, d, [a for a in live if a.supports(wkey)], prof, problems)
            res["timed"][wkey][d] = rows
            for name, r in rows.items():
                if r.get("error"):
                    log(f"  {name}: ERROR {r['error']}")
                    if name.startswith("wrapgrad"):
                        problems.append(f"{wkey} {d} {name}: {r['error']}")
            summary = ", ".join(
                f"{n}={fmt_time(r.get('fwd_bwd_s') or r.get('jac_vjp_s') or r.get('fwd_s'))}" for n, r in rows.items()
            )
            log(f"  {summary}  [{time.perf_counter() - t0:.1f}s]")

    if "W4" in wkeys:
        log("W4: 100k-op chain, one fresh subprocess per library")
        res["w4"] = bench_w4([a for a in live if a.supports("W4")], prof, problems)
    if not args.no_memory:
        keys = [k for k in prof["mem"] if k in wkeys]
        if keys:
            log(f"peak memory (fresh subprocess per library): {', '.join(keys)}")
            res["memory"] = bench_memory(live, keys, problems)
    if not args.no_sweep:
        log(f"size sweep ({SWEEP_OPS}-op chain, float64)")
        res["sweep"] = bench_sweep(live, prof)

    if args.features in ("all", "none"):
        which = list(features.FEATURES) if args.features == "all" else []
    else:
        which = [f.strip() for f in args.features.split(",") if f.strip()]
    if which:
        log(f"feature rows: {', '.join(which)}")
        res["features"] = features.bench_features(live, prof, problems, which, log=log)

    os.makedirs(args.out, exist_ok=True)
    if res.get("sweep"):
        err = plot_sweep(res["sweep"], os.path.join(args.out, "overhead.png"))
        if err:
            log(err)
        else:
            res["plot"] = "overhead.png"
    res["targets"] = compute_targets(res)
    res["meta"]["wall_s"] = round(time.perf_counter() - t_start, 1)
    res["meta"]["load_after"] = [round(v, 2) for v in os.getloadavg()]
    md = make_markdown(res, adapters)
    # The regression check reads this run's ratios from the markdown it is about to write, and the
    # baseline's from the committed one, with the same parser.
    if args.baseline:
        with open(args.baseline) as f:
            base_md, source = f.read(), args.baseline
    else:
        base_md, source = regression.committed_baseline(_env.REPO_ROOT)
    if base_md is not None:
        res["regression"] = regression.compare(regression.metrics_from_markdown(md),
                                               regression.metrics_from_markdown(base_md))
        load = f"{res['meta']['load_before'][0]:.2f} before, {res['meta']['load_after'][0]:.2f} after"
        md += "\n" + "\n".join(regression.markdown(res["regression"], source, regression.baseline_header(base_md),
                                                    load))
    else:
        log(f"no regression baseline: {source}")
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(md)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(res, f, indent=1, default=str)
    log("\n## Targets")
    for t in res["targets"]:
        log(f"  {t['status']:10s} {t['target']}: {t['measured']}")
    if res.get("regression"):
        log("\n## Regression check (W1-W6 ratios vs the last committed run; FAIL above +5%)")
        for r in res["regression"]:
            if r["change"] is not None:
                log(f"  {r['status']:10s} {r['metric']}: {r['current']:.3f} vs {r['baseline']:.3f} "
                    f"({r['change']:+.1%})")
    log(f"\nload average: {res['meta']['load_before'][0]:.2f} before, {res['meta']['load_after'][0]:.2f} after")
    if problems:
        log("\nproblems:")
        for p_ in problems:
            log(f"  - {p_}")
    log(
        f"\nwrote {args.out}/results.md, results.json{', overhead.png' if res.get('plot') else ''} "
        f"in {res['meta']['wall_s']:.0f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
