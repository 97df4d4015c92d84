"""Shared harness: gradient verification, interleaved timing, subprocess probes."""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import time
import traceback

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def short_exc(e: BaseException) -> str:
    msg = str(e).strip().splitlines()
    return f"{type(e).__name__}: {msg[0][:160] if msg else ''}"


def exc_summary(e: BaseException, depth: int = 3) -> str:
    """Exception type/message plus the innermost few frames (file:line function)."""
    tb = traceback.extract_tb(e.__traceback__)[-depth:]
    frames = " <- ".join(f"{os.path.basename(f.filename)}:{f.lineno} {f.name}" for f in reversed(tb))
    return f"{short_exc(e)} [at {frames}]"


# ----------------------------------------------------------------------------
# gradient verification
# ----------------------------------------------------------------------------


def tolerances(dtype):
    if np.dtype(dtype) == np.float32:
        return 2e-3, 1e-4
    return 1e-7, 1e-10


def compare_grads(ref, got, dtype):
    """Return None if all close, else a description of the first mismatch."""
    rtol, atol_rel = tolerances(dtype)
    if len(ref) != len(got):
        return f"{len(got)} gradients, expected {len(ref)}"
    for i, (r, g) in enumerate(zip(ref, got, strict=True)):
        r = np.asarray(r, dtype=np.float64)
        g = np.asarray(g, dtype=np.float64)
        if r.shape != g.shape:
            return f"grad[{i}] shape {g.shape}, expected {r.shape}"
        scale = float(np.max(np.abs(r))) if r.size else 0.0
        if not np.allclose(g, r, rtol=rtol, atol=atol_rel * max(scale, 1e-30), equal_nan=True):
            err = float(np.max(np.abs(g - r)))
            return f"grad[{i}] max|diff|={err:.3g} (max|ref|={scale:.3g})"
    return None


# ----------------------------------------------------------------------------
# timing
# ----------------------------------------------------------------------------


class Task:
    """One timed callable; ``inner`` calls per sample so a sample lasts >= min_sample_s."""

    def __init__(self, key, fn):
        self.key = key
        self.fn = fn
        self.inner = 1
        self.samples = []
        self.error = None

    def calibrate(self, min_sample_s, warmup=1):
        try:
            for _ in range(warmup):
                self.fn()
            t0 = time.perf_counter()
            self.fn()
            t = time.perf_counter() - t0
        except Exception as e:
            self.error = exc_summary(e)
            return
        self.inner = max(1, math.ceil(min_sample_s / max(t, 1e-9)))

    def sample(self):
        if self.error:
            return
        fn, n = self.fn, self.inner
        try:
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            self.samples.append((time.perf_counter() - t0) / n)
        except Exception as e:
            self.error = exc_summary(e)

    @property
    def median(self):
        return statistics.median(self.samples) if self.samples else None


def run_interleaved(tasks, rounds, min_sample_s, time_budget_s=None):
    """Calibrate every task, then take one sample of each per round.

    The task order is rotated every round so no library always runs right
    after the same neighbour.  ``time_budget_s`` stops early (after at least
    3 rounds) for slow configurations.
    """
    for t in tasks:
        t.calibrate(min_sample_s)
    start = time.perf_counter()
    live = [t for t in tasks if not t.error]
    for r in range(rounds):
        k = r % max(1, len(live))
        for t in live[k:] + live[:k]:
            t.sample()
        if time_budget_s and r >= 2 and time.perf_counter() - start > time_budget_s:
            break
    return tasks


# ----------------------------------------------------------------------------
# subprocess probes (memory, W4)
# ----------------------------------------------------------------------------


def run_probe(args, timeout_s):
    """Run memprobe.py in a fresh interpreter; return its JSON dict (or an error dict)."""
    cmd = [sys.executable, os.path.join(HERE, "memprobe.py"), *args]
    env = dict(os.environ)
    # Make freed large blocks go back to the OS immediately so RSS tracks live memory
    # (glibc otherwise raises its mmap threshold dynamically and keeps freed arrays).
    env.setdefault("MALLOC_MMAP_THRESHOLD_", "65536")
    env.setdefault("MALLOC_TRIM_THRESHOLD_", "65536")
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=env)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timeout after {timeout_s:.0f}s", "wall_s": timeout_s}
    wall = time.perf_counter() - t0
    for line in reversed(p.stdout.splitlines()):
        if line.startswith("{"):
            try:
                d = json.loads(line)
                d["wall_s"] = wall
                return d
            except json.JSONDecodeError:
                break
    tail = (p.stderr or p.stdout).strip().splitlines()[-3:]
    if p.returncode < 0:
        why = f"crashed (signal {-p.returncode})"
    else:
        why = f"exit {p.returncode}"
    return {"ok": False, "error": f"{why}: {' | '.join(tail)[:300]}", "wall_s": wall}


def fmt_time(s):
    if s is None:
        return "—"
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def fmt_bytes(b):
    if b is None:
        return "—"
    for unit, f in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(b) >= f:
            return f"{b / f:.1f} {unit}"
    return f"{b:.0f} B"
