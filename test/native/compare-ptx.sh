#!/usr/bin/env bash
# Compares the CUDA build's kernels between a git revision and the working tree, without a GPU:
# every native/cuda/*.cu of both is compiled to PTX (sm_90) and each kernel's PTX compared, with
# branch labels and anonymous-namespace names (which differ by file) normalized. A refactoring
# that moves kernels between files must leave every kernel the same.
#   bash test/native/compare-ptx.sh <revision>      e.g. main
# Needs nvcc and cuDNN's and cuBLAS's headers (ALEXNET_CUDA_LIBS, as for the build).
set -euo pipefail
rev=${1:?usage: compare-ptx.sh <revision>}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/old" "$work/new"
git -C "$root" archive "$rev" native | tar -x -C "$work/old"
cp -r "$root/native" "$work/new/"
inc=()
if [ -n "${ALEXNET_CUDA_LIBS:-}" ]; then
  inc=(-I"$ALEXNET_CUDA_LIBS/nvidia/cudnn/include" -I"$ALEXNET_CUDA_LIBS/nvidia/cu13/include")
fi
for side in old new; do
  for src in "$work/$side"/native/cuda/*.cu; do
    nvcc -std=c++17 -O3 -arch=sm_90 -I"$work/$side/native" "${inc[@]}" --ptx "$src" \
      -o "$work/$side/$(basename "$src" .cu).ptx"
  done
done
python3 - "$work" <<'PY'
import glob, re, sys
work = sys.argv[1]
def kernels(side):
    out = {}
    for f in glob.glob(f'{work}/{side}/*.ptx'):
        for part in re.split(r'\n(?=(?:\.visible )?\.entry |\.func |\.global |// \.globl)', open(f).read()):
            m = re.match(r'(?:\.visible )?\.entry (\S+)\(', part)
            if not m:
                continue
            norm = lambda t: re.sub(r'\d+_GLOBAL__N__[0-9a-f]+_\d+_\w+?_cu_[0-9a-f]{8}\d+', 'ANON::', re.sub(r'\$L__BB\d+_', '$L__BB_', t))
            out[norm(m.group(1))] = (norm(part).rstrip(), f.rsplit('/', 1)[1])
    return out
old, new = kernels('old'), kernels('new')
bad = 0
for name in sorted(set(old) | set(new)):
    if name not in new: print(f'gone      {name}'); bad += 1
    elif name not in old: print(f'new       {name}')
    elif old[name][0] != new[name][0]: print(f'DIFFERENT {name}'); bad += 1
    else: print(f'same      {name} ({old[name][1]} -> {new[name][1]})')
print(f'{len(set(old) & set(new))} kernels compared, {bad} differ or are gone')
sys.exit(1 if bad else 0)
PY
