"""Pin every numeric library to one thread.

Import this module *before* numpy / torch / jax: the BLAS and OpenMP
runtimes read these variables once, when they are loaded.  Existing
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE settings are left untouched on
purpose (they are recorded in the results header instead).
"""

from __future__ import annotations

import os
import sys

# Run from a checkout without installing: make the repository root importable
# (scripts are started as ``python benchmarks/run.py``, so only benchmarks/ is on sys.path).
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(1, REPO_ROOT)

THREAD_VARS = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
}
XLA_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"

for _k, _v in THREAD_VARS.items():
    os.environ[_k] = _v
if "xla_cpu_multi_thread_eigen" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + XLA_ONE_THREAD).strip()
# CPU only, quiet jax.
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def limit_threadpools():
    """Second line of defence once libraries are loaded (threadpoolctl, optional)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=1)


def blas_info() -> list[dict]:
    """Which BLAS / OpenMP runtimes are loaded, and with which kernel (threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"note": "threadpoolctl not installed"}]
    keep = ("user_api", "internal_api", "prefix", "version", "architecture", "num_threads", "threading_layer")
    return [{k: d.get(k) for k in keep if d.get(k) is not None} for d in threadpool_info()]


def env_snapshot() -> dict:
    keys = sorted(set(THREAD_VARS) | {"XLA_FLAGS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "JAX_PLATFORMS"})
    return {k: os.environ.get(k) for k in keys if os.environ.get(k) is not None}
