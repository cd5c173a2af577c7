// Fully connected layers (bias, fused ReLU) forward and backward against a direct loop.
#include <array>
#include <cstdio>

#include "selftest.h"

namespace alexnet::selftest {

namespace {

void check_linear(Backend& be, int64_t n, int64_t in, int64_t out, bool bias, bool relu, double rtol, double atol,
                  const char* tag) {
  const auto xv = random_vector(static_cast<size_t>(n * in), 41);
  const auto wv = random_vector(static_cast<size_t>(out * in), 42, -0.2f, 0.2f);
  const auto bv = random_vector(static_cast<size_t>(out), 43);
  const auto dyv = random_vector(static_cast<size_t>(n * out), 44);
  std::vector<double> y(static_cast<size_t>(n * out)), dx(static_cast<size_t>(n * in), 0.0),
      dw(static_cast<size_t>(out * in), 0.0), db(static_cast<size_t>(out), 0.0);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double acc = bias ? bv[static_cast<size_t>(o)] : 0.0;
      for (int64_t i = 0; i < in; ++i)
        acc += double(xv[static_cast<size_t>(r * in + i)]) * wv[static_cast<size_t>(o * in + i)];
      y[static_cast<size_t>(r * out + o)] = relu ? (acc <= 0 ? 0 : acc) : acc;
      const double g = dyv[static_cast<size_t>(r * out + o)];
      db[static_cast<size_t>(o)] += g;
      for (int64_t i = 0; i < in; ++i) {
        dx[static_cast<size_t>(r * in + i)] += g * wv[static_cast<size_t>(o * in + i)];
        dw[static_cast<size_t>(o * in + i)] += g * xv[static_cast<size_t>(r * in + i)];
      }
    }
  char name[160];
  std::snprintf(name, sizeof(name), "linear %s n=%lld in=%lld out=%lld%s%s", tag, (long long)n, (long long)in,
                (long long)out, bias ? " bias" : "", relu ? " relu" : "");
  Tensor x = make_from(be, {n, in}, xv);
  Tensor w = make_from(be, {out, in}, wv);
  OptTensor b;
  if (bias) b = make_from(be, {out}, bv);
  Tensor yt = make(be, {n, out});
  be.linear_forward(x, w, b, yt, relu);
  compare(std::string(name) + " forward", get(be, yt), y, rtol, atol);
  Tensor dyt = make_from(be, {n, out}, dyv);
  Tensor dxt = make(be, {n, in});
  be.linear_backward_data(dyt, w, dxt);
  compare(std::string(name) + " backward data", get(be, dxt), dx, rtol, atol);
  Tensor dwt = make(be, {out, in});
  OptTensor dbt;
  if (bias) dbt = make(be, {out});
  be.linear_backward_weight(x, dyt, dwt, dbt);
  compare(std::string(name) + " backward weight", get(be, dwt), dw, rtol, atol);
  if (bias) compare(std::string(name) + " backward bias", get(be, *dbt), db, 1e-5, 1e-5);
}

}  // namespace

void test_linear(Backend& be) {
  check_linear(be, 5, 37, 11, true, false, 1e-5, 1e-5, "fp32");
  check_linear(be, 5, 37, 11, true, true, 1e-5, 1e-5, "fp32");
  check_linear(be, 5, 37, 11, false, true, 1e-5, 1e-5, "fp32");
  check_linear(be, 3, 8, 4, false, false, 1e-5, 1e-5, "fp32");
  check_linear(be, 64, 1024, 300, true, true, 1e-4, 1e-4, "fp32");
  be.set_math_mode(MathMode::tf32);
  check_linear(be, 64, 1024, 300, true, true, 1e-2, 1e-2, "tf32");
  be.set_math_mode(MathMode::fp32);
}

}  // namespace alexnet::selftest

namespace alexnet::selftest {

// The Linear, ReLU, Linear epilogues against the unfused ops on the same backend: the forward with
// the ReLU mask gives the fused forward's output; the backward-data product through the mask gives
// ReLU's backward of the plain product, and its bias gradient the column sums of that. The CPU
// build computes both ways alike (bit for bit); cuBLASLt's epilogue may sum in another order.
void test_linear_epilogues(Backend& be) {
  for (const auto& [n, in, hidden, out] : {std::array<int64_t, 4>{5, 37, 200, 11}, {64, 300, 4096, 1000}}) {
    const auto xv = random_vector(static_cast<size_t>(n * in), 61);
    Tensor x = make_from(be, {n, in}, xv);
    Tensor w1 = make_from(be, {hidden, in}, random_vector(static_cast<size_t>(hidden * in), 62, -0.1f, 0.1f));
    Tensor b1 = make_from(be, {hidden}, random_vector(static_cast<size_t>(hidden), 63));
    Tensor w2 = make_from(be, {out, hidden}, random_vector(static_cast<size_t>(out * hidden), 64, -0.1f, 0.1f));
    Tensor dy = make_from(be, {n, out}, random_vector(static_cast<size_t>(n * out), 65));
    const std::string tag = "linear epilogues n=" + std::to_string(n) + " hidden=" + std::to_string(hidden);
    Tensor y_plain = make(be, {n, hidden}), y_masked = make(be, {n, hidden});
    Tensor mask = make(be, {n * ((hidden + 127) / 128) * 4}, DType::i32);
    be.linear_forward(x, w1, b1, y_plain, true);
    be.linear_forward_relu_mask(x, w1, b1, y_masked, mask);
    const bool cpu = std::string(backend_name()) == "cpu";
    if (cpu) {
      exact(tag + " forward with the mask", get(be, y_masked), get(be, y_plain));
    } else {
      compare(tag + " forward with the mask", get(be, y_masked), to_double(get(be, y_plain)), 1e-5, 1e-5);
    }
    // Unfused: dh = dy w2, dz = relu'(y) dh, db1 = column sums of dz.
    Tensor dh = make(be, {n, hidden}), dz = make(be, {n, hidden});
    be.linear_backward_data(dy, w2, dh);
    be.relu_backward(y_plain, dh, dz);
    Tensor dw_unused = make(be, {hidden, in}), db_plain = make(be, {hidden});
    be.linear_backward_weight(x, dz, dw_unused, db_plain);
    Tensor dz_fused = make(be, {n, hidden}), db_fused = make(be, {hidden});
    be.linear_backward_data_relu(dy, w2, mask, dz_fused, db_fused);
    if (cpu) {
      exact(tag + " backward data through the mask", get(be, dz_fused), get(be, dz));
      exact(tag + " bias gradient from the epilogue", get(be, db_fused), get(be, db_plain));
    } else {
      compare(tag + " backward data through the mask", get(be, dz_fused), to_double(get(be, dz)), 1e-5, 1e-5);
      compare(tag + " bias gradient from the epilogue", get(be, db_fused), to_double(get(be, db_plain)), 1e-4, 1e-4);
    }
  }
}

}  // namespace alexnet::selftest
