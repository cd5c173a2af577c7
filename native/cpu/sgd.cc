// The SGD update (torch.optim.SGD's arithmetic, see op_params.h) over one parameter tensor.
#include "kernels.h"

namespace alexnet::cpu {

void sgd_step(const SgdParams& p, const SgdTensors& t) {
  const int64_t n = t.param.numel();
  float* param = t.param.f32();
  const float* grad = t.grad.f32();
  float* buf = p.momentum != 0.0f ? t.momentum_buffer.f32() : nullptr;
#pragma omp parallel for simd schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) {
    float g = grad[i];
    if (p.weight_decay != 0.0f) g += p.weight_decay * param[i];
    if (buf) {
      const float b = p.first_step ? g : p.momentum * buf[i] + (1.0f - p.dampening) * g;
      buf[i] = b;
      g = p.nesterov ? g + p.momentum * b : b;
    }
    param[i] -= p.lr * g;
  }
}

}  // namespace alexnet::cpu
