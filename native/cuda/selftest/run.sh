#!/bin/bash
# Builds native/cuda/selftest/selftest.cc against one backend, without Node.js or CMake, and runs it.
#   bash native/cuda/selftest/run.sh cuda [--quick]   on a GPU machine (nvcc, cuDNN 9, cuBLAS 13)
#   bash native/cuda/selftest/run.sh cpu --quick      anywhere: checks the checks against the CPU build
# Environment: ARCH (default 90), CUDA_LIBS (pip's --target folder for cuDNN/cuBLAS wheels, if not
# installed system-wide), BUILD_DIR (default /tmp/alexnet_selftest_<flavour>).
set -euo pipefail
flavour=${1:-cuda}
shift || true
root=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$root"
build=${BUILD_DIR:-/tmp/alexnet_selftest_$flavour}
mkdir -p "$build"
common_flags=(-std=c++17 -Inative)
host_flags=(-ffp-contract=off)  # the references must round as written

if [ "$flavour" = cpu ]; then
  g++ "${common_flags[@]}" -O2 "${host_flags[@]}" -fopenmp native/cuda/selftest/selftest.cc native/core/*.cc \
    native/cpu/*.cc -ldnnl -o "$build/selftest"
  exec "$build/selftest" "$@"
fi

export PATH=/usr/local/cuda/bin:$PATH
arch=${ARCH:-90}
inc=() libs=()
if [ -n "${CUDA_LIBS:-}" ]; then
  inc=(-I"$CUDA_LIBS/nvidia/cudnn/include" -I"$CUDA_LIBS/nvidia/cu13/include")
  libs=(-L"$CUDA_LIBS/nvidia/cudnn/lib" -L"$CUDA_LIBS/nvidia/cu13/lib"
        -Xlinker -rpath -Xlinker "$CUDA_LIBS/nvidia/cudnn/lib" -Xlinker -rpath -Xlinker "$CUDA_LIBS/nvidia/cu13/lib")
  # pip's wheels ship only versioned sonames
  ln -sf "$CUDA_LIBS/nvidia/cudnn/lib/libcudnn.so.9" "$build/libcudnn.so"
  ln -sf "$CUDA_LIBS/nvidia/cu13/lib/libcublas.so.13" "$build/libcublas.so"
  ln -sf "$CUDA_LIBS/nvidia/cu13/lib/libcublasLt.so.13" "$build/libcublasLt.so"
  libs+=(-L"$build")
fi
pids=()
objs=()
for src in native/cuda/*.cu native/cuda/selftest/fault.cu; do
  obj="$build/$(basename "$src").o"
  objs+=("$obj")
  nvcc "${common_flags[@]}" "${inc[@]}" -O3 -arch=sm_$arch -c "$src" -o "$obj" & pids+=($!)
done
for src in native/cuda/*.cc native/core/*.cc native/cuda/selftest/selftest.cc; do
  obj="$build/$(basename "$src").o"
  objs+=("$obj")
  g++ "${common_flags[@]}" -O2 -DALEXNET_SELFTEST_CUDA "${host_flags[@]}" -I/usr/local/cuda/include "${inc[@]}" -Wall -Wextra \
    -Wno-unused-parameter -c "$src" -o "$obj" & pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
[ $status = 0 ] || { echo "compile failed"; exit 1; }
nvcc -arch=sm_$arch "${objs[@]}" "${libs[@]}" -lcudnn -lcublasLt -lcublas -o "$build/selftest"
echo "built $build/selftest"
exec "$build/selftest" "$@"
