// Image preprocessing arithmetic shared by the CPU and CUDA builds (the preprocess op): the bilinear
// filter tables of lib/data/transforms/resize.ts, computed the same way in doubles, and the value of
// one output pixel, rounded at the same points as the TypeScript transforms round (each pass stores
// float32). The result is bit for bit what bytes -> imageFromBytesCHW -> resize -> greyToRgb ->
// normalize give in TypeScript (test/data/preprocess.test.ts checks it).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "philox.h"  // ALEXNET_HD

namespace alexnet {

// Double arithmetic without fused multiply-adds (nvcc fuses a * b + c unless told not to), as
// JavaScript computes it.
#if defined(__CUDA_ARCH__)
ALEXNET_HD double mul_rn(double a, double b) { return __dmul_rn(a, b); }
ALEXNET_HD double add_rn(double a, double b) { return __dadd_rn(a, b); }
ALEXNET_HD double sub_rn(double a, double b) { return __dsub_rn(a, b); }
#else
ALEXNET_HD double mul_rn(double a, double b) { return a * b; }
ALEXNET_HD double add_rn(double a, double b) { return a + b; }
ALEXNET_HD double sub_rn(double a, double b) { return a - b; }
#endif

// For each output sample along one axis: its first input sample, its tap count and its weights.
struct ResampleTable {
  int64_t in = 0, out = 0, taps = 0;
  std::vector<int32_t> first, count;
  std::vector<float> weights;  // out * taps, each row padded with zeros
};

// resize.ts's bilinearTable: the triangle filter, widened by the scale when downsampling
// (antialiasing, as torchvision and PIL do).
inline ResampleTable bilinear_table(int64_t in, int64_t out) {
  ResampleTable t;
  t.in = in;
  t.out = out;
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  const double filter_scale = std::max(scale, 1.0);
  const double support = filter_scale;
  t.taps = static_cast<int64_t>(std::ceil(support)) * 2 + 1;
  t.first.assign(static_cast<size_t>(out), 0);
  t.count.assign(static_cast<size_t>(out), 0);
  t.weights.assign(static_cast<size_t>(out * t.taps), 0.0f);
  std::vector<double> w(static_cast<size_t>(t.taps));
  for (int64_t o = 0; o < out; ++o) {
    const double center = (static_cast<double>(o) + 0.5) * scale;
    const int64_t lo = std::max<int64_t>(static_cast<int64_t>(std::trunc(center - support + 0.5)), 0);
    const int64_t hi = std::min<int64_t>(static_cast<int64_t>(std::trunc(center + support + 0.5)), in);
    int64_t n = 0;
    double total = 0;
    for (int64_t i = lo; i < hi; ++i) {
      const double x = std::fabs((static_cast<double>(i) - center + 0.5) / filter_scale);
      const double v = x < 1 ? 1 - x : 0;
      w[static_cast<size_t>(n++)] = v;
      total += v;
    }
    t.first[static_cast<size_t>(o)] = static_cast<int32_t>(lo);
    t.count[static_cast<size_t>(o)] = static_cast<int32_t>(n);
    for (int64_t k = 0; k < n; ++k)
      t.weights[static_cast<size_t>(o * t.taps + k)] =
          total > 0 ? static_cast<float>(w[static_cast<size_t>(k)] / total) : 0.0f;
  }
  return t;
}

// A table as the per-pixel code reads it (host or device pointers).
struct ResampleAxis {
  const int32_t* first;
  const int32_t* count;
  const float* weights;
  int64_t taps;
};

// imageFromBytesCHW: byte / 255 in doubles, stored as float32.
ALEXNET_HD float byte_to_unit(uint8_t b) { return static_cast<float>(static_cast<double>(b) / 255.0); }

// The horizontal pass at input row `r`, output column `ox` (resize.ts: acc += src * w, from 0).
ALEXNET_HD float resample_row(const uint8_t* plane, int64_t width, int64_t r, const ResampleAxis& cols, int64_t ox) {
  const uint8_t* src = plane + r * width + cols.first[ox];
  const float* w = cols.weights + ox * cols.taps;
  const int n = cols.count[ox];
  double acc = 0;
  for (int k = 0; k < n; ++k) acc = add_rn(acc, mul_rn(static_cast<double>(byte_to_unit(src[k])), w[k]));
  return static_cast<float>(acc);
}

// The resized value at (oy, ox) of one plane: the vertical pass over the horizontal pass's rows.
ALEXNET_HD float resample_pixel(const uint8_t* plane, int64_t width, const ResampleAxis& rows, const ResampleAxis& cols,
                                int64_t oy, int64_t ox) {
  const int64_t f = rows.first[oy];
  const int n = rows.count[oy];
  const float* w = rows.weights + oy * rows.taps;
  if (n == 2) {  // resize.ts's fused path for two taps: one rounding
    const double a = mul_rn(resample_row(plane, width, f, cols, ox), w[0]);
    const double b = mul_rn(resample_row(plane, width, f + 1, cols, ox), w[1]);
    return static_cast<float>(add_rn(a, b));
  }
  float out = static_cast<float>(mul_rn(resample_row(plane, width, f, cols, ox), w[0]));
  for (int k = 1; k < n; ++k)
    out = static_cast<float>(add_rn(out, mul_rn(resample_row(plane, width, f + k, cols, ox), w[k])));
  return out;
}

// normalize.ts: (x - mean) * (1 / std), in doubles.
ALEXNET_HD float normalize_value(float x, double mean, double inv_std) {
  return static_cast<float>(mul_rn(sub_rn(x, mean), inv_std));
}

}  // namespace alexnet
