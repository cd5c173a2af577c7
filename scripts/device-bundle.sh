#!/usr/bin/env bash
# Fills .device/ for a GPU session: shared/device/pack.sh (node, npm, node_modules, the latter
# repacked without what the session does not use, to fit one call) plus the CPU build's oneDNN,
# which the GPU machine's image does not have: its runtime (lib/), its headers (include/, so that
# the addons build there from source) and this machine's libgomp (gomp/, used there only if the
# image lacks one). Run it after `npm ci` in the checkout the device tool sends (the main one:
# pack.sh also writes .git/info/exclude, which a worktree does not have); shared/ is looked for
# beside the main checkout, or set ALEXNET_SHARED_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${ALEXNET_SHARED_DIR:-}
if [ -z "$shared" ]; then
  # ../shared beside the main checkout, also when this is a worktree of it.
  common=$(cd "$(git rev-parse --git-common-dir)" && pwd)
  for candidate in ../shared "$(dirname "$common")/../shared"; do
    if [ -f "$candidate/device/pack.sh" ]; then shared=$candidate; break; fi
  done
fi
[ -n "$shared" ] && [ -f "$shared/device/pack.sh" ] || {
  echo "device-bundle.sh: no shared/device/pack.sh found (set ALEXNET_SHARED_DIR)" >&2
  exit 1
}
bash "$shared/device/pack.sh"

# pack.sh packs every development dependency, and onnxruntime-node alone (288 MB) makes that over
# 100 MB compressed (measured 2026-11-29: 121 MB), beyond the 64 MiB one call carries. The GPU
# session uses none of these: ONNX export's runtime, the linters and formatters, typedoc, and
# sharp's image binaries (lib/ loads sharp only to decode images or draw curves, which the GPU
# suite and the benchmarks do not). Without them it is about 18 MB.
echo "repacking node_modules without what the GPU session does not use (a few minutes)..."
tar --exclude=node_modules/onnxruntime-node --exclude=node_modules/prettier --exclude=node_modules/@shikijs \
  --exclude=node_modules/typedoc --exclude='node_modules/*eslint*' --exclude='node_modules/@eslint*' \
  --exclude=node_modules/@img -cf - node_modules | xz -T0 -9 > .device/node_modules.tar.xz

# PyTorch's per-convolution script travels as the tracked copy in bench/; say when it has drifted.
if ! cmp -s "$shared/device/torch_conv_layers.py" bench/torch_conv_layers.py; then
  echo "note: bench/torch_conv_layers.py differs from $shared/device/torch_conv_layers.py (the copy that runs there)"
fi

stage=$(mktemp -d)
mkdir -p "$stage/lib" "$stage/gomp" "$stage/include"
cp "$(readlink -f /usr/lib/x86_64-linux-gnu/libdnnl.so.2)" "$stage/lib/libdnnl.so.2"
ln -s libdnnl.so.2 "$stage/lib/libdnnl.so"
cp "$(readlink -f /usr/lib/x86_64-linux-gnu/libOpenCL.so.1)" "$stage/lib/libOpenCL.so.1"
cp "$(readlink -f /usr/lib/x86_64-linux-gnu/libgomp.so.1)" "$stage/gomp/libgomp.so.1"
# The headers libdnnl-dev installs (dnnl*.h* and oneapi/dnnl/).
cp /usr/include/dnnl*.h /usr/include/dnnl*.hpp "$stage/include/"
cp -r /usr/include/oneapi "$stage/include/"
tar -C "$stage" -cf - . | xz -T0 -6 > .device/onednn.tar.xz
rm -rf "$stage"
du -sh .device/onednn.tar.xz
# The GPU machine gets a copy of the tree without .git: record the commit its reports ran on.
printf '{"commit":"%s","dirty":%s}\n' "$(git rev-parse HEAD)" \
  "$([ -n "$(git status --porcelain --untracked-files=no)" ] && echo true || echo false)" > .device/source.json
cat .device/source.json
total=$(( $(du -sb .device | cut -f1) + $(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1) ))
echo "what travels (tracked files and .device): $(( total / 1048576 )) MiB of the 64 MiB a call may carry"
