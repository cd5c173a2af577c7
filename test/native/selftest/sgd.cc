// The SGD step with every option combination over 40 tensors of awkward sizes, bit for bit
// against the CPU formula.
#include <cstring>

#include "selftest.h"

namespace alexnet::selftest {

void test_sgd(Backend& be) {
  const std::vector<int64_t> sizes{1, 3, 65536, 65537, 1000, 25 * 1000 * 1000, 7, 4096};
  for (int variant = 0; variant < 4; ++variant) {
    SgdParams p;
    p.lr = 0.05f;
    p.momentum = variant == 0 ? 0.0f : 0.9f;
    p.dampening = variant == 3 ? 0.25f : 0.0f;
    p.weight_decay = variant >= 1 ? 5e-4f : 0.0f;
    p.nesterov = variant == 2;
    std::vector<SgdTensors> tensors;
    std::vector<std::vector<float>> params, grads, bufs;
    // 40 tensors (more than one launch's table) cycling through the sizes.
    for (int i = 0; i < 40; ++i) {
      const int64_t n = sizes[static_cast<size_t>(i) % sizes.size()] /
                        (i >= 8 && sizes[static_cast<size_t>(i) % sizes.size()] > 100000 ? 100 : 1);
      params.push_back(random_vector(static_cast<size_t>(n), 100 + i));
      grads.push_back(random_vector(static_cast<size_t>(n), 200 + i));
      bufs.push_back(random_vector(static_cast<size_t>(n), 300 + i));
      SgdTensors t;
      t.param = make_from(be, {n}, params.back());
      t.grad = make_from(be, {n}, grads.back());
      if (p.momentum != 0) t.momentum_buffer = make_from(be, {n}, bufs.back());
      tensors.push_back(t);
    }
    for (int step = 0; step < 2; ++step) {
      p.first_step = step == 0;
      be.sgd_step(p, tensors);
      for (size_t i = 0; i < params.size(); ++i)
        for (size_t e = 0; e < params[i].size(); ++e) {
          float g = grads[i][e];
          if (p.weight_decay != 0.0f) g += p.weight_decay * params[i][e];
          if (p.momentum != 0.0f) {
            const float b = p.first_step ? g : p.momentum * bufs[i][e] + (1.0f - p.dampening) * g;
            bufs[i][e] = b;
            g = p.nesterov ? g + p.momentum * b : b;
          }
          params[i][e] -= p.lr * g;
        }
    }
    bool ok = true;
    std::string detail = "40 tensors, 2 steps, bit-identical to the CPU formula";
    for (size_t i = 0; i < params.size() && ok; ++i) {
      const auto got = get(be, tensors[i].param);
      if (std::memcmp(got.data(), params[i].data(), got.size() * sizeof(float)) != 0) {
        ok = false;
        detail = "tensor " + std::to_string(i) + " (" + std::to_string(got.size()) + " elements) differs";
      }
      if (ok && p.momentum != 0) {
        const auto gb = get(be, tensors[i].momentum_buffer);
        if (std::memcmp(gb.data(), bufs[i].data(), gb.size() * sizeof(float)) != 0) {
          ok = false;
          detail = "momentum buffer " + std::to_string(i) + " differs";
        }
      }
    }
    report(ok, "sgd variant " + std::to_string(variant), detail);
  }
}

}  // namespace alexnet::selftest
