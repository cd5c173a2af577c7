#!/usr/bin/env bash
# One short session on a lent GPU machine (bench/README.md, "On a GPU machine", has the exact call):
# builds both addons from source there (against the image's cuDNN and cuBLAS), runs the GPU suite,
# the per-convolution diagnosis on both sides (PyTorch's bench/torch_conv_layers.py and our
# bench/convLayers.ts, then bench/convCompare.ts's table), the GPU benchmark against PyTorch, a
# second process that must start from the convolution plan cache without a search, and, if time
# is left, the legacy convolution path's diagnosis and the per-layer timings for comparison.
#
# Every step is time-boxed, and all of them together stay under TOTAL_BUDGET seconds (default 460,
# under 8 minutes): a step gets at most what is left. Logs and JSON land in $OUT; the end of the
# output is a short summary.
#
# Prepare here (this machine): npm ci, then
#   bash scripts/device-bundle.sh      # shared/device/pack.sh plus oneDNN's runtime and headers
# and run there with carry [".device"]:
#   bash .device/boot.sh bash scripts/device-check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/alexnet-device}
mkdir -p "$out"
start_all=$(date +%s)
deadline=$(( start_all + ${TOTAL_BUDGET:-460} ))
export ALEXNET_QUIET=1 PATH=/usr/local/cuda/bin:$PATH PYTHONUNBUFFERED=1
# Build for the one GPU there, with every core; keep the convolution plans of this session in one
# place, so that later steps (and the second-process check) find what earlier ones chose.
export ALEXNET_CUDA_ARCHITECTURES=${ALEXNET_CUDA_ARCHITECTURES:-90-real}
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}
export ALEXNET_CUDA_PLAN_CACHE=${ALEXNET_CUDA_PLAN_CACHE:-/tmp/alexnet-conv-plans}

# oneDNN (the CPU build, which the GPU tests compare against) travels in .device: its runtime, its
# headers for the build, and a libgomp for an image without one.
if [ -f .device/onednn.tar.xz ]; then
  rm -rf /tmp/onednn && mkdir -p /tmp/onednn && tar -C /tmp/onednn -xJf .device/onednn.tar.xz
  if [ -d /tmp/onednn/lib ]; then
    export LD_LIBRARY_PATH=/tmp/onednn/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    export CMAKE_INCLUDE_PATH=/tmp/onednn/include CMAKE_LIBRARY_PATH=/tmp/onednn/lib
    ldconfig -p 2>/dev/null | grep -q 'libgomp.so.1 ' || export LD_LIBRARY_PATH=$LD_LIBRARY_PATH:/tmp/onednn/gomp
  else  # a bundle from before the headers travelled: libraries at the top
    export LD_LIBRARY_PATH=/tmp/onednn${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  fi
fi

# Seconds a step may take: its cap, or what is left of the whole budget if less.
budget() {
  local left=$(( deadline - $(date +%s) ))
  echo $(( left < $1 ? left : $1 ))
}
# step NAME CAP LOG COMMAND...: runs COMMAND under the budget, its output in $out/LOG; records the result.
declare -a results=()
step() {
  local name=$1 cap=$2 log=$3
  shift 3
  local secs
  secs=$(budget "$cap")
  if [ "$secs" -lt 15 ]; then
    echo "== $name: skipped (no time left)"
    results+=("$name: skipped, no time left")
    return 1
  fi
  echo "== $name (up to ${secs}s)"
  local t0=$(date +%s)
  timeout "$secs" "$@" > "$out/$log" 2>&1
  local rc=$?
  local took=$(( $(date +%s) - t0 ))
  local what="exit $rc"
  [ $rc -eq 124 ] && what="TIMED OUT"
  echo "   $what after ${took}s (log: $log)"
  results+=("$name: $what after ${took}s")
  return $rc
}

nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap,clocks.sm --format=csv,noheader | tee "$out/gpu.txt"
cat .device/source.json 2>/dev/null | tee "$out/source.json"

step "build (both addons, from source)" 150 build.log npm run build
tail -5 "$out/build.log"
npx tsx -e "
import { backendAvailability, getBackend } from './lib/index';
console.log(JSON.stringify(backendAvailability()));
console.log(JSON.stringify(getBackend('cuda').info()));
" > "$out/info.txt" 2>&1
cat "$out/info.txt"

ALEXNET_CUDA_LOG=1 ALEXNET_REQUIRE_CUDA=1 ALEXNET_GPU_REPORT="$out/gpu-tests.json" \
  step "GPU tests (npm run test:gpu)" 170 gpu-tests.log npm run test:gpu
grep -E "Test Files|Tests |NO GPU CHECK" "$out/gpu-tests.log" | tail -3

step "conv diagnosis, ours (graph engine)" 110 convs-ours.log \
  npx tsx bench/convLayers.ts --json "$out/convs-ours.json"
step "conv diagnosis, PyTorch" 70 convs-torch.log \
  python3 bench/torch_conv_layers.py --batch 128 --modes fp32,tf32 --json "$out/convs-torch.json"
if [ -f "$out/convs-ours.json" ] && [ -f "$out/convs-torch.json" ]; then
  npx tsx bench/convCompare.ts "$out/convs-ours.json" "$out/convs-torch.json" --markdown "$out/convs-table.md" \
    > "$out/convs-table.txt" 2>&1
fi

step "GPU benchmark (bench:gpu)" 120 bench.log \
  npx tsx bench/gpu.ts --warmup 3 --iters 10 --latency-iters 30 --json "$out/bench.json"

# A second process over the same plan cache must rebuild its plans, not search for them.
step "second process, from the plan cache" 40 convs-second.log \
  npx tsx bench/convLayers.ts --presets torchvision,paper --modes fp32,tf32 --warmup 1 --iters 1 --repeat 1 \
  --json "$out/convs-second.json"

# If time is left: the legacy path's numbers beside the graph engine's, and the per-layer split
# of a step (its sum against the step's wall time, the host overhead the issue asks about).
ALEXNET_CUDA_CONV=legacy step "conv diagnosis, ours (legacy engine)" 80 convs-legacy.log \
  npx tsx bench/convLayers.ts --warmup 2 --iters 5 --json "$out/convs-legacy.json"
step "per-layer timings" 60 layers.log npx tsx scripts/device-layers.ts 128
cp -r "$ALEXNET_CUDA_PLAN_CACHE" "$out/conv-plans" 2>/dev/null

echo
echo "================ summary ($(( $(date +%s) - start_all ))s in all) ================"
for r in "${results[@]}"; do echo "  $r"; done
echo "-- GPU tests:"
grep -E "Test Files|Tests " "$out/gpu-tests.log" | tail -2
grep -E "^ *(FAIL|×)" "$out/gpu-tests.log" | head -8
echo "-- graph engine fallbacks to the legacy path (all runs): $(cat "$out"/*.log | grep -c 'the legacy engine runs it')"
grep -h "the legacy engine runs it" "$out"/*.log | sort -u | head -5
node -e "
const fs = require('fs');
const read = (f) => { try { return JSON.parse(fs.readFileSync(f, 'utf8')); } catch { return null; } };
const second = read('$out/convs-second.json');
if (second) {
  const lines = second.layers.flatMap((r) => Object.keys(r).filter((k) => k.endsWith('_engine')).flatMap((k) => r[k]));
  const searched = lines.filter((l) => l.includes('; searched:')).length;
  const cached = lines.filter((l) => l.includes('from the plan cache')).length;
  console.log('-- second process: ' + cached + ' choices from the plan cache, ' + searched + ' searched (must be 0)');
}
" 2>&1
echo "-- per-convolution, ours / PyTorch (below 1: faster):"
tail -n +4 "$out/convs-table.txt" 2>/dev/null | cut -c1-110 | head -60
echo "-- training and inference against PyTorch:"
grep -A 14 "^preset" "$out/bench.log" 2>/dev/null | head -15
