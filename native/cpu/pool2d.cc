// Max pooling and adaptive average pooling on the CPU, one (image, channel) plane per work item.
// Max pooling's forward reduces each window's rows first (a vectorized pass over whole input rows),
// then across the window's columns. Its backward does not keep indices from the forward pass (the
// op interface stays the same on every backend): it finds each window's first element equal to the
// forward's output, which is the first maximum (PyTorch's choice on ties), and adds the gradient there.
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels.h"

namespace alexnet::cpu {
namespace {

// The larger of a window's running maximum and v; a NaN, once in, stays (PyTorch propagates NaN).
inline float max_nan(float m, float v) { return (v > m || v != v) ? v : m; }

// Rows [start, end) of the window at output row i, clipped to the input (padding never wins).
struct Span {
  int64_t start, end;
};
inline Span window(int64_t i, int64_t stride, int64_t pad, int64_t kernel, int64_t size) {
  const int64_t first = i * stride - pad;
  return {std::max<int64_t>(first, 0), std::min(first + kernel, size)};
}

// The first element of the window (rows, then columns) equal to its maximum `target`, as an index
// into the plane; for a NaN maximum, the first NaN. An all -inf window matches its first element,
// as the forward pass chose. -1 only for an empty window.
inline int64_t first_equal(const float* plane, int64_t width, Span rows, Span cols, float target) {
  const bool nan = target != target;
  for (int64_t a = rows.start; a < rows.end; ++a) {
    const float* row = plane + a * width;
    for (int64_t c = cols.start; c < cols.end; ++c)
      if (row[c] == target || (nan && row[c] != row[c])) return a * width + c;
  }
  return -1;
}

inline int64_t adaptive_start(int64_t i, int64_t in, int64_t out) { return (i * in) / out; }
inline int64_t adaptive_end(int64_t i, int64_t in, int64_t out) { return ((i + 1) * in + out - 1) / out; }

}  // namespace

void max_pool2d_forward(const Pool2dGeometry& g, const Tensor& x, const Tensor& y) {
  const int64_t planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3), oh = y.dim(2), ow = y.dim(3);
#pragma omp parallel if (planes * h * w > kParallelGrain)
  {
    std::vector<float> rows(static_cast<size_t>(w));  // the window's rows reduced to one
    float* r = rows.data();
#pragma omp for schedule(static)
    for (int64_t p = 0; p < planes; ++p) {
      const float* in = x.f32() + p * h * w;
      float* out = y.f32() + p * oh * ow;
      for (int64_t i = 0; i < oh; ++i) {
        const Span hs = window(i, g.stride_h, g.pad_h, g.kernel_h, h);
        if (hs.start >= hs.end) {  // unreachable with padding <= kernel / 2, kept for safety
          for (int64_t j = 0; j < ow; ++j) out[i * ow + j] = -std::numeric_limits<float>::infinity();
          continue;
        }
        std::memcpy(r, in + hs.start * w, sizeof(float) * static_cast<size_t>(w));
        for (int64_t a = hs.start + 1; a < hs.end; ++a) {
          const float* row = in + a * w;
#pragma omp simd
          for (int64_t c = 0; c < w; ++c) r[c] = max_nan(r[c], row[c]);
        }
        for (int64_t j = 0; j < ow; ++j) {
          const Span ws = window(j, g.stride_w, g.pad_w, g.kernel_w, w);
          float m = ws.start < ws.end ? r[ws.start] : -std::numeric_limits<float>::infinity();
          for (int64_t c = ws.start + 1; c < ws.end; ++c) m = max_nan(m, r[c]);
          out[i * ow + j] = m;
        }
      }
    }
  }
}

void max_pool2d_backward(const Pool2dGeometry& g, const Tensor& x, const Tensor& y, const Tensor& dy,
                         const Tensor& dx) {
  const int64_t planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3), oh = dy.dim(2), ow = dy.dim(3);
#pragma omp parallel for schedule(static) if (planes * h * w > kParallelGrain)
  for (int64_t p = 0; p < planes; ++p) {
    const float* in = x.f32() + p * h * w;
    const float* max = y.f32() + p * oh * ow;
    const float* grad = dy.f32() + p * oh * ow;
    float* out = dx.f32() + p * h * w;
    std::memset(out, 0, sizeof(float) * static_cast<size_t>(h * w));
    for (int64_t i = 0; i < oh; ++i) {
      const Span hs = window(i, g.stride_h, g.pad_h, g.kernel_h, h);
      for (int64_t j = 0; j < ow; ++j) {
        const Span ws = window(j, g.stride_w, g.pad_w, g.kernel_w, w);
        const int64_t at = first_equal(in, w, hs, ws, max[i * ow + j]);
        if (at >= 0) out[at] += grad[i * ow + j];
      }
    }
  }
}

void adaptive_avg_pool2d_forward(const Tensor& x, const Tensor& y) {
  const int64_t planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3), oh = y.dim(2), ow = y.dim(3);
#pragma omp parallel for schedule(static) if (planes * h * w > kParallelGrain)
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
#pragma omp parallel for schedule(static) if (planes * h * w > kParallelGrain)
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
