// What softmax (activation.cu) and the softmax cross-entropy (loss.cu) compute alike for each row
// of [rows, cols] logits: the maximum and the sum of exponentials, one block per row, reduced in a
// fixed order so that both give the same bits on every run.
#pragma once

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

#include "device_utils.cuh"

namespace alexnet::cuda {

constexpr int kRowThreads = 256;

struct RowStats {
  float max;   // fmaxf over the row (NaN ignored, as the CPU build's std::fmax)
  double sum;  // sum of expf(x - max), in double
};

// Must be reached by every thread of the block.
__device__ inline RowStats row_stats(const float* in, int64_t cols, float* shared_f, double* shared_d) {
  float m = -INFINITY;
  for (int64_t c = threadIdx.x; c < cols; c += kRowThreads) m = fmaxf(m, in[c]);
  m = block_max<kRowThreads>(m, shared_f);
  double s = 0.0;
  for (int64_t c = threadIdx.x; c < cols; c += kRowThreads) s += static_cast<double>(expf(in[c] - m));
  s = block_sum<double, kRowThreads>(s, shared_d);
  return RowStats{m, s};
}

// One block per row, up to the grid's limit (the kernels stride over the rest).
inline unsigned row_blocks(int64_t rows) { return static_cast<unsigned>(rows < 65535 ? rows : 65535); }

}  // namespace alexnet::cuda
