// Softmax cross-entropy (with and without the gradient, out-of-range labels, a large batch and
// its repeatability) and top-k counting with ties.
#include <algorithm>
#include <cmath>

#include "selftest.h"

namespace alexnet::selftest {

void test_loss(Backend& be) {
  const int64_t rows = 7, cols = 13;
  auto lv = random_vector(static_cast<size_t>(rows * cols), 51, -3.0f, 3.0f);
  std::vector<int32_t> labels{0, 12, 5, 3, 3, 7, 1};
  std::vector<double> sm(lv.size()), grad(lv.size());
  double total = 0;
  for (int64_t r = 0; r < rows; ++r) {
    double m = -INFINITY, s = 0;
    for (int64_t c = 0; c < cols; ++c) m = std::max<double>(m, lv[static_cast<size_t>(r * cols + c)]);
    for (int64_t c = 0; c < cols; ++c) s += std::exp(lv[static_cast<size_t>(r * cols + c)] - m);
    for (int64_t c = 0; c < cols; ++c) {
      sm[static_cast<size_t>(r * cols + c)] = std::exp(lv[static_cast<size_t>(r * cols + c)] - m) / s;
      grad[static_cast<size_t>(r * cols + c)] =
          (sm[static_cast<size_t>(r * cols + c)] - (c == labels[static_cast<size_t>(r)] ? 1 : 0)) / rows;
    }
    total += std::log(s) + m - lv[static_cast<size_t>(r * cols + labels[static_cast<size_t>(r)])];
  }
  Tensor logits = make_from(be, {rows, cols}, lv);
  Tensor lab = make_labels(be, labels);
  Tensor loss = make(be, {1});
  OptTensor dl = make(be, {rows, cols});
  be.softmax_cross_entropy(logits, lab, loss, dl);
  compare("softmax cross-entropy loss", get(be, loss), {total / rows}, 1e-5, 1e-6);
  compare("softmax cross-entropy gradient", get(be, *dl), grad, 1e-5, 1e-7);
  be.softmax_cross_entropy(logits, lab, loss, std::nullopt);
  compare("softmax cross-entropy loss without gradient", get(be, loss), {total / rows}, 1e-5, 1e-6);

  // An out-of-range label: NaN loss, no crash; its gradient row is softmax / N.
  std::vector<int32_t> bad = labels;
  bad[2] = 13;
  bad[4] = -1;
  Tensor badt = make_labels(be, bad);
  be.softmax_cross_entropy(logits, badt, loss, dl);
  const auto lossv = get(be, loss);
  report(std::isnan(lossv[0]), "softmax cross-entropy out-of-range label gives NaN", std::to_string(lossv[0]));
  auto g2 = grad;
  for (int64_t c = 0; c < cols; ++c) {
    g2[static_cast<size_t>(2 * cols + c)] = sm[static_cast<size_t>(2 * cols + c)] / rows;
    g2[static_cast<size_t>(4 * cols + c)] = sm[static_cast<size_t>(4 * cols + c)] / rows;
  }
  compare("softmax cross-entropy out-of-range label gradient", get(be, *dl), g2, 1e-5, 1e-7);

  // Large batch for the single-block reduction.
  const int64_t big_rows = 1000, big_cols = 1000;
  auto bl = random_vector(static_cast<size_t>(big_rows * big_cols), 52, -5.0f, 5.0f);
  std::vector<int32_t> big_labels(static_cast<size_t>(big_rows));
  for (int64_t r = 0; r < big_rows; ++r) big_labels[static_cast<size_t>(r)] = int32_t((r * 37) % big_cols);
  double big_total = 0;
  for (int64_t r = 0; r < big_rows; ++r) {
    double m = -INFINITY, s = 0;
    for (int64_t c = 0; c < big_cols; ++c) m = std::max<double>(m, bl[static_cast<size_t>(r * big_cols + c)]);
    for (int64_t c = 0; c < big_cols; ++c) s += std::exp(bl[static_cast<size_t>(r * big_cols + c)] - m);
    big_total += std::log(s) + m - bl[static_cast<size_t>(r * big_cols + big_labels[static_cast<size_t>(r)])];
  }
  Tensor bigt = make_from(be, {big_rows, big_cols}, bl);
  Tensor biglab = make_labels(be, big_labels);
  be.softmax_cross_entropy(bigt, biglab, loss, std::nullopt);
  const auto first = get(be, loss);
  compare("softmax cross-entropy 1000x1000", first, {big_total / big_rows}, 1e-5, 1e-6);
  be.softmax_cross_entropy(bigt, biglab, loss, std::nullopt);
  exact("softmax cross-entropy deterministic", get(be, loss), first);
}

void test_topk(Backend& be) {
  const int64_t rows = 200, cols = 10;
  const auto lv = tie_vector(static_cast<size_t>(rows * cols), 61, 5);
  std::vector<int32_t> labels(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) labels[static_cast<size_t>(r)] = int32_t((r * 7) % cols);
  labels[3] = -1;
  labels[4] = int32_t(cols);
  Tensor logits = make_from(be, {rows, cols}, lv);
  Tensor lab = make_labels(be, labels);
  for (int k : {1, 3, 10}) {
    int64_t correct = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const int32_t l = labels[static_cast<size_t>(r)];
      if (l < 0 || l >= cols) continue;
      const float v = lv[static_cast<size_t>(r * cols + l)];
      int64_t ahead = 0;
      for (int64_t c = 0; c < cols; ++c)
        ahead += lv[static_cast<size_t>(r * cols + c)] > v || (lv[static_cast<size_t>(r * cols + c)] == v && c < l);
      correct += ahead < k;
    }
    Tensor counter = make_from(be, {1}, {5.0f});
    be.count_topk_correct(logits, lab, k, counter);
    compare("top-" + std::to_string(k) + " count", get(be, counter), {5.0 + correct}, 0, 0);
  }
}

}  // namespace alexnet::selftest
