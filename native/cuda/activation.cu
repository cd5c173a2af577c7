// ReLU forward and backward, and softmax over the rows of [rows, cols] logits.
// ReLU follows PyTorch: y = x <= 0 ? 0 : x lets NaN through, and the backward uses the output,
// dx = y <= 0 ? 0 : dy (PyTorch's threshold_backward), exactly as the CPU build. Softmax follows
// the CPU build's arithmetic (native/cpu/activation.cc): float exponentials summed in double.
#include "check.h"
#include "device_utils.cuh"
#include "kernels.h"
#include "row_softmax.cuh"

namespace alexnet::cuda {
namespace {

__global__ void relu_forward_kernel(const float* x, float* y, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += grid_stride()) y[i] = relu(x[i]);
}

__global__ void relu_backward_kernel(const float* y, const float* dy, float* dx, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += grid_stride()) dx[i] = y[i] <= 0.0f ? 0.0f : dy[i];
}

__global__ void softmax_kernel(const float* x, float* y, int64_t rows, int64_t cols) {
  __shared__ float shared_f[kRowThreads];
  __shared__ double shared_d[kRowThreads];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* in = x + r * cols;
    float* out = y + r * cols;
    const RowStats st = row_stats(in, cols, shared_f, shared_d);
    const float inv = static_cast<float>(1.0 / st.sum);
    for (int64_t c = threadIdx.x; c < cols; c += kRowThreads) out[c] = __fmul_rn(expf(in[c] - st.max), inv);
  }
}

}  // namespace

void launch_relu_forward(cudaStream_t stream, const float* x, float* y, int64_t n) {
  if (n <= 0) return;
  relu_forward_kernel<<<grid_for(n), kThreads, 0, stream>>>(x, y, n);
  check_launch("relu_forward_kernel");
}

void launch_relu_backward(cudaStream_t stream, const float* y, const float* dy, float* dx, int64_t n) {
  if (n <= 0) return;
  relu_backward_kernel<<<grid_for(n), kThreads, 0, stream>>>(y, dy, dx, n);
  check_launch("relu_backward_kernel");
}

void launch_softmax_forward(cudaStream_t stream, const float* x, float* y, int64_t rows, int64_t cols) {
  if (rows <= 0 || cols <= 0) return;
  softmax_kernel<<<row_blocks(rows), kRowThreads, 0, stream>>>(x, y, rows, cols);
  check_launch("softmax_kernel");
}

}  // namespace alexnet::cuda
