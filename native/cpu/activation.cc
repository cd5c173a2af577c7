// ReLU and softmax on the CPU.
#include <cmath>

#include "kernels.h"

namespace alexnet::cpu {

// y = x <= 0 ? 0 : x, which lets NaN through as PyTorch's relu does.
void relu_forward(const Tensor& x, const Tensor& y) {
  const int64_t n = x.numel();
  const float* in = x.f32();
  float* out = y.f32();
#pragma omp parallel for simd schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) out[i] = in[i] <= 0.0f ? 0.0f : in[i];
}

// dx = y <= 0 ? 0 : dy (PyTorch's threshold_backward on the output).
void relu_backward(const Tensor& y, const Tensor& dy, const Tensor& dx) {
  const int64_t n = y.numel();
  const float* out = y.f32();
  const float* grad = dy.f32();
  float* result = dx.f32();
#pragma omp parallel for simd schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) {
    const float g = grad[i];  // read unconditionally, so that the select vectorizes
    result[i] = out[i] <= 0.0f ? 0.0f : g;
  }
}

void softmax_forward(const Tensor& x, const Tensor& y) {
  const int64_t rows = x.dim(0), cols = x.dim(1);
#pragma omp parallel for schedule(static) if (rows * cols > kParallelGrain)
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = x.f32() + r * cols;
    float* out = y.f32() + r * cols;
    float m = -INFINITY;
    for (int64_t c = 0; c < cols; ++c) m = std::fmax(m, in[c]);
    double sum = 0.0;
    for (int64_t c = 0; c < cols; ++c) {
      out[c] = std::exp(in[c] - m);
      sum += out[c];
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t c = 0; c < cols; ++c) out[c] *= inv;
  }
}

}  // namespace alexnet::cpu
