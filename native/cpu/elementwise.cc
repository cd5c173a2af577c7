// Fills (constant, and Philox-seeded uniform and normal), scaled addition, products and copies.
#include <cmath>
#include <cstring>

#include "core/bfloat16.h"
#include "core/philox.h"
#include "kernels.h"

namespace alexnet::cpu {

void fill(const Tensor& t, float value) {
  const int64_t n = t.numel();
  if (t.dtype == DType::i32) {
    int32_t* p = t.i32();
    const int32_t v = static_cast<int32_t>(value);
#pragma omp parallel for simd schedule(static) if (n > kParallelGrain)
    for (int64_t i = 0; i < n; ++i) p[i] = v;
    return;
  }
  float* p = t.f32();
#pragma omp parallel for simd schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) p[i] = value;
}

void fill_uniform(const Tensor& t, float low, float high, uint64_t seed) {
  const int64_t n = t.numel();
  float* p = t.f32();
  const float range = high - low;
#pragma omp parallel for schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i)
    p[i] = low + range * bits_to_unit_float(philox_bits(seed, 0, static_cast<uint64_t>(i)));
}

namespace {

// Box-Muller on the first two words of Philox block `counter`: one standard normal.
float standard_normal(uint64_t counter, uint64_t seed) {
  const Philox4 w = philox4x32_10(counter, seed);
  const float u1 = static_cast<float>((w.v[0] >> 8) + 1) * (1.0f / 16777216.0f);
  const float u2 = static_cast<float>(w.v[1] >> 8) * (1.0f / 16777216.0f);
  return std::sqrt(-2.0f * std::log(u1)) * std::cos(6.2831853071795864f * u2);
}

}  // namespace

// Element i is drawn from Philox block i (and, when truncated, redrawn as philox.h describes).
void fill_normal(const Tensor& t, float mean, float stddev, float truncation, uint64_t seed) {
  const int64_t n = t.numel();
  float* p = t.f32();
#pragma omp parallel for schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t index = static_cast<uint64_t>(i);
    float z = standard_normal(index, seed);
    if (truncation > 0) {
      for (int draw = 1; std::fabs(z) > truncation && draw < kMaxNormalDraws; ++draw)
        z = standard_normal(normal_redraw_counter(index, draw), seed);
      if (std::fabs(z) > truncation) z = 0.0f;
    }
    p[i] = mean + stddev * z;
  }
}

void add_scaled(const Tensor& dst, const Tensor& src, float alpha) {
  const int64_t n = dst.numel();
  float* d = dst.f32();
  const float* s = src.f32();
#pragma omp parallel for simd schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) d[i] += alpha * s[i];
}

void multiply(const Tensor& a, const Tensor& b, const Tensor& out) {
  const int64_t n = a.numel();
  const float* x = a.f32();
  const float* y = b.f32();
  float* o = out.f32();
#pragma omp parallel for simd schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) o[i] = x[i] * y[i];
}

void copy(const Tensor& dst, const Tensor& src) { std::memmove(dst.data(), src.data(), src.bytes()); }

// Emulation of bfloat16 storage: the values are rounded, the storage stays fp32, so that every op
// downstream runs unchanged (oneDNN's bf16 primitives would give the same sums up to their order,
// since products of two bfloat16 values are exact in fp32).
void round_to_bfloat16(const Tensor& dst, const Tensor& src) {
  const int64_t n = src.numel();
  const float* s = src.f32();
  float* d = dst.f32();
#pragma omp parallel for simd schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) d[i] = alexnet::round_to_bfloat16(s[i]);
}

}  // namespace alexnet::cpu

namespace alexnet::cpu {

void advance_counter(const Tensor& t, int word, uint64_t increment) {
  auto* counter = reinterpret_cast<uint64_t*>(t.i32() + word);
  *counter += increment;
}

}  // namespace alexnet::cpu
