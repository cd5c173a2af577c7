// Max pooling and adaptive average pooling on the CPU, one (image, channel) plane per work item.
// Max pooling's backward recomputes each window's first maximum from the input rather than keeping
// indices from the forward pass: the op interface stays the same on every backend, and the extra
// read is cheap next to the convolutions around it.
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels.h"

namespace alexnet::cpu {
namespace {

// Index (within the plane) of the first maximum of the window at (oh, ow); NaN wins, as in PyTorch.
inline int64_t window_argmax(const float* plane, int64_t height, int64_t width, const Pool2dGeometry& g, int64_t oh,
                             int64_t ow, float* max_out) {
  const int64_t h0 = oh * g.stride_h - g.pad_h, w0 = ow * g.stride_w - g.pad_w;
  const int64_t h1 = std::min(h0 + g.kernel_h, height), w1 = std::min(w0 + g.kernel_w, width);
  float best = -std::numeric_limits<float>::infinity();
  int64_t best_index = -1;
  for (int64_t h = std::max<int64_t>(h0, 0); h < h1; ++h)
    for (int64_t w = std::max<int64_t>(w0, 0); w < w1; ++w) {
      const float v = plane[h * width + w];
      if (v > best || std::isnan(v) || best_index < 0) {
        best = v;
        best_index = h * width + w;
        if (std::isnan(v)) {
          *max_out = v;
          return best_index;
        }
      }
    }
  *max_out = best;
  return best_index;
}

inline int64_t adaptive_start(int64_t i, int64_t in, int64_t out) { return (i * in) / out; }
inline int64_t adaptive_end(int64_t i, int64_t in, int64_t out) { return ((i + 1) * in + out - 1) / out; }

}  // namespace

void max_pool2d_forward(const Pool2dGeometry& g, const Tensor& x, const Tensor& y) {
  const int64_t planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3), oh = y.dim(2), ow = y.dim(3);
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    const float* in = x.f32() + p * h * w;
    float* out = y.f32() + p * oh * ow;
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        float m;
        window_argmax(in, h, w, g, i, j, &m);
        out[i * ow + j] = m;
      }
  }
}

void max_pool2d_backward(const Pool2dGeometry& g, const Tensor& x, const Tensor& dy, const Tensor& dx) {
  const int64_t planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3), oh = dy.dim(2), ow = dy.dim(3);
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    const float* in = x.f32() + p * h * w;
    const float* grad = dy.f32() + p * oh * ow;
    float* out = dx.f32() + p * h * w;
    std::memset(out, 0, sizeof(float) * static_cast<size_t>(h * w));
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        float m;
        const int64_t at = window_argmax(in, h, w, g, i, j, &m);
        if (at >= 0) out[at] += grad[i * ow + j];
      }
  }
}

void adaptive_avg_pool2d_forward(const Tensor& x, const Tensor& y) {
  const int64_t planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3), oh = y.dim(2), ow = y.dim(3);
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    const float* in = x.f32() + p * h * w;
    float* out = y.f32() + p * oh * ow;
    for (int64_t i = 0; i < oh; ++i) {
      const int64_t h0 = adaptive_start(i, h, oh), h1 = adaptive_end(i, h, oh);
      for (int64_t j = 0; j < ow; ++j) {
        const int64_t w0 = adaptive_start(j, w, ow), w1 = adaptive_end(j, w, ow);
        float sum = 0.0f;
        for (int64_t a = h0; a < h1; ++a)
          for (int64_t b = w0; b < w1; ++b) sum += in[a * w + b];
        out[i * ow + j] = sum / static_cast<float>((h1 - h0) * (w1 - w0));
      }
    }
  }
}

void adaptive_avg_pool2d_backward(const Tensor& dy, const Tensor& dx) {
  const int64_t planes = dx.dim(0) * dx.dim(1), h = dx.dim(2), w = dx.dim(3), oh = dy.dim(2), ow = dy.dim(3);
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    const float* grad = dy.f32() + p * oh * ow;
    float* out = dx.f32() + p * h * w;
    std::memset(out, 0, sizeof(float) * static_cast<size_t>(h * w));
    for (int64_t i = 0; i < oh; ++i) {
      const int64_t h0 = adaptive_start(i, h, oh), h1 = adaptive_end(i, h, oh);
      for (int64_t j = 0; j < ow; ++j) {
        const int64_t w0 = adaptive_start(j, w, ow), w1 = adaptive_end(j, w, ow);
        const float share = grad[i * ow + j] / static_cast<float>((h1 - h0) * (w1 - w0));
        for (int64_t a = h0; a < h1; ++a)
          for (int64_t b = w0; b < w1; ++b) out[a * w + b] += share;
      }
    }
  }
}

}  // namespace alexnet::cpu
