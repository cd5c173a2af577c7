#!/usr/bin/env bash
# Builds the prebuilt binaries, packs the package, and installs the tarball into an empty project
# whose PATH has node and npm but no compiler, cmake or nvcc; there it runs `alexnet info`, trains a
# tiny model and predicts with the CPU build, and checks that the CUDA prebuild loads when pip's CUDA
# libraries are present (no device here: it must say so) and is passed over cleanly when they are not.
# Usage: bash scripts/check-package.sh [CUDA_LIBS_DIR]   (run from the repository, after npm ci)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cuda_libs=${1:-${ALEXNET_CUDA_LIBS:-}}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "-- prebuilds"
npm run --silent prebuilds -- cpu
if [ -n "$cuda_libs" ]; then ALEXNET_CUDA_LIBS="$cuda_libs" npm run --silent prebuilds -- cuda; fi
npm run build:ts --silent

echo "-- npm pack"
tarball=$(npm pack --silent --pack-destination "$work")
node -e '
const fs = require("fs");
const { execFileSync } = require("child_process");
const list = execFileSync("tar", ["-tzvf", process.argv[1]], { encoding: "utf8" }).trim().split("\n");
const size = fs.statSync(process.argv[1]).size;
const files = list.map((l) => l.split(/\s+/)).map((f) => [Number(f[2]), f.slice(5).join(" ")]);
const unpacked = files.reduce((n, [s]) => n + s, 0);
console.log(`tarball ${(size / 2 ** 20).toFixed(1)} MiB, ${files.length} files, ${(unpacked / 2 ** 20).toFixed(1)} MiB unpacked`);
for (const [s, f] of files) if (!f.startsWith("package/dist/") && !f.startsWith("package/native/")) console.log(`  ${(s / 2 ** 10).toFixed(0).padStart(8)} KiB  ${f}`);
const dist = files.filter(([, f]) => f.startsWith("package/dist/")).length;
const native = files.filter(([, f]) => f.startsWith("package/native/")).length;
console.log(`  (and ${dist} files under dist/, ${native} under native/)`);
const leaked = files.filter(([, f]) => /\/(test|bench)\/|fixture/.test(f));
if (leaked.length) { console.error("tests or fixtures in the package:", leaked.map(([, f]) => f)); process.exit(1); }
' "$work/$tarball"

echo "-- install where no compiler is on the PATH"
mkdir -p "$work/bin" "$work/app"
ln -s "$(command -v node)" "$work/bin/node"
ln -s "$(readlink -f "$(command -v npm)")" "$work/bin/npm"
ln -s "$(readlink -f "$(command -v npx)")" "$work/bin/npx"
ln -s "$(command -v sh)" "$work/bin/sh"
# Runs a command with only node, npm, npx and sh on the PATH.
bare() { env PATH="$work/bin" "$@"; }
for tool in cc gcc g++ c++ cmake nvcc make python3; do
  if bare sh -c "command -v $tool" >/dev/null; then echo "unexpected $tool on the bare PATH" >&2; exit 1; fi
done
cd "$work/app"
bare npm init -y >/dev/null
bare npm install --no-audit --no-fund "$work/$tarball"

echo "-- alexnet info (CUDA libraries not given: the CUDA build is passed over)"
env -u ALEXNET_CUDA_LIBS PATH="$work/bin" npx alexnet info > "$work/info.txt"
cat "$work/info.txt"
grep -qi "cpu" "$work/info.txt"

echo "-- train a tiny model and predict with the CPU build"
bare npx alexnet train --backend cpu --width 0.125 --input-size 68 --epochs 1 --train-subset 256 --val-subset 64 \
  --batch-size 32 --checkpoint-dir ck --progress lines
bare npx alexnet predict --backend cpu -c ck --idx /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz --count 3 -k 2

if [ -n "$cuda_libs" ]; then
  echo "-- the CUDA prebuild loads with pip's CUDA libraries and reports that there is no device"
  ALEXNET_CUDA_LIBS="$cuda_libs" bare npx alexnet info --json > "$work/info.json"
  node -e '
  const info = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const cuda = info.backends.cuda;
  console.log(JSON.stringify(cuda));
  if (cuda.available || !cuda.reasons.some((r) => /no usable CUDA device/.test(r))) {
    console.error("expected the CUDA build to load and report that there is no device");
    process.exit(1);
  }
  ' "$work/info.json"
fi
echo "package check passed"
