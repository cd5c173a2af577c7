// Softmax cross-entropy (mean over the batch) with its gradient, and top-k accuracy counting.
#include <cmath>
#include <limits>
#include <vector>

#include "kernels.h"

namespace alexnet::cpu {

void softmax_cross_entropy(const Tensor& logits, const Tensor& labels, const Tensor& loss, const OptTensor& dlogits) {
  const int64_t rows = logits.dim(0), cols = logits.dim(1);
  std::vector<double> row_loss(static_cast<size_t>(rows));
  const float inv_rows = 1.0f / static_cast<float>(rows);
#pragma omp parallel for schedule(static) if (rows * cols > kParallelGrain)
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = logits.f32() + r * cols;
    const int32_t label = labels.i32()[r];
    float m = -INFINITY;
    for (int64_t c = 0; c < cols; ++c) m = std::fmax(m, in[c]);
    // exp(x - m) once per element, in float, kept in the gradient row (or a scratch row) for the
    // softmax; the sum is accumulated in double.
    thread_local std::vector<float> scratch;
    float* e = dlogits ? dlogits->f32() + r * cols : (scratch.resize(static_cast<size_t>(cols)), scratch.data());
    double sum = 0.0;
    for (int64_t c = 0; c < cols; ++c) {
      e[c] = std::exp(in[c] - m);
      sum += e[c];
    }
    const bool valid = label >= 0 && label < cols;
    const double log_sum = std::log(sum) + m;
    row_loss[static_cast<size_t>(r)] = valid ? log_sum - in[label] : std::numeric_limits<double>::quiet_NaN();
    if (dlogits) {
      const float inv_sum = static_cast<float>(1.0 / sum);
      for (int64_t c = 0; c < cols; ++c) e[c] = (e[c] * inv_sum - (c == label ? 1.0f : 0.0f)) * inv_rows;
    }
  }
  double total = 0.0;
  for (double v : row_loss) total += v;
  loss.f32()[0] = static_cast<float>(total / static_cast<double>(rows));
}

// A row counts when fewer than k logits beat its label's: strictly greater ones, and equal ones
// at a lower index (the order a stable sort would give).
void count_topk_correct(const Tensor& logits, const Tensor& labels, int k, const Tensor& counter) {
  const int64_t rows = logits.dim(0), cols = logits.dim(1);
  int64_t correct = 0;
#pragma omp parallel for reduction(+ : correct) schedule(static) if (rows * cols > kParallelGrain)
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = logits.f32() + r * cols;
    const int32_t label = labels.i32()[r];
    if (label < 0 || label >= cols) continue;
    const float v = in[label];
    int64_t ahead = 0;
    for (int64_t c = 0; c < cols; ++c) ahead += (in[c] > v) || (in[c] == v && c < label);
    correct += ahead < k;
  }
  counter.f32()[0] += static_cast<float>(correct);
}

}  // namespace alexnet::cpu
