// Inverted dropout on the CPU with the shared Philox stream (core/philox.h): the same seed and
// offset give the same mask here and on the GPU. Seed and offset are read from the step scalars
// when the op runs (so a recorded step draws a fresh mask at every launch).
#include "core/philox.h"
#include "kernels.h"

namespace alexnet::cpu {

void dropout_forward(float p, const Tensor& scalars, const Tensor& x, const Tensor& y, const Tensor& mask) {
  const DropoutScalars s = *reinterpret_cast<const DropoutScalars*>(scalars.data());
  const uint64_t seed = s.seed, offset = s.offset;
  const int64_t n = x.numel();
  const float scale = 1.0f / (1.0f - p);
  const float* in = x.f32();
  float* out = y.f32();
  float* m = mask.f32();
#pragma omp parallel for schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) {
    const bool keep = bits_to_unit_float(philox_bits(seed, offset, static_cast<uint64_t>(i))) >= p;
    m[i] = keep ? scale : 0.0f;
    out[i] = in[i] * m[i];
  }
}

}  // namespace alexnet::cpu
