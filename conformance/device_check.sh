#!/usr/bin/env bash
# One short, prepared device check: on each of jax, cupy and torch, on the device chosen,
#   1. the gradient matrix (python -m conformance --only gradients, 1 seed),
#   2. the official suite at few examples (only where ARRAY_API_TESTS_DIR points at a checkout), raw and wrapped,
#   3. a short benchmark (benchmarks/device_bench.py).
# Sized for a lent GPU machine's ~15 minutes in all; each step has its own time limit, and a failing step does
# not stop the others (the exit status is non-zero if any failed).
#
#   conformance/device_check.sh cuda                  # jax, cupy and torch on the GPU
#   conformance/device_check.sh cuda torch,jax        # a subset
#   conformance/device_check.sh cpu torch             # the same commands on the CPU (a dry run anywhere)
#
# Without a GPU, "cuda" prints why and exits 0 for each backend it cannot run (a clean skip). Wheels the machine's
# image lacks (array-api-compat, array-api-strict, a CUDA torch) can be carried in the working tree under
# device-wheels/; they are installed from there, offline, before anything runs.
# Environment: EXAMPLES (suite examples, default 5), STEP_TIMEOUT (seconds per step, default 240), OUT (reports).
set -uo pipefail
cd "$(dirname "$0")/.."

device="${1:-cuda}"
backends="${2:-jax,cupy,torch}"
examples="${EXAMPLES:-5}"
step_timeout="${STEP_TIMEOUT:-240}"
out="${OUT:-device-report}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$out"
status=0

case "$device" in
  cpu|cuda|cuda:*) ;;
  *) echo "device_check: device must be cpu or cuda[:N], got '$device'" >&2; exit 2 ;;
esac

if [ -d device-wheels ] && ls device-wheels/*.whl >/dev/null 2>&1; then
  echo "== installing carried wheels from device-wheels/"
  python -m pip install --no-index --find-links device-wheels device-wheels/*.whl || status=1
fi

gpu_present() {
  command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1
}

# Can this backend run on the device? Prints the reason when it cannot.
usable() {
  local backend="$1"
  if [ "$device" != cpu ] && ! gpu_present; then
    echo "skipped: no GPU here (nvidia-smi finds none); run with 'cpu' for a dry run"; return 1
  fi
  case "$backend" in
    torch) python - "$device" <<'EOF'
import sys
try:
    import torch
except ImportError:
    sys.exit("skipped: torch is not installed")
if sys.argv[1] != "cpu" and not torch.cuda.is_available():
    sys.exit(f"skipped: torch {torch.__version__} sees no CUDA device (a CPU-only build?)")
EOF
    ;;
    jax) JAX_PLATFORMS="$(jax_platform)" python - <<'EOF'
import sys
try:
    import jax
    jax.devices()
except Exception as error:  # jax raises RuntimeError when the platform is missing
    sys.exit(f"skipped: jax cannot run here: {str(error).splitlines()[0]}")
EOF
    ;;
    cupy) [ "$device" = cpu ] && { echo "skipped: cupy runs on a GPU only"; return 1; }
      python - <<'EOF'
import sys
try:
    import cupy
    cupy.cuda.runtime.getDeviceCount()
except Exception as error:
    sys.exit(f"skipped: cupy cannot run here: {str(error).splitlines()[0]}")
EOF
    ;;
    *) echo "skipped: unknown backend $backend (choose from jax, cupy, torch)"; return 1 ;;
  esac
}

jax_platform() { [ "$device" = cpu ] && echo cpu || echo cuda; }

step() {  # step NAME COMMAND...: run with a time limit, log to $out, remember a failure
  local name="$1"; shift
  echo "== $name"
  timeout "$step_timeout" "$@" 2>&1 | tee "$out/$name.log" | tail -n 25
  local rc="${PIPESTATUS[0]}"
  if [ "$rc" -ne 0 ]; then echo "!! $name exited with $rc (124: past ${step_timeout}s)"; status=1; fi
}

IFS=',' read -r -a list <<< "$backends"
for backend in "${list[@]}"; do
  echo "######## $backend on $device"
  if ! reason="$(usable "$backend" 2>&1)"; then echo "$backend: $reason"; continue; fi
  export CONFORMANCE_DEVICE="$device" JAX_PLATFORMS="$(jax_platform)" JAX_ENABLE_X64=1
  [ "$device" = cpu ] && unset CONFORMANCE_DEVICE
  step "$backend-gradients" python -W ignore -m conformance --only gradients --backend "$backend" \
    --max-examples 1 --no-progress --out "$out/$backend-gradients"
  if [ -n "${ARRAY_API_TESTS_DIR:-}" ]; then
    step "$backend-suite" python -m conformance --only official --backend "$backend" --api-version 2024.12 \
      --max-examples "$examples" --no-progress --out "$out/$backend-suite"
  else
    echo "$backend: suite skipped: set ARRAY_API_TESTS_DIR to a checkout of data-apis/array-api-tests"
  fi
  step "$backend-bench" python benchmarks/device_bench.py --backend "$backend" --device "$device" --rounds 5
done
exit "$status"
