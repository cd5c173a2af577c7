// The Adam and AdamW step against a double-precision reference of torch.optim.Adam's and AdamW's
// formulas (op_params.h), three steps with and without weight decay and with beta1 on either side of
// lerp's switch: over several tensors of awkward sizes, one flat tensor whose size is not a multiple
// of 4 (the vector path and its tail), and views one element into their memory (not 16-byte aligned:
// the scalar path). The learning rate and the step count come from the step scalars; the step
// advances on the device (advance_counter) between steps.
#include <cmath>

#include "selftest.h"

namespace alexnet::selftest {
namespace {

Tensor make_adam_scalars(Backend& be, double lr, uint64_t step) {
  Tensor t = make(be, {kScalarWords}, DType::i32);
  const AdamScalars s{lr, step};
  be.upload(t, &s);
  return t;
}

// A view of `t` without its first element (4 bytes in: no longer 16-byte aligned).
Tensor skip_first(const Tensor& t) {
  Tensor view = t;
  view.offset += sizeof(float);
  view.shape = {t.numel() - 1};
  return view;
}

void check_adam(Backend& be, const AdamParams& p, const std::vector<int64_t>& sizes, bool unaligned,
                const std::string& what) {
  const double lr = 0.01;
  std::vector<AdamTensors> tensors;
  std::vector<std::vector<double>> params, grads, m, v;
  for (size_t i = 0; i < sizes.size(); ++i) {
    const int64_t n = sizes[i];
    const auto p0 = random_vector(static_cast<size_t>(n), 400 + static_cast<uint32_t>(i));
    const auto g0 = random_vector(static_cast<size_t>(n), 500 + static_cast<uint32_t>(i));
    AdamTensors t{make_from(be, {n}, p0), make_from(be, {n}, g0), make_from(be, {n}, std::vector<float>(n, 0.0f)),
                  make_from(be, {n}, std::vector<float>(n, 0.0f))};
    const size_t skip = unaligned ? 1 : 0;
    if (unaligned) t = {skip_first(t.param), skip_first(t.grad), skip_first(t.exp_avg), skip_first(t.exp_avg_sq)};
    params.emplace_back(p0.begin() + skip, p0.end());
    grads.emplace_back(g0.begin() + skip, g0.end());
    m.emplace_back(params.back().size(), 0.0);
    v.emplace_back(params.back().size(), 0.0);
    tensors.push_back(t);
  }
  Tensor scalars = make_adam_scalars(be, lr, 0);
  const int steps = 3;
  for (int step = 1; step <= steps; ++step) {
    be.adam_step(p, tensors, scalars);
    be.advance_counter(scalars, kAdamStepWord, 1);
    const double bc1 = 1.0 - std::pow(p.beta1, step), bc2 = 1.0 - std::pow(p.beta2, step);
    for (size_t i = 0; i < params.size(); ++i)
      for (size_t e = 0; e < params[i].size(); ++e) {
        double& x = params[i][e];
        double g = grads[i][e];
        if (p.decoupled)
          x *= 1.0 - lr * p.weight_decay;
        else
          g += p.weight_decay * x;
        m[i][e] = p.beta1 * m[i][e] + (1.0 - p.beta1) * g;
        v[i][e] = p.beta2 * v[i][e] + (1.0 - p.beta2) * g * g;
        x -= lr / bc1 * m[i][e] / (std::sqrt(v[i][e]) / std::sqrt(bc2) + p.eps);
      }
  }
  std::vector<float> got, got_m, got_v;
  std::vector<double> want, want_m, want_v;
  for (size_t i = 0; i < params.size(); ++i) {
    for (const auto& [out, t] :
         {std::pair{&got, &tensors[i].param}, {&got_m, &tensors[i].exp_avg}, {&got_v, &tensors[i].exp_avg_sq}}) {
      const auto values = get(be, *t);
      out->insert(out->end(), values.begin(), values.end());
    }
    want.insert(want.end(), params[i].begin(), params[i].end());
    want_m.insert(want_m.end(), m[i].begin(), m[i].end());
    want_v.insert(want_v.end(), v[i].begin(), v[i].end());
  }
  const std::string name = std::string(p.decoupled ? "adamw" : "adam") + " wd " + std::to_string(p.weight_decay) +
                           " beta1 " + std::to_string(p.beta1) + " (" + what + ")";
  // float32 elementwise arithmetic against double: a few ulps per step.
  compare(name + ", parameters", got, want, 1e-5, 1e-6);
  compare(name + ", exp_avg", got_m, want_m, 1e-5, 1e-7);
  compare(name + ", exp_avg_sq", got_v, want_v, 1e-5, 1e-9);
}

}  // namespace

void test_adam(Backend& be) {
  const std::vector<int64_t> many{1, 3, 1000, 65537, 7, 4096};
  for (const bool decoupled : {false, true})
    for (const double weight_decay : {0.0, 0.05})
      for (const double beta1 : {0.9, 0.3}) {
        AdamParams p;
        p.beta1 = beta1;
        p.beta2 = 0.99;
        p.eps = 1e-8;
        p.weight_decay = weight_decay;
        p.decoupled = decoupled;
        check_adam(be, p, many, false, "6 tensors");
        check_adam(be, p, {1000003}, false, "one flat tensor");
        check_adam(be, p, {1001, 64}, true, "unaligned views");
      }
}

}  // namespace alexnet::selftest
