// Image bytes to a model's input on the GPU: one thread per output pixel runs core/resample.h's
// arithmetic (double precision, no fused multiply-adds), which gives the TypeScript transforms'
// bits, as the CPU build does. The filter tables live in device memory (PreprocessEngine, in
// backend_cuda.cc, uploads them once per size pair).
//
// Never run on a GPU so far (2026-11-29): test/gpu/preprocess.test.ts compares it with the CPU build.
#include "check.h"
#include "device_utils.cuh"
#include "kernels.h"

namespace alexnet::cuda {
namespace {

struct PreprocessShape {
  int64_t n, c, h, w, oc, oh, ow;
};

__global__ void preprocess_kernel(PreprocessParams p, const uint8_t* x, float* y, PreprocessShape s, bool resize,
                                  ResampleAxis rows, ResampleAxis cols) {
  const int64_t total = s.n * s.oc * s.oh * s.ow;
  for (int64_t i = global_thread(); i < total; i += grid_stride()) {
    const int64_t ox = i % s.ow, oy = (i / s.ow) % s.oh, q = i / (s.ow * s.oh);
    const int64_t image = q / s.oc, channel = q % s.oc;
    const int64_t source = s.c == 1 ? 0 : channel;
    const uint8_t* plane = x + (image * s.c + source) * s.h * s.w;
    float v = resize ? resample_pixel(plane, s.w, rows, cols, oy, ox) : byte_to_unit(plane[oy * s.w + ox]);
    if (p.normalize) v = normalize_value(v, p.mean[channel], p.inv_std[channel]);
    y[i] = v;
  }
}

}  // namespace

void launch_preprocess(cudaStream_t stream, const PreprocessParams& p, const uint8_t* x, int64_t n, int64_t c,
                       int64_t h, int64_t w, float* y, int64_t oc, int64_t oh, int64_t ow, bool resize,
                       const ResampleAxis& rows, const ResampleAxis& cols) {
  const int64_t total = n * oc * oh * ow;
  if (total <= 0) return;
  preprocess_kernel<<<grid_for(total), kThreads, 0, stream>>>(p, x, y, PreprocessShape{n, c, h, w, oc, oh, ow}, resize,
                                                              rows, cols);
  check_launch("preprocess_kernel");
}

}  // namespace alexnet::cuda
