#!/usr/bin/env bash
# Issue 13's recipe run on a GPU machine: Dive into Deep Learning's AlexNet on Fashion-MNIST through
# the command line, `alexnet train` with its defaults (d2l preset, batch 128, SGD lr 0.01, 10 epochs,
# evaluated on the test set after each), with the step rates beside it:
#   1. `alexnet bench` of the d2l training step at batch 128 (captured; no data loading);
#   2. the recipe itself (steps captured, the loader handing image bytes to the device's
#      preprocessing): the test accuracy after 10 epochs, the training time, img/s per epoch;
#   3. one epoch with the transforms on the host (ALEXNET_DEVICE_PREPROCESS=0), and one with plain
#      steps (ALEXNET_CUDA_GRAPHS=0), for the rates with and without each.
# PyTorch's figures on an H200 (FACTS.md): 0.8797 test accuracy in 40.3 s; the issue's target is at
# least 0.88 in at most 20 s of training time.
#
# Prepare here: npm ci && npm run build && bash scripts/device-recipe-bundle.sh
# Run there with carry [".device", "dist", "addons/cuda/build"]:
#   bash .device/boot.sh bash scripts/device-recipe.sh
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/alexnet-recipe}
mkdir -p "$out"
export ALEXNET_QUIET=1
# The CUDA build was linked here against pip's cuDNN and cuBLAS; there the image's are used. Without
# the CPU build (not carried) nothing preloads them, so the system loader must find them.
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
data=/tmp/fashion-mnist
mkdir -p "$data" && tar -C "$data" -xJf .device/fashion-mnist.tar.xz
cat .device/source.json 2>/dev/null
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"

echo "== 1. the d2l step alone (no data loading), batch 128"
timeout 120 node dist/cli/main.js bench --backend cuda --preset d2l --batch-size 128 --task train,inference \
  --iterations 30 --warmup 5 2>&1 | tee "$out/bench.log"

echo "== 2. alexnet train (the d2l recipe, defaults: 10 epochs)"
SECONDS=0
timeout 300 node dist/cli/main.js train --backend cuda --data "$data" --checkpoint-dir /tmp/recipe-run \
  --progress epochs 2>&1 | tee "$out/train.log"
echo "recipe exit ${PIPESTATUS[0]}, ${SECONDS} s in all (node start, data, 10 epochs, evaluation, checkpoints)"
cp /tmp/recipe-run/metrics.jsonl "$out/metrics.jsonl" 2>/dev/null

echo "== 3a. one epoch with the transforms on the host (ALEXNET_DEVICE_PREPROCESS=0)"
ALEXNET_DEVICE_PREPROCESS=0 timeout 120 node dist/cli/main.js train --backend cuda --data "$data" --epochs 1 \
  --checkpoint-dir /tmp/recipe-host --progress epochs 2>&1 | tee "$out/train-host.log" | tail -4
echo "== 3b. one epoch with plain steps (ALEXNET_CUDA_GRAPHS=0)"
ALEXNET_CUDA_GRAPHS=0 timeout 120 node dist/cli/main.js train --backend cuda --data "$data" --epochs 1 \
  --checkpoint-dir /tmp/recipe-plain --progress epochs 2>&1 | tee "$out/train-plain.log" | tail -4

echo "== summary"
grep -E "img/s" "$out/bench.log" | head -3
grep -E "epoch|accuracy|time" "$out/train.log" | tail -14
