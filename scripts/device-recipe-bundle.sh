#!/usr/bin/env bash
# Fills .device/ for the d2l recipe on a GPU machine (scripts/device-recipe.sh): the runtime bundle
# of ../shared/device/pack.sh (node, the production dependencies) and Fashion-MNIST recompressed
# with xz (25 MiB instead of Debian's 30 MiB of gzip: the difference decides whether one call's
# 64 MiB holds everything), then prints what will travel against that limit.
#
#   npm ci && npm run build
#   bash scripts/device-recipe-bundle.sh [DATA_DIR]     # default /usr/share/datasets/fashion-mnist
#
# Then run there with carry [".device", "dist", "addons/cuda/build"] (see bench/README.md):
#   bash .device/boot.sh bash scripts/device-recipe.sh
# The CPU build and its oneDNN do not travel: the CUDA build loads without them (lib/backend/load.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-/usr/share/datasets/fashion-mnist}
shared=${SHARED_DIR:-../shared}
[ -d dist ] || { echo "no dist/: run npm run build first" >&2; exit 1; }
[ -f addons/cuda/build/Release/alexnet_cuda.node ] || { echo "no CUDA build in addons/cuda/build: build it first" >&2; exit 1; }
bash "$shared/device/pack.sh" --runtime
if [ ! -f .device/fashion-mnist.tar.xz ] || [ "$data" -nt .device/fashion-mnist.tar.xz ]; then
  echo "recompressing $data with xz (about a minute and a half)..."
  stage=$(mktemp -d)
  for f in "$data"/*-ubyte.gz; do gunzip -c "$f" > "$stage/$(basename "$f" .gz)"; done
  tar -C "$stage" -cf - . | xz -T0 -9e > .device/fashion-mnist.tar.xz
  rm -rf "$stage"
fi
printf '{"commit":"%s","dirty":%s}\n' "$(git rev-parse HEAD)" \
  "$([ -n "$(git status --porcelain --untracked-files=no)" ] && echo true || echo false)" > .device/source.json
mib() { echo $(( ($1 + 1048575) / 1048576 )); }
tracked=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
untracked=$(git ls-files -z --others --exclude-standard | xargs -0 -r du -cb 2>/dev/null | tail -1 | cut -f1)
device=$(du -sb .device | cut -f1)
dist=$(du -sb dist | cut -f1)
cuda=$(du -sb addons/cuda/build | cut -f1)
total=$(( tracked + ${untracked:-0} + device + dist + cuda ))
echo "what travels: tracked $(mib "$tracked") MiB, untracked $(mib "${untracked:-0}") MiB, .device $(mib "$device") MiB," \
  "dist $(mib "$dist") MiB, addons/cuda/build $(mib "$cuda") MiB: $(mib "$total") MiB of 64"
du -sh .device/* | sed 's/^/  /'
if [ "$total" -gt $(( 64 * 1048576 )) ]; then
  echo "over the 64 MiB limit of one call" >&2
  exit 1
fi
