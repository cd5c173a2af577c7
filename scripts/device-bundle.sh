#!/usr/bin/env bash
# Fills .device/ for a GPU session: ../shared/device/pack.sh (node, npm, node_modules) plus the
# CPU build's oneDNN runtime, which the GPU machine's image does not have.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ../shared/device/pack.sh
dnnl=$(readlink -f /usr/lib/x86_64-linux-gnu/libdnnl.so.2)
opencl=$(readlink -f /usr/lib/x86_64-linux-gnu/libOpenCL.so.1)
gomp=$(readlink -f /usr/lib/x86_64-linux-gnu/libgomp.so.1)
stage=$(mktemp -d)
cp "$dnnl" "$stage/libdnnl.so.2"
cp "$opencl" "$stage/libOpenCL.so.1"
cp "$gomp" "$stage/libgomp.so.1"
tar -C "$stage" -cf - . | xz -T0 -6 > .device/onednn.tar.xz
rm -rf "$stage"
du -sh .device/onednn.tar.xz
# The GPU machine gets a copy of the tree without .git: record the commit its reports ran on.
printf '{"commit":"%s","dirty":%s}\n' "$(git rev-parse HEAD)" \
  "$([ -n "$(git status --porcelain --untracked-files=no)" ] && echo true || echo false)" > .device/source.json
cat .device/source.json
