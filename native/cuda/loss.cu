// Softmax cross-entropy (mean over the batch) with its gradient, and top-k counting. Each row is
// handled by one block (one warp for top-k) with fixed-order reductions (row_softmax.cuh), and the
// batch mean by a single block: no float atomics, so the loss has the same bits on every run. The
// arithmetic follows the CPU build's (native/cpu/loss.cc): float exponentials summed in double.
#include <math_constants.h>

#include <cmath>

#include "check.h"
#include "device_utils.cuh"
#include "kernels.h"
#include "row_softmax.cuh"

namespace alexnet::cuda {
namespace {

__global__ void cross_entropy_rows_kernel(const float* logits, const int32_t* labels, int64_t rows, int64_t cols,
                                          double* row_loss, float* dlogits) {
  __shared__ float shared_f[kRowThreads];
  __shared__ double shared_d[kRowThreads];
  const float inv_rows = 1.0f / static_cast<float>(rows);
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* in = logits + r * cols;
    const int32_t label = labels[r];
    const bool valid = label >= 0 && static_cast<int64_t>(label) < cols;  // never read in[label] otherwise
    const RowStats st = row_stats(in, cols, shared_f, shared_d);
    if (threadIdx.x == 0) {
      const double log_sum = log(st.sum) + static_cast<double>(st.max);
      row_loss[r] = valid ? log_sum - static_cast<double>(in[label]) : CUDART_NAN;
    }
    if (dlogits) {
      float* g = dlogits + r * cols;
      const float inv_sum = static_cast<float>(1.0 / st.sum);
      for (int64_t c = threadIdx.x; c < cols; c += kRowThreads) {
        const float softmax = __fmul_rn(expf(in[c] - st.max), inv_sum);
        const float onehot = (valid && c == label) ? 1.0f : 0.0f;
        g[c] = __fmul_rn(__fsub_rn(softmax, onehot), inv_rows);
      }
    }
  }
}

// A single block: the mean of the per-row losses in a fixed order.
__global__ void mean_kernel(const double* row_loss, int64_t rows, float* loss) {
  __shared__ double shared_d[kRowThreads];
  double s = 0.0;
  for (int64_t r = threadIdx.x; r < rows; r += kRowThreads) s += row_loss[r];
  s = block_sum<double, kRowThreads>(s, shared_d);
  if (threadIdx.x == 0) loss[0] = static_cast<float>(s / static_cast<double>(rows));
}

constexpr int kTopkWarps = 32;

// A single block, one warp per row at a time. A row counts when fewer than k logits beat its
// label's: strictly greater ones, and equal ones at a lower index. Counts are integers, so their
// sum does not depend on the order; the one float update of counter happens once, at the end.
__global__ void topk_kernel(const float* logits, const int32_t* labels, int64_t rows, int64_t cols, int k,
                            float* counter) {
  __shared__ long long warp_correct[kTopkWarps];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  long long correct = 0;
  for (int64_t r = warp; r < rows; r += kTopkWarps) {
    const int32_t label = labels[r];
    if (label < 0 || static_cast<int64_t>(label) >= cols) continue;  // warp-uniform
    const float* in = logits + r * cols;
    const float v = in[label];
    long long ahead = 0;
    for (int64_t c = lane; c < cols; c += 32) ahead += (in[c] > v) || (in[c] == v && c < label);
    for (int offset = 16; offset > 0; offset /= 2) ahead += __shfl_down_sync(0xffffffffu, ahead, offset);
    if (lane == 0) correct += ahead < k;
  }
  if (lane == 0) warp_correct[warp] = correct;
  __syncthreads();
  if (threadIdx.x == 0) {
    long long total = 0;
    for (int i = 0; i < kTopkWarps; ++i) total += warp_correct[i];
    counter[0] += static_cast<float>(total);
  }
}

}  // namespace

void launch_softmax_cross_entropy(cudaStream_t stream, const float* logits, const int32_t* labels, int64_t rows,
                                  int64_t cols, double* row_loss, float* loss, float* dlogits) {
  if (rows <= 0 || cols <= 0) return;
  cross_entropy_rows_kernel<<<row_blocks(rows), kRowThreads, 0, stream>>>(logits, labels, rows, cols, row_loss,
                                                                          dlogits);
  check_launch("cross_entropy_rows_kernel");
  mean_kernel<<<1, kRowThreads, 0, stream>>>(row_loss, rows, loss);
  check_launch("mean_kernel");
}

void launch_count_topk_correct(cudaStream_t stream, const float* logits, const int32_t* labels, int64_t rows,
                               int64_t cols, int k, float* counter) {
  if (rows <= 0 || cols <= 0) return;
  topk_kernel<<<1, kTopkWarps * 32, 0, stream>>>(logits, labels, rows, cols, k, counter);
  check_launch("topk_kernel");
}

}  // namespace alexnet::cuda
