// The SGD update (torch.optim.SGD's arithmetic, see op_params.h), one parameter tensor at a time. Each
// combination of options gets its own loop without branches (a template per combination), so the
// compiler vectorizes it; the arithmetic, and so every bit of the result, is the same in all of them.
#include "kernels.h"

namespace alexnet::cpu {
namespace {

template <bool kDecay, bool kMomentum, bool kFirstStep, bool kNesterov>
void sgd_loop(const SgdParams& p, const SgdTensors& t) {
  const int64_t n = t.param.numel();
  float* param = t.param.f32();
  const float* grad = t.grad.f32();
  float* buf = kMomentum ? t.momentum_buffer.f32() : nullptr;
  const float lr = p.lr, decay = p.weight_decay, momentum = p.momentum, keep = 1.0f - p.dampening;
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
void sgd_with(const SgdParams& p, const SgdTensors& t) {
  if constexpr (!kMomentum) {
    sgd_loop<kDecay, false, false, false>(p, t);
  } else if (p.first_step) {
    p.nesterov ? sgd_loop<kDecay, true, true, true>(p, t) : sgd_loop<kDecay, true, true, false>(p, t);
  } else {
    p.nesterov ? sgd_loop<kDecay, true, false, true>(p, t) : sgd_loop<kDecay, true, false, false>(p, t);
  }
}

}  // namespace

void sgd_step(const SgdParams& p, const std::vector<SgdTensors>& tensors) {
  const bool decay = p.weight_decay != 0.0f, momentum = p.momentum != 0.0f;
  for (const SgdTensors& t : tensors) {
    if (decay) {
      momentum ? sgd_with<true, true>(p, t) : sgd_with<true, false>(p, t);
    } else {
      momentum ? sgd_with<false, true>(p, t) : sgd_with<false, false>(p, t);
    }
  }
}

}  // namespace alexnet::cpu
