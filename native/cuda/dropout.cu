// Inverted dropout with the shared Philox stream (core/philox.h): element i draws the 32 bits at
// position offset + i of the seed's stream, whatever the thread that handles it, so the mask is
// bit-identical to the CPU build's (native/cpu/dropout.cc) for the same seed and offset. Seed and
// offset are read from the step scalars in device memory when the kernel runs, so a captured step
// draws a fresh mask at every launch (the step advances the offset after it: advance_counter).
#include "check.h"
#include "core/philox.h"
#include "device_utils.cuh"
#include "kernels.h"

namespace alexnet::cuda {
namespace {

__global__ void dropout_forward_kernel(float p, float scale, const DropoutScalars* scalars, const float* x, float* y,
                                       float* mask, int64_t n) {
  const uint64_t seed = scalars->seed, offset = scalars->offset;
  for (int64_t i = global_thread(); i < n; i += grid_stride()) {
    const bool keep = bits_to_unit_float(philox_bits(seed, offset, static_cast<uint64_t>(i))) >= p;
    const float m = keep ? scale : 0.0f;
    mask[i] = m;
    y[i] = __fmul_rn(x[i], m);
  }
}

}  // namespace

void launch_dropout_forward(cudaStream_t stream, float p, float scale, const DropoutScalars* scalars, const float* x,
                            float* y, float* mask, int64_t n) {
  if (n <= 0) return;
  dropout_forward_kernel<<<grid_for(n), kThreads, 0, stream>>>(p, scale, scalars, x, y, mask, n);
  check_launch("dropout_forward_kernel");
}

}  // namespace alexnet::cuda
