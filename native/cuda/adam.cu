// The Adam and AdamW update (torch.optim.Adam's and AdamW's arithmetic, see op_params.h). The usual
// case is one tensor of each kind, a slice of the flat buffers every layer's tensors are views of
// (lib/nn/flatParameters.ts): then one kernel streams them once with 16-byte loads (28 bytes per
// parameter: read param, grad and both moments, write param and both moments). Separate tensors
// get one launch each (the optimizer batches flat neighbours into one tensor first, so there are
// few). Each thread derives the step's factors from the step scalars in device memory when it runs
// (in double, rounded to float, as the CPU build and PyTorch do), so a captured step uses the current
// learning rate and step count at every launch. The elementwise arithmetic is written as the CPU
// build's loop (native/cpu/adam.cc) with no fused multiply-adds.
//
// Never run on a GPU so far (2026-11-29): test/ops/adam.test.ts checks it against PyTorch when run
// with ALEXNET_TEST_DEVICE=cuda.
#include "check.h"
#include "device_utils.cuh"
#include "kernels.h"

namespace alexnet::cuda {
namespace {

constexpr int kAdamThreads = 256;

struct AdamFactors {
  float decay, lerp_weight, beta2, one_minus_beta2, bias_sqrt, eps, neg_step_size;
};

__device__ __forceinline__ AdamFactors adam_factors(const AdamParams& p, const AdamScalars* scalars) {
  const double lr = scalars->lr;
  const double t = static_cast<double>(scalars->step + 1);
  AdamFactors f;
  f.decay = static_cast<float>(p.decoupled ? 1.0 - lr * p.weight_decay : p.weight_decay);
  f.lerp_weight = static_cast<float>(1.0 - p.beta1);
  f.beta2 = static_cast<float>(p.beta2);
  f.one_minus_beta2 = static_cast<float>(1.0 - p.beta2);
  f.bias_sqrt = static_cast<float>(sqrt(1.0 - pow(p.beta2, t)));
  f.eps = static_cast<float>(p.eps);
  f.neg_step_size = static_cast<float>(-(lr / (1.0 - pow(p.beta1, t))));
  return f;
}

// One element: updates *m and *v and returns the new parameter.
__device__ __forceinline__ float adam_element(float p, float g, float* m, float* v, const AdamParams& c,
                                              const AdamFactors& f) {
  if (c.weight_decay != 0.0) {
    if (c.decoupled) {
      p = __fmul_rn(p, f.decay);
    } else {
      g = __fadd_rn(g, __fmul_rn(f.decay, p));
    }
  }
  const float m0 = *m;
  const float diff = __fsub_rn(g, m0);
  const float m1 = fabsf(f.lerp_weight) < 0.5f ? __fadd_rn(m0, __fmul_rn(f.lerp_weight, diff))
                                               : __fsub_rn(g, __fmul_rn(diff, __fsub_rn(1.0f, f.lerp_weight)));
  const float v1 = __fadd_rn(__fmul_rn(*v, f.beta2), __fmul_rn(__fmul_rn(f.one_minus_beta2, g), g));
  const float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(v1), f.bias_sqrt), f.eps);
  *m = m1;
  *v = v1;
  return __fadd_rn(p, __fdiv_rn(__fmul_rn(f.neg_step_size, m1), denom));
}

// float4 loads and stores for the first n4 * 4 elements when every pointer is 16-byte aligned (kVector),
// then the rest one by one.
template <bool kVector>
__global__ void __launch_bounds__(kAdamThreads)
    adam_kernel(float* __restrict__ param, const float* __restrict__ grad, float* __restrict__ exp_avg,
                float* __restrict__ exp_avg_sq, int64_t n, AdamParams c, const AdamScalars* scalars) {
  const AdamFactors f = adam_factors(c, scalars);
  int64_t done = 0;
  if (kVector) {
    const int64_t n4 = n / 4;
    float4* p4 = reinterpret_cast<float4*>(param);
    const float4* g4 = reinterpret_cast<const float4*>(grad);
    float4* m4 = reinterpret_cast<float4*>(exp_avg);
    float4* v4 = reinterpret_cast<float4*>(exp_avg_sq);
    for (int64_t i = global_thread(); i < n4; i += grid_stride()) {
      float4 p = p4[i], m = m4[i], v = v4[i];
      const float4 g = g4[i];
      p.x = adam_element(p.x, g.x, &m.x, &v.x, c, f);
      p.y = adam_element(p.y, g.y, &m.y, &v.y, c, f);
      p.z = adam_element(p.z, g.z, &m.z, &v.z, c, f);
      p.w = adam_element(p.w, g.w, &m.w, &v.w, c, f);
      p4[i] = p;
      m4[i] = m;
      v4[i] = v;
    }
    done = n4 * 4;
  }
  for (int64_t i = done + global_thread(); i < n; i += grid_stride())
    param[i] = adam_element(param[i], grad[i], &exp_avg[i], &exp_avg_sq[i], c, f);
}

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

}  // namespace

void launch_adam_step(cudaStream_t stream, const AdamParams& p, const std::vector<AdamSpan>& spans,
                      const AdamScalars* scalars) {
  for (const AdamSpan& s : spans) {
    if (s.n <= 0) continue;
    if (aligned16(s.param) && aligned16(s.grad) && aligned16(s.exp_avg) && aligned16(s.exp_avg_sq)) {
      adam_kernel<true><<<grid_for((s.n + 3) / 4, kAdamThreads), kAdamThreads, 0, stream>>>(
          s.param, s.grad, s.exp_avg, s.exp_avg_sq, s.n, p, scalars);
    } else {
      adam_kernel<false><<<grid_for(s.n, kAdamThreads), kAdamThreads, 0, stream>>>(s.param, s.grad, s.exp_avg,
                                                                                   s.exp_avg_sq, s.n, p, scalars);
    }
    check_launch("adam_kernel");
  }
}

}  // namespace alexnet::cuda
