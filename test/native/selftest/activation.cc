// ReLU forward (NaN passes, -0 gives 0) and backward, bit for bit; softmax over rows against the
// formula in double precision.
#include <algorithm>
#include <cmath>
#include <limits>

#include "selftest.h"

namespace alexnet::selftest {

void test_activation(Backend& be) {
  const int64_t n = 100003;
  auto rv = random_vector(static_cast<size_t>(n), 71);
  rv[0] = std::numeric_limits<float>::quiet_NaN();
  rv[1] = -0.0f;
  const auto w = random_vector(static_cast<size_t>(n), 72);
  Tensor r = make_from(be, {n}, rv), b = make_from(be, {n}, w), c = make(be, {n});
  std::vector<float> want(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    want[static_cast<size_t>(i)] = rv[static_cast<size_t>(i)] <= 0 ? 0.0f : rv[static_cast<size_t>(i)];
  be.relu_forward(r, c);
  exact("relu forward (NaN passes)", get(be, c), want);
  for (int64_t i = 0; i < n; ++i)
    want[static_cast<size_t>(i)] = rv[static_cast<size_t>(i)] <= 0 ? 0.0f : w[static_cast<size_t>(i)];
  be.relu_backward(r, b, c);
  exact("relu backward", get(be, c), want);

  const int64_t rows = 7, cols = 13;
  const auto lv = random_vector(static_cast<size_t>(rows * cols), 51, -3.0f, 3.0f);
  std::vector<double> sm(lv.size());
  for (int64_t row = 0; row < rows; ++row) {
    const float* x = lv.data() + row * cols;
    const double m = *std::max_element(x, x + cols);
    double s = 0;
    for (int64_t col = 0; col < cols; ++col) s += std::exp(x[col] - m);
    for (int64_t col = 0; col < cols; ++col) sm[static_cast<size_t>(row * cols + col)] = std::exp(x[col] - m) / s;
  }
  Tensor logits = make_from(be, {rows, cols}, lv);
  Tensor y = make(be, {rows, cols});
  be.softmax_forward(logits, y);
  compare("softmax forward", get(be, y), sm, 1e-5, 1e-7);
}

}  // namespace alexnet::selftest
