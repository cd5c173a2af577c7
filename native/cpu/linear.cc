// Fully connected layers on the CPU: the three GEMMs through oneDNN's sgemm (row-major, threaded,
// JIT-compiled for the machine's vector width), bias and ReLU in a single pass over the output.
#include <dnnl.h>

#include <vector>

#include "core/errors.h"
#include "core/shapes.h"
#include "kernels.h"

namespace alexnet::cpu {
namespace {

// Up to this batch the forward pass computes y^T (see linear_forward); measured with oneDNN 2.6's
// sgemm on AVX-512: 1.7x faster at batch 8 to 32, even at 128, slightly slower from 256.
constexpr int64_t kTransposedForwardMaxBatch = 128;

void sgemm(char transa, char transb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
           int64_t ldb, float* c, int64_t ldc) {
  dnnl_status_t status = dnnl_sgemm(transa, transb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
  if (status != dnnl_success) throw BackendError("oneDNN dnnl_sgemm failed with status " + std::to_string(status));
}

}  // namespace

void linear_forward(const Tensor& x, const Tensor& w, const OptTensor& b, const Tensor& y, bool fuse_relu) {
  const int64_t n = x.dim(0), in = x.dim(1), out = w.dim(0);
  if (n == 0) return;
  const float* bias = b ? b->f32() : nullptr;
  float* yp = y.f32();
  if (n > 1 && n <= kTransposedForwardMaxBatch) {
    // y^T[out, n] = w[out, in] . x[n, in]^T: with the weight as the untransposed operand, sgemm
    // streams the large matrix once without repacking it (about 1.7x faster at batch 32 than
    // x . w^T), then the small result is transposed into y with bias and ReLU on the way.
    thread_local std::vector<float> transposed;  // only the backend's worker thread runs this
    transposed.resize(static_cast<size_t>(n * out));
    float* yt = transposed.data();
    sgemm('N', 'T', out, n, in, w.f32(), in, x.f32(), in, yt, n);
#pragma omp parallel for schedule(static) if (n * out > kParallelGrain)
    for (int64_t row = 0; row < n; ++row) {
      float* r = yp + row * out;
      for (int64_t o = 0; o < out; ++o) {
        const float v = yt[o * n + row] + (bias ? bias[o] : 0.0f);
        r[o] = (fuse_relu && v <= 0.0f) ? 0.0f : v;
      }
    }
    return;
  }
  // y[n, out] = x[n, in] . w[out, in]^T (for a single row both forms are the same matrix-vector product)
  sgemm('N', 'T', n, out, in, x.f32(), in, w.f32(), in, yp, out);
  if (!b && !fuse_relu) return;
#pragma omp parallel for schedule(static) if (n * out > kParallelGrain)
  for (int64_t row = 0; row < n; ++row) {
    float* r = yp + row * out;
    for (int64_t o = 0; o < out; ++o) {
      float v = r[o] + (bias ? bias[o] : 0.0f);
      r[o] = (fuse_relu && v <= 0.0f) ? 0.0f : v;
    }
  }
}

void linear_backward_data(const Tensor& dy, const Tensor& w, const Tensor& dx) {
  const int64_t n = dy.dim(0), out = w.dim(0), in = w.dim(1);
  if (n == 0) return;
  // dx[n, in] = dy[n, out] . w[out, in]
  sgemm('N', 'N', n, in, out, dy.f32(), out, w.f32(), in, dx.f32(), in);
}

void linear_backward_weight(const Tensor& x, const Tensor& dy, const Tensor& dw, const OptTensor& db) {
  const int64_t n = x.dim(0), in = x.dim(1), out = dy.dim(1);
  // dw[out, in] = dy[n, out]^T . x[n, in]
  if (n == 0) {
    fill(dw, 0.0f);
  } else {
    sgemm('T', 'N', out, in, n, dy.f32(), out, x.f32(), in, dw.f32(), in);
  }
  if (!db) return;
  const float* g = dy.f32();
  float* bias_grad = db->f32();
#pragma omp parallel for schedule(static) if (n * out > kParallelGrain)
  for (int64_t o = 0; o < out; ++o) {
    double sum = 0.0;
    for (int64_t row = 0; row < n; ++row) sum += g[row * out + o];
    bias_grad[o] = static_cast<float>(sum);
  }
}

// The ReLU mask: bit o of row `row` at word row * words_per_row + o / 32 (CPU layout; the CUDA
// build keeps cuBLASLt's, of the same size).
void linear_forward_relu_mask(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y, const Tensor& mask) {
  linear_forward(x, w, b, y, true);
  const int64_t n = y.dim(0), out = y.dim(1);
  const int64_t words_per_row = shapes::relu_mask_words(1, out);
  const float* yp = y.f32();
  uint32_t* bits = reinterpret_cast<uint32_t*>(mask.i32());
#pragma omp parallel for schedule(static) if (n * out > kParallelGrain)
  for (int64_t row = 0; row < n; ++row) {
    uint32_t* r = bits + row * words_per_row;
    for (int64_t word = 0; word < words_per_row; ++word) r[word] = 0;
    // y > 0 exactly where the pre-activation was > 0 (ReLU writes 0 for <= 0 and passes NaN, which is not > 0).
    for (int64_t o = 0; o < out; ++o)
      if (yp[row * out + o] > 0.0f) r[o / 32] |= 1u << (o % 32);
  }
}

// The unfused path's arithmetic in one op: the GEMM, ReLU's backward (a select, exact) and the bias
// gradient summed as linear_backward_weight sums it; so the same bits as the three ops apart.
void linear_backward_data_relu(const Tensor& dy, const Tensor& w, const Tensor& mask, const Tensor& dx,
                               const Tensor& db) {
  linear_backward_data(dy, w, dx);
  const int64_t n = dx.dim(0), in = dx.dim(1);
  const int64_t words_per_row = shapes::relu_mask_words(1, in);
  const uint32_t* bits = reinterpret_cast<const uint32_t*>(mask.i32());
  float* g = dx.f32();
#pragma omp parallel for schedule(static) if (n * in > kParallelGrain)
  for (int64_t row = 0; row < n; ++row) {
    const uint32_t* r = bits + row * words_per_row;
    for (int64_t i = 0; i < in; ++i)
      if (!((r[i / 32] >> (i % 32)) & 1u)) g[row * in + i] = 0.0f;
  }
  float* bias_grad = db.f32();
#pragma omp parallel for schedule(static) if (n * in > kParallelGrain)
  for (int64_t i = 0; i < in; ++i) {
    double sum = 0.0;
    for (int64_t row = 0; row < n; ++row) sum += g[row * in + i];
    bias_grad[i] = static_cast<float>(sum);
  }
}

}  // namespace alexnet::cpu
