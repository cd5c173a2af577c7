#!/usr/bin/env bash
# One short session on a lent GPU machine (see ../shared/device and README "Developing on a GPU"):
# the GPU test suite, the GPU benchmark against PyTorch, per-layer timings, and issue 13's figures
# (bench/stepGraphs.ts: captured against plain steps, batch-1 latency, the host's share of a step,
# the SGD kernel against its memory bound), then a summary. Each step is time-boxed so that one
# failure cannot eat the session; logs and JSON land in $OUT.
#
# Prepare here (this machine): npm ci, build both addons, then
#   bash scripts/device-bundle.sh      # ../shared/device/pack.sh plus this machine's oneDNN
# and run there with carry [".device", "addons/cpu/build", "addons/cuda/build"]:
#   bash .device/boot.sh bash scripts/device-check.sh [PARTS]
# PARTS: a comma-separated choice of tests, bench, layers, graphs (default: all four, about 9
# minutes on an H200; bench/README.md gives the calls that fit one 600-second run each).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/alexnet-device}
mkdir -p "$out"
export ALEXNET_QUIET=1 PATH=/usr/local/cuda/bin:$PATH
tests_budget=${TESTS_BUDGET:-210}
bench_budget=${BENCH_BUDGET:-170}
graphs_budget=${GRAPHS_BUDGET:-200}
parts=",${1:-tests,bench,layers,graphs},"
has() { [[ "$parts" == *",$1,"* ]]; }

# The CPU build needs oneDNN, which the GPU image lacks: it travels compressed in .device.
if [ -f .device/onednn.tar.xz ]; then
  mkdir -p /tmp/onednn && tar -C /tmp/onednn -xJf .device/onednn.tar.xz
  export LD_LIBRARY_PATH=/tmp/onednn${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi

nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader | tee "$out/gpu.txt"
npx tsx -e "
import { backendAvailability, getBackend } from './lib/index';
console.log(JSON.stringify(backendAvailability()));
console.log(JSON.stringify(getBackend('cuda').info()));
" 2>&1 | tee "$out/info.txt"

if has tests; then
  echo "== GPU tests (budget ${tests_budget}s)"
  start=$(date +%s)
  ALEXNET_CUDA_LOG=1 ALEXNET_REQUIRE_CUDA=1 ALEXNET_GPU_REPORT="$out/gpu-tests.json" \
    timeout "$tests_budget" npx vitest run --config vitest.gpu.config.ts > "$out/gpu-tests.log" 2>&1
  echo "tests exit $? after $(( $(date +%s) - start ))s"
  grep -E "✓|✗|×|FAIL|Test Files|Tests |passed|failed" "$out/gpu-tests.log" | grep -v "^ *✓" | tail -30
fi

if has bench; then
  echo "== GPU benchmark (budget ${bench_budget}s)"
  start=$(date +%s)
  timeout "$bench_budget" npx tsx bench/gpu.ts --json "$out/bench.json" ${BENCH_ARGS:-} > "$out/bench.log" 2>&1
  echo "bench exit $? after $(( $(date +%s) - start ))s"
  tail -25 "$out/bench.log"
fi

if has layers; then
  echo "== per-layer timings (CUDA build, batch 128)"
  timeout 90 npx tsx scripts/device-layers.ts 128 > "$out/layers.log" 2>&1
  echo "layers exit $?"; cat "$out/layers.log" | tail -12
fi

if has graphs; then
  # Issue 13: captured vs plain steps, batch-1 latency against PyTorch eager (and its reduce-overhead
  # figure), the host's share of a step (wall / device time - 1, at most 5% wanted), the SGD kernel
  # against its memory bound (at most 1.3x), the Linear-ReLU-Linear epilogues against the unfused path.
  echo "== issue 13: step graphs (budget ${graphs_budget}s)"
  start=$(date +%s)
  timeout "$graphs_budget" npx tsx bench/stepGraphs.ts --json "$out/graphs.json" ${GRAPHS_ARGS:-} > "$out/graphs.log" 2>&1
  echo "graphs exit $? after $(( $(date +%s) - start ))s"
  tail -30 "$out/graphs.log"
fi

if has tests; then
  echo "== summary tables"
  sed -n '/summary/,$p' "$out/gpu-tests.log" | tail -45
fi
