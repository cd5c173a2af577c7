// Image bytes to a model's input on the CPU: core/resample.h's arithmetic for every output pixel,
// which gives the TypeScript transforms' bits (compiled without fused multiply-adds, CMakeLists.txt).
#include "core/resample.h"
#include "kernels.h"

namespace alexnet::cpu {

void preprocess(const PreprocessParams& p, const Tensor& x, const Tensor& y) {
  const int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  const int64_t oc = y.dim(1), oh = y.dim(2), ow = y.dim(3);
  const bool resize = oh != h || ow != w;  // resize.ts leaves an image of the target size alone
  ResampleTable rows, cols;
  if (resize) {
    rows = bilinear_table(h, oh);
    cols = bilinear_table(w, ow);
  }
  const ResampleAxis row_axis{rows.first.data(), rows.count.data(), rows.weights.data(), rows.taps};
  const ResampleAxis col_axis{cols.first.data(), cols.count.data(), cols.weights.data(), cols.taps};
  const uint8_t* in = x.u8();
  float* out = y.f32();
  const int64_t planes = n * oc, plane = oh * ow;
#pragma omp parallel for schedule(static) if (planes * plane > kParallelGrain)
  for (int64_t q = 0; q < planes; ++q) {
    const int64_t image = q / oc, channel = q % oc;
    const int64_t source = c == 1 ? 0 : channel;  // grey goes to every output channel
    const uint8_t* src = in + (image * c + source) * h * w;
    float* dst = out + q * plane;
    for (int64_t oy = 0; oy < oh; ++oy) {
      for (int64_t ox = 0; ox < ow; ++ox) {
        float v = resize ? resample_pixel(src, w, row_axis, col_axis, oy, ox) : byte_to_unit(src[oy * w + ox]);
        if (p.normalize) v = normalize_value(v, p.mean[channel], p.inv_std[channel]);
        dst[oy * ow + ox] = v;
      }
    }
  }
}

}  // namespace alexnet::cpu
