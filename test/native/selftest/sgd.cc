// The SGD step with every option combination, bit for bit against the CPU formula: over 40 tensors
// of awkward sizes (the multi-tensor path), and over one flat tensor of each kind (the one-pass
// path the models use, with a size that is not a multiple of 4). The learning rate and the step
// count come from the step scalars; the step advances on the device (advance_counter) between steps.
#include <cstring>

#include "selftest.h"

namespace alexnet::selftest {
namespace {

void check_sgd(Backend& be, int variant, const std::vector<int64_t>& sizes, const std::string& what) {
  SgdParams p;
  const float lr = 0.05f;
  p.momentum = variant == 0 ? 0.0f : 0.9f;
  p.dampening = variant == 3 ? 0.25f : 0.0f;
  p.weight_decay = variant >= 1 ? 5e-4f : 0.0f;
  p.nesterov = variant == 2;
  std::vector<SgdTensors> tensors;
  std::vector<std::vector<float>> params, grads, bufs;
  for (size_t i = 0; i < sizes.size(); ++i) {
    const int64_t n = sizes[i];
    params.push_back(random_vector(static_cast<size_t>(n), 100 + static_cast<uint32_t>(i)));
    grads.push_back(random_vector(static_cast<size_t>(n), 200 + static_cast<uint32_t>(i)));
    bufs.push_back(random_vector(static_cast<size_t>(n), 300 + static_cast<uint32_t>(i)));
    SgdTensors t;
    t.param = make_from(be, {n}, params.back());
    t.grad = make_from(be, {n}, grads.back());
    if (p.momentum != 0) t.momentum_buffer = make_from(be, {n}, bufs.back());
    tensors.push_back(t);
  }
  Tensor scalars = make_sgd_scalars(be, lr, 0);
  for (int step = 0; step < 3; ++step) {
    be.sgd_step(p, tensors, scalars);
    be.advance_counter(scalars, kSgdStepWord, 1);
    for (size_t i = 0; i < params.size(); ++i)
      for (size_t e = 0; e < params[i].size(); ++e) {
        float g = grads[i][e];
        if (p.weight_decay != 0.0f) g += p.weight_decay * params[i][e];
        if (p.momentum != 0.0f) {
          const float b = step == 0 ? g : p.momentum * bufs[i][e] + (1.0f - p.dampening) * g;
          bufs[i][e] = b;
          g = p.nesterov ? g + p.momentum * b : b;
        }
        params[i][e] -= lr * g;
      }
  }
  bool ok = true;
  std::string detail = what + ", 3 steps, bit-identical to the CPU formula";
  for (size_t i = 0; i < params.size() && ok; ++i) {
    const auto got = get(be, tensors[i].param);
    if (std::memcmp(got.data(), params[i].data(), got.size() * sizeof(float)) != 0) {
      ok = false;
      detail = what + ": tensor " + std::to_string(i) + " (" + std::to_string(got.size()) + " elements) differs";
    }
    if (ok && p.momentum != 0) {
      const auto gb = get(be, tensors[i].momentum_buffer);
      if (std::memcmp(gb.data(), bufs[i].data(), gb.size() * sizeof(float)) != 0) {
        ok = false;
        detail = what + ": momentum buffer " + std::to_string(i) + " differs";
      }
    }
  }
  report(ok, "sgd variant " + std::to_string(variant) + " (" + what + ")", detail);
}

}  // namespace

void test_sgd(Backend& be) {
  const std::vector<int64_t> cycle{1, 3, 65536, 65537, 1000, 25 * 1000 * 1000, 7, 4096};
  // 40 tensors (more than one launch's table) cycling through the sizes.
  std::vector<int64_t> many;
  for (size_t i = 0; i < 40; ++i) {
    const int64_t n = cycle[i % cycle.size()];
    many.push_back(n / (i >= 8 && n > 100000 ? 100 : 1));
  }
  for (int variant = 0; variant < 4; ++variant) {
    check_sgd(be, variant, many, "40 tensors");
    check_sgd(be, variant, {25 * 1000 * 1000 + 3}, "one flat tensor");
  }
}

}  // namespace alexnet::selftest
