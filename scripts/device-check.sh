#!/usr/bin/env bash
# One short session on a lent GPU machine (bench/README.md, "On a GPU machine", has the exact call):
# builds both addons from source there (against the image's cuDNN and cuBLAS), runs the GPU suite,
# the per-convolution diagnosis on both sides (our bench/convLayers.ts and PyTorch's
# bench/torch_conv_layers.py, then bench/convCompare.ts's table), the GPU benchmark against
# PyTorch, issue 13's figures (bench/stepGraphs.ts: captured against plain steps, batch-1 latency
# against PyTorch eager, the host's share of a step, the SGD kernel against its memory bound, the
# Linear-ReLU-Linear epilogues), a second process that must start from the convolution plan cache
# without a search, and, if time is left, the legacy convolution path's diagnosis and the per-layer
# timings. Issue 13's call: STEPS=build,tests,graphs (bench/README.md).
#
# Every step is time-boxed, and all of them together stay under TOTAL_BUDGET seconds (default 460,
# under 8 minutes): a step gets at most what is left, in this order. The device tool brings back
# at most 8 files from $OUT, so every log and JSON goes into $OUT/device-run.tgz (rewritten after
# each step, so that a cut-short run still returns what it did), and $OUT also gets summary.txt,
# convs-table.md, bench.json, gpu-tests.json and the plan cache file.
#
# Prepare here (this machine): npm ci, then
#   bash scripts/device-bundle.sh      # shared/device/pack.sh plus oneDNN's runtime and headers
# and run there with carry [".device"]:
#   bash .device/boot.sh bash scripts/device-check.sh
# A second call can run fewer steps (STEPS=build,convs,torch,bench,...: the ids below) and start
# from the first call's plans: copy its $OUT/conv-plans-*.tsv into .device/conv-plans/ first.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/alexnet-device}
work=/tmp/alexnet-device-run
rm -rf "$work" && mkdir -p "$work" "$out"
start_all=$(date +%s)
deadline=$(( start_all + ${TOTAL_BUDGET:-460} ))
steps=",${STEPS:-build,tests,convs,torch,bench,graphs,second,legacy,layers},"
export ALEXNET_QUIET=1 PATH=/usr/local/cuda/bin:$PATH PYTHONUNBUFFERED=1
# Build for the one GPU there, with every core; keep the convolution plans of this session in one
# place, so that later steps (and the second-process check) find what earlier ones chose.
export ALEXNET_CUDA_ARCHITECTURES=${ALEXNET_CUDA_ARCHITECTURES:-90-real}
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}
export ALEXNET_CUDA_PLAN_CACHE=${ALEXNET_CUDA_PLAN_CACHE:-/tmp/alexnet-conv-plans}
mkdir -p "$ALEXNET_CUDA_PLAN_CACHE"
if [ -d .device/conv-plans ]; then cp .device/conv-plans/*.tsv "$ALEXNET_CUDA_PLAN_CACHE"/ 2>/dev/null; fi

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

# What comes back: the archive of $work, and a few files on their own.
collect() {
  cp "$ALEXNET_CUDA_PLAN_CACHE"/*.tsv "$work"/ 2>/dev/null
  tar -czf "$out/device-run.tgz" -C "$work" . 2>/dev/null
}
# Seconds a step may take: its cap, or what is left of the whole budget if less.
budget() {
  local left=$(( deadline - $(date +%s) ))
  echo $(( left < $1 ? left : $1 ))
}
# step ID NAME CAP LOG COMMAND...: unless STEPS leaves ID out, runs COMMAND under the budget, its
# output in $work/LOG, and records the result.
declare -a results=()
step() {
  local id=$1 name=$2 cap=$3 log=$4
  shift 4
  [[ $steps == *",$id,"* ]] || return 0
  local secs
  secs=$(budget "$cap")
  if [ "$secs" -lt 15 ]; then
    echo "== $name: skipped (no time left)"
    results+=("$name: skipped, no time left")
    return 1
  fi
  echo "== $name (up to ${secs}s)"
  local t0
  t0=$(date +%s)
  timeout "$secs" "$@" > "$work/$log" 2>&1
  local rc=$?
  local took=$(( $(date +%s) - t0 ))
  local what="exit $rc"
  [ $rc -eq 124 ] && what="TIMED OUT"
  echo "   $what after ${took}s (log: $log)"
  results+=("$name: $what after ${took}s")
  collect
  return $rc
}

nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap,clocks.sm --format=csv,noheader | tee "$work/gpu.txt"
cat .device/source.json 2>/dev/null | tee "$work/source.json"

step build "build (both addons, from source)" 150 build.log npm run build
tail -5 "$work/build.log"
npx tsx -e "
import { backendAvailability, getBackend } from './lib/index';
console.log(JSON.stringify(backendAvailability()));
console.log(JSON.stringify(getBackend('cuda').info()));
" > "$work/info.txt" 2>&1
cat "$work/info.txt"

ALEXNET_CUDA_LOG=1 ALEXNET_REQUIRE_CUDA=1 ALEXNET_GPU_REPORT="$work/gpu-tests.json" \
  step tests "GPU tests (npm run test:gpu)" 200 gpu-tests.log npm run test:gpu
grep -E "Test Files|Tests |NO GPU CHECK" "$work/gpu-tests.log" 2>/dev/null | tail -3

step convs "conv diagnosis, ours (graph engine)" 150 convs-ours.log \
  npx tsx bench/convLayers.ts --json "$work/convs-ours.json"
step torch "conv diagnosis, PyTorch" 60 convs-torch.log \
  python3 bench/torch_conv_layers.py --batch 128 --modes fp32,tf32 --json "$work/convs-torch.json"
if [ -f "$work/convs-ours.json" ] && [ -f "$work/convs-torch.json" ]; then
  npx tsx bench/convCompare.ts "$work/convs-ours.json" "$work/convs-torch.json" --markdown "$work/convs-table.md" \
    > "$work/convs-table.txt" 2>&1
fi

step bench "GPU benchmark (bench:gpu)" 100 bench.log \
  npx tsx bench/gpu.ts --warmup 3 --iters 10 --latency-iters 30 --json "$work/bench.json"

# Issue 13: steps captured into CUDA graphs against plain ones, batch-1 latency, the host's share,
# SGD against its memory bound, the epilogues (bench/README.md says what each must show).
step graphs "step graphs (bench:graphs)" 200 graphs.log \
  npx tsx bench/stepGraphs.ts --json "$work/graphs.json"

# A second process over the same plan cache must rebuild its plans, not search for them.
step second "second process, from the plan cache" 45 convs-second.log \
  npx tsx bench/convLayers.ts --warmup 1 --iters 1 --repeat 1 --json "$work/convs-second.json"

# If time is left: the legacy path's numbers beside the graph engine's, and the per-layer split
# of a step (its sum against the step's wall time in bench.json: the host overhead).
ALEXNET_CUDA_CONV=legacy step legacy "conv diagnosis, ours (legacy engine)" 60 convs-legacy.log \
  npx tsx bench/convLayers.ts --warmup 2 --iters 5 --json "$work/convs-legacy.json"
step layers "per-layer timings" 45 layers.log npx tsx scripts/device-layers.ts 128

summary() {
  echo "================ summary ($(( $(date +%s) - start_all ))s in all) ================"
  for r in "${results[@]}"; do echo "  $r"; done
  echo "-- GPU tests:"
  grep -E "Test Files|Tests " "$work/gpu-tests.log" 2>/dev/null | tail -2
  grep -E "^ *(FAIL|×)" "$work/gpu-tests.log" 2>/dev/null | head -8
  echo "-- convolutions the legacy path ran (graph engine without a plan), all steps: $(cat "$work"/*.log | grep -c 'the legacy engine runs it')"
  grep -h "the legacy engine runs it" "$work"/*.log 2>/dev/null | sort -u | head -5
  node -e "
const fs = require('fs');
const read = (f) => { try { return JSON.parse(fs.readFileSync(f, 'utf8')); } catch { return null; } };
const second = read('$work/convs-second.json');
if (second) {
  const lines = second.layers.flatMap((r) => Object.keys(r).filter((k) => k.endsWith('_engine')).flatMap((k) => r[k]));
  const searched = lines.filter((l) => l.includes('; searched:')).length;
  const cached = lines.filter((l) => l.includes('from the plan cache')).length;
  console.log('-- second process: ' + cached + ' choices from the plan cache, ' + searched + ' searched (must be 0)');
}
" 2>&1
  echo "-- per convolution, ours / PyTorch (below 1: faster):"
  tail -n +4 "$work/convs-table.txt" 2>/dev/null | cut -c1-110 | head -70
  echo "-- training and inference against PyTorch:"
  grep -A 14 "^preset" "$work/bench.log" 2>/dev/null | head -15
  echo "-- step graphs (issue 13):"
  grep -A 30 "^preset" "$work/graphs.log" 2>/dev/null | head -32
  grep -h "step capture failed" "$work"/*.log 2>/dev/null | sort -u | head -3
}
summary | tee "$work/summary.txt"
collect
for f in summary.txt convs-table.md bench.json graphs.json gpu-tests.json; do [ -f "$work/$f" ] && cp "$work/$f" "$out/"; done
cp "$ALEXNET_CUDA_PLAN_CACHE"/*.tsv "$out"/ 2>/dev/null
true
