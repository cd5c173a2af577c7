// The SGD update (torch.optim.SGD's arithmetic, see op_params.h), one vectorized loop per tensor: with
// the flat parameter, gradient and momentum buffers (lib/nn/flatParameters.ts) that is one loop over
// every parameter. Each combination of options gets its own loop without branches (a template per
// combination), so the compiler vectorizes it; the arithmetic, and so every bit of the result, is
// the same in all of them. The learning rate and the step count come from the step scalars, read
// when the update runs.
#include "kernels.h"

namespace alexnet::cpu {
namespace {

template <bool kDecay, bool kMomentum, bool kFirstStep, bool kNesterov>
void sgd_loop(const SgdParams& p, float lr, const SgdTensors& t) {
  const int64_t n = t.param.numel();
  float* param = t.param.f32();
  const float* grad = t.grad.f32();
  float* buf = kMomentum ? t.momentum_buffer.f32() : nullptr;
  const float decay = p.weight_decay, momentum = p.momentum, keep = 1.0f - p.dampening;
#pragma omp parallel for simd schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) {
    float g = grad[i];
    if constexpr (kDecay) g += decay * param[i];
    if constexpr (kMomentum) {
      const float b = kFirstStep ? g : momentum * buf[i] + keep * g;
      buf[i] = b;
      g = kNesterov ? g + momentum * b : b;
    }
    param[i] -= lr * g;
  }
}

template <bool kDecay, bool kMomentum>
void sgd_with(const SgdParams& p, float lr, bool first_step, const SgdTensors& t) {
  if constexpr (!kMomentum) {
    sgd_loop<kDecay, false, false, false>(p, lr, t);
  } else if (first_step) {
    p.nesterov ? sgd_loop<kDecay, true, true, true>(p, lr, t) : sgd_loop<kDecay, true, true, false>(p, lr, t);
  } else {
    p.nesterov ? sgd_loop<kDecay, true, false, true>(p, lr, t) : sgd_loop<kDecay, true, false, false>(p, lr, t);
  }
}

}  // namespace

void sgd_step(const SgdParams& p, const std::vector<SgdTensors>& tensors, const Tensor& scalars) {
  const SgdScalars s = *reinterpret_cast<const SgdScalars*>(scalars.data());
  const bool decay = p.weight_decay != 0.0f, momentum = p.momentum != 0.0f, first = s.step == 0;
  for (const SgdTensors& t : tensors) {
    if (decay) {
      momentum ? sgd_with<true, true>(p, s.lr, first, t) : sgd_with<true, false>(p, s.lr, first, t);
    } else {
      momentum ? sgd_with<false, true>(p, s.lr, first, t) : sgd_with<false, false>(p, s.lr, first, t);
    }
  }
}

}  // namespace alexnet::cpu
