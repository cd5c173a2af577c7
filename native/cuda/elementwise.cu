// Fills and simple arithmetic. Products and sums are written with __fmul_rn / __fadd_rn so that
// nvcc does not contract them into fused multiply-adds: the results then round exactly as the CPU
// build's plain C++ does, and a seeded initialisation gives the same weights on both builds (up to
// the last bit of logf/cosf in fill_normal, whose CUDA and glibc versions may differ by an ulp).
#include "check.h"
#include "core/bfloat16.h"
#include "core/philox.h"
#include "device_utils.cuh"
#include "kernels.h"

namespace alexnet::cuda {
namespace {

template <typename T>
__global__ void fill_kernel(T* data, int64_t n, T value) {
  for (int64_t i = global_thread(); i < n; i += grid_stride()) data[i] = value;
}

__global__ void fill_uniform_kernel(float* data, int64_t n, float low, float range, uint64_t seed) {
  for (int64_t i = global_thread(); i < n; i += grid_stride()) {
    const float u = bits_to_unit_float(philox_bits(seed, 0, static_cast<uint64_t>(i)));
    data[i] = __fadd_rn(low, __fmul_rn(range, u));
  }
}

// Box-Muller on the first two words of Philox block `counter`: one standard normal.
__device__ float standard_normal(uint64_t counter, uint64_t seed) {
  const Philox4 w = philox4x32_10(counter, seed);
  const float u1 = static_cast<float>((w.v[0] >> 8) + 1) * (1.0f / 16777216.0f);  // (0, 1]: log is finite
  const float u2 = static_cast<float>(w.v[1] >> 8) * (1.0f / 16777216.0f);
  return __fmul_rn(sqrtf(-2.0f * logf(u1)), cosf(__fmul_rn(6.2831853071795864f, u2)));
}

// Element i is drawn from Philox block i (and, when truncated, redrawn as philox.h describes).
__global__ void fill_normal_kernel(float* data, int64_t n, float mean, float stddev, float truncation, uint64_t seed) {
  for (int64_t i = global_thread(); i < n; i += grid_stride()) {
    const uint64_t index = static_cast<uint64_t>(i);
    float z = standard_normal(index, seed);
    if (truncation > 0) {
      for (int draw = 1; fabsf(z) > truncation && draw < kMaxNormalDraws; ++draw)
        z = standard_normal(normal_redraw_counter(index, draw), seed);
      if (fabsf(z) > truncation) z = 0.0f;
    }
    data[i] = __fadd_rn(mean, __fmul_rn(stddev, z));
  }
}

__global__ void add_scaled_kernel(float* dst, const float* src, int64_t n, float alpha) {
  for (int64_t i = global_thread(); i < n; i += grid_stride()) dst[i] = __fadd_rn(dst[i], __fmul_rn(alpha, src[i]));
}

__global__ void multiply_kernel(const float* a, const float* b, float* out, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += grid_stride()) out[i] = __fmul_rn(a[i], b[i]);
}

// TODO(bf16 device session): the bf16 mode's rounding points run this kernel on fp32 storage
// (an emulation, as on the CPU); real bf16 storage in NHWC with tensor-core engines replaces it.
__global__ void round_to_bfloat16_kernel(float* dst, const float* src, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += grid_stride()) dst[i] = alexnet::round_to_bfloat16(src[i]);
}

}  // namespace

void launch_fill_f32(cudaStream_t stream, float* data, int64_t n, float value) {
  if (n <= 0) return;
  fill_kernel<float><<<grid_for(n), kThreads, 0, stream>>>(data, n, value);
  check_launch("fill_kernel<float>");
}

void launch_fill_i32(cudaStream_t stream, int32_t* data, int64_t n, int32_t value) {
  if (n <= 0) return;
  fill_kernel<int32_t><<<grid_for(n), kThreads, 0, stream>>>(data, n, value);
  check_launch("fill_kernel<int32_t>");
}

void launch_fill_uniform(cudaStream_t stream, float* data, int64_t n, float low, float high, uint64_t seed) {
  if (n <= 0) return;
  const float range = high - low;  // computed on the host, exactly as the CPU build does
  fill_uniform_kernel<<<grid_for(n), kThreads, 0, stream>>>(data, n, low, range, seed);
  check_launch("fill_uniform_kernel");
}

void launch_fill_normal(cudaStream_t stream, float* data, int64_t n, float mean, float stddev, float truncation,
                        uint64_t seed) {
  if (n <= 0) return;
  fill_normal_kernel<<<grid_for(n), kThreads, 0, stream>>>(data, n, mean, stddev, truncation, seed);
  check_launch("fill_normal_kernel");
}

void launch_add_scaled(cudaStream_t stream, float* dst, const float* src, int64_t n, float alpha) {
  if (n <= 0) return;
  add_scaled_kernel<<<grid_for(n), kThreads, 0, stream>>>(dst, src, n, alpha);
  check_launch("add_scaled_kernel");
}

void launch_multiply(cudaStream_t stream, const float* a, const float* b, float* out, int64_t n) {
  if (n <= 0) return;
  multiply_kernel<<<grid_for(n), kThreads, 0, stream>>>(a, b, out, n);
  check_launch("multiply_kernel");
}

void launch_round_to_bfloat16(cudaStream_t stream, float* dst, const float* src, int64_t n) {
  if (n <= 0) return;
  round_to_bfloat16_kernel<<<grid_for(n), kThreads, 0, stream>>>(dst, src, n);
  check_launch("round_to_bfloat16_kernel");
}

}  // namespace alexnet::cuda

namespace alexnet::cuda {
namespace {

__global__ void advance_counter_kernel(uint64_t* counter, uint64_t increment) { *counter += increment; }

}  // namespace

void launch_advance_counter(cudaStream_t stream, uint64_t* counter, uint64_t increment) {
  advance_counter_kernel<<<1, 1, 0, stream>>>(counter, increment);
  check_launch("advance_counter_kernel");
}

}  // namespace alexnet::cuda
