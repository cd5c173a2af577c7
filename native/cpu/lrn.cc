// Cross-channel local response normalization on the CPU (alpha in PyTorch's convention, see
// op_params.h). Work is split over images and blocks of pixels; within a block the channel
// window sums run over contiguous rows of pixels, so the inner loops vectorize.
#include <cmath>
#include <vector>

#include "kernels.h"

namespace alexnet::cpu {
namespace {

constexpr int64_t kBlock = 256;  // pixels per work item: a block's C x kBlock scales fit in L2

// s = s^-beta over n values, with the common beta = 3/4 done as two square roots (as exact, and
// vectorizable); the choice is made once, outside the loop, so that the loop vectorizes.
void to_neg_beta_power(float* s, int64_t n, float beta) {
  if (beta == 0.75f) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) s[i] = 1.0f / (std::sqrt(s[i]) * std::sqrt(std::sqrt(s[i])));
    return;
  }
  for (int64_t i = 0; i < n; ++i) s[i] = std::exp(-beta * std::log(s[i]));
}

// scale[c][p] = k + alpha/size * sum over the channel window of x^2, for the pixels p of one block.
void window_scales(const float* x, int64_t channels, int64_t plane, int64_t width, const LrnParams& p, float* scale) {
  const int half = p.size / 2;
  const float coeff = static_cast<float>(p.alpha / p.size);
  for (int64_t c = 0; c < channels; ++c) {
    float* s = scale + c * width;
    for (int64_t i = 0; i < width; ++i) s[i] = 0.0f;
    const int64_t lo = std::max<int64_t>(0, c - half), hi = std::min<int64_t>(channels - 1, c + half);
    for (int64_t j = lo; j <= hi; ++j) {
      const float* xj = x + j * plane;
#pragma omp simd
      for (int64_t i = 0; i < width; ++i) s[i] += xj[i] * xj[i];
    }
#pragma omp simd
    for (int64_t i = 0; i < width; ++i) s[i] = static_cast<float>(p.k) + coeff * s[i];
  }
}

template <typename Body>
void for_each_block(const Tensor& x, Body body) {
  const int64_t n = x.dim(0), plane = x.dim(2) * x.dim(3);
  const int64_t blocks = (plane + kBlock - 1) / kBlock;
#pragma omp parallel for collapse(2) schedule(static) if (n * x.dim(1) * plane > kParallelGrain)
  for (int64_t img = 0; img < n; ++img)
    for (int64_t blk = 0; blk < blocks; ++blk) {
      const int64_t start = blk * kBlock, width = std::min(kBlock, plane - start);
      body(img * x.dim(1) * plane + start, width);
    }
}

}  // namespace

void lrn_forward(const LrnParams& p, const Tensor& x, const Tensor& y) {
  const int64_t channels = x.dim(1), plane = x.dim(2) * x.dim(3);
  const float beta = static_cast<float>(p.beta);
  for_each_block(x, [&](int64_t base, int64_t width) {
    thread_local std::vector<float> scale;
    scale.resize(static_cast<size_t>(channels * kBlock));
    const float* xb = x.f32() + base;
    float* yb = y.f32() + base;
    window_scales(xb, channels, plane, width, p, scale.data());
    to_neg_beta_power(scale.data(), channels * width, beta);
    for (int64_t c = 0; c < channels; ++c) {
      const float* s = scale.data() + c * width;
      const float* xc = xb + c * plane;
      float* yc = yb + c * plane;
#pragma omp simd
      for (int64_t i = 0; i < width; ++i) yc[i] = xc[i] * s[i];
    }
  });
}

// dx_c = dy_c s_c^-beta - 2 alpha beta / size * x_c * sum_{j in window(c)} dy_j y_j / s_j
// (odd windows are symmetric, so "j's window holds c" is "c's window holds j").
void lrn_backward(const LrnParams& p, const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor& dx) {
  const int64_t channels = x.dim(1), plane = x.dim(2) * x.dim(3);
  const float beta = static_cast<float>(p.beta);
  const float coeff = static_cast<float>(2.0 * p.alpha * p.beta / p.size);
  const int half = p.size / 2;
  for_each_block(x, [&](int64_t base, int64_t width) {
    thread_local std::vector<float> scale, ratio, window_sum;
    scale.resize(static_cast<size_t>(channels * kBlock));
    ratio.resize(static_cast<size_t>(channels * kBlock));
    window_sum.resize(static_cast<size_t>(kBlock));
    float* sum = window_sum.data();
    const float* xb = x.f32() + base;
    const float* yb = y.f32() + base;
    const float* gb = dy.f32() + base;
    float* out = dx.f32() + base;
    window_scales(xb, channels, plane, width, p, scale.data());
    for (int64_t c = 0; c < channels; ++c) {
      const float* s = scale.data() + c * width;
      float* r = ratio.data() + c * width;
      const float* yc = yb + c * plane;
      const float* gc = gb + c * plane;
#pragma omp simd
      for (int64_t i = 0; i < width; ++i) r[i] = gc[i] * yc[i] / s[i];
    }
    to_neg_beta_power(scale.data(), channels * width, beta);  // the scales are needed as s^-beta from here on
    for (int64_t c = 0; c < channels; ++c) {
      const float* s = scale.data() + c * width;
      const float* xc = xb + c * plane;
      const float* gc = gb + c * plane;
      float* oc = out + c * plane;
      const int64_t lo = std::max<int64_t>(0, c - half), hi = std::min<int64_t>(channels - 1, c + half);
      // The window's sum of ratios, a row at a time (contiguous, so it vectorizes), j in increasing order.
      for (int64_t i = 0; i < width; ++i) sum[i] = 0.0f;
      for (int64_t j = lo; j <= hi; ++j) {
        const float* rj = ratio.data() + j * width;
#pragma omp simd
        for (int64_t i = 0; i < width; ++i) sum[i] += rj[i];
      }
#pragma omp simd
      for (int64_t i = 0; i < width; ++i) oc[i] = gc[i] * s[i] - coeff * xc[i] * sum[i];
    }
  });
}

}  // namespace alexnet::cpu
