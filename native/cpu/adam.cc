// The Adam and AdamW update (torch.optim.Adam's and AdamW's arithmetic, see op_params.h), one
// vectorized loop per tensor: with the flat parameter, gradient and moment buffers
// (lib/nn/flatParameters.ts, lib/optim/optimizer.ts) that is one loop over every parameter. The
// scalar factors are computed once per call in double and rounded to float, as PyTorch computes
// them from Python floats; each element's arithmetic is written in PyTorch's order (lerp for the
// first moment, (value * a) / b for addcdiv). The learning rate and step count come from the step
// scalars, read when the update runs.
#include <cmath>

#include "kernels.h"

namespace alexnet::cpu {
namespace {

// The per-step factors, rounded to float as PyTorch rounds its Python-float scalars.
struct AdamFactors {
  float decay;        // Adam: the L2 term's weight_decay; AdamW: 1 - lr * weight_decay
  float lerp_weight;  // 1 - beta1
  float beta2, one_minus_beta2;
  float bias_sqrt;  // sqrt(1 - beta2^t)
  float eps;
  float neg_step_size;  // -lr / (1 - beta1^t)
};

AdamFactors adam_factors(const AdamParams& p, const AdamScalars& s) {
  const double t = static_cast<double>(s.step + 1);
  AdamFactors f;
  f.decay = static_cast<float>(p.decoupled ? 1.0 - s.lr * p.weight_decay : p.weight_decay);
  f.lerp_weight = static_cast<float>(1.0 - p.beta1);
  f.beta2 = static_cast<float>(p.beta2);
  f.one_minus_beta2 = static_cast<float>(1.0 - p.beta2);
  f.bias_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(p.beta2, t)));
  f.eps = static_cast<float>(p.eps);
  f.neg_step_size = static_cast<float>(-(s.lr / (1.0 - std::pow(p.beta1, t))));
  return f;
}

// kDecay: weight_decay != 0; kDecoupled: AdamW; kSmallWeight: 1 - beta1 < 0.5 (which of lerp's two
// formulas PyTorch uses).
template <bool kDecay, bool kDecoupled, bool kSmallWeight>
void adam_loop(const AdamFactors& f, const AdamTensors& t) {
  const int64_t n = t.param.numel();
  float* param = t.param.f32();
  const float* grad = t.grad.f32();
  float* exp_avg = t.exp_avg.f32();
  float* exp_avg_sq = t.exp_avg_sq.f32();
#pragma omp parallel for simd schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) {
    float p = param[i];
    float g = grad[i];
    if constexpr (kDecay && kDecoupled) p = p * f.decay;
    if constexpr (kDecay && !kDecoupled) g = g + f.decay * p;
    const float m0 = exp_avg[i];
    const float m = kSmallWeight ? m0 + f.lerp_weight * (g - m0) : g - (g - m0) * (1.0f - f.lerp_weight);
    const float v = exp_avg_sq[i] * f.beta2 + f.one_minus_beta2 * g * g;
    const float denom = std::sqrt(v) / f.bias_sqrt + f.eps;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    param[i] = p + (f.neg_step_size * m) / denom;
  }
}

template <bool kDecay, bool kDecoupled>
void adam_with(const AdamFactors& f, const AdamTensors& t) {
  if (std::fabs(f.lerp_weight) < 0.5f) {
    adam_loop<kDecay, kDecoupled, true>(f, t);
  } else {
    adam_loop<kDecay, kDecoupled, false>(f, t);
  }
}

}  // namespace

void adam_step(const AdamParams& p, const std::vector<AdamTensors>& tensors, const Tensor& scalars) {
  const AdamScalars s = *reinterpret_cast<const AdamScalars*>(scalars.data());
  const AdamFactors f = adam_factors(p, s);
  const bool decay = p.weight_decay != 0.0;
  for (const AdamTensors& t : tensors) {
    if (!decay) {
      adam_with<false, false>(f, t);
    } else if (p.decoupled) {
      adam_with<true, true>(f, t);
    } else {
      adam_with<true, false>(f, t);
    }
  }
}

}  // namespace alexnet::cpu
