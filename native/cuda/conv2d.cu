// The convolution's own kernels, beside cuDNN's calls (conv2d.cc):
//  - Zero padding and cropping when the padding is asymmetric (Keras' ZeroPadding2D, TensorFlow's
//    'SAME' with an even total): cuDNN's legacy descriptors only pad symmetrically, so the input is
//    copied into a zero-padded buffer and cuDNN runs unpadded; the data gradient is computed for
//    the padded buffer and cropped back.
//  - The bias (+ ReLU) epilogue, when cuDNN's fused call is not used, and the bias gradient (a
//    deterministic per-channel sum). The fully connected layers (linear.cc) use both too.
#include "check.h"
#include "device_utils.cuh"
#include "kernels.h"

namespace alexnet::cuda {
namespace {

__global__ void pad2d_kernel(const float* x, float* out, int64_t planes, int64_t h, int64_t w, int top, int left,
                             int64_t out_h, int64_t out_w) {
  const int64_t total = planes * out_h * out_w;
  for (int64_t e = global_thread(); e < total; e += grid_stride()) {
    const int64_t j = e % out_w, i = (e / out_w) % out_h, p = e / (out_w * out_h);
    const int64_t si = i - top, sj = j - left;
    out[e] = (si >= 0 && si < h && sj >= 0 && sj < w) ? x[(p * h + si) * w + sj] : 0.0f;
  }
}

__global__ void crop2d_kernel(const float* padded, float* out, int64_t planes, int64_t padded_h, int64_t padded_w,
                              int64_t h, int64_t w, int top, int left) {
  const int64_t total = planes * h * w;
  for (int64_t e = global_thread(); e < total; e += grid_stride()) {
    const int64_t j = e % w, i = (e / w) % h, p = e / (w * h);
    out[e] = padded[(p * padded_h + i + top) * padded_w + j + left];
  }
}

// y += bias[c], then ReLU when asked; y viewed as [outer, channels, inner].
__global__ void bias_relu_kernel(float* y, const float* bias, int64_t n, int64_t channels, int64_t inner,
                                 bool apply_relu) {
  for (int64_t i = global_thread(); i < n; i += grid_stride()) {
    float v = y[i];
    if (bias) v = __fadd_rn(v, bias[(i / inner) % channels]);
    y[i] = apply_relu ? relu(v) : v;
  }
}

constexpr int kSumThreads = 256;

// One block per channel; each thread sums a fixed, strided subset in double, then a fixed tree
// adds the partial sums: deterministic, and accurate for the ~400k terms of a conv layer's batch.
__global__ void channel_sum_kernel(const float* x, int64_t outer, int64_t channels, int64_t inner, float* out) {
  __shared__ double partial[kSumThreads];
  const int64_t count = outer * inner;
  for (int64_t c = blockIdx.x; c < channels; c += gridDim.x) {
    double sum = 0.0;
    for (int64_t j = threadIdx.x; j < count; j += kSumThreads) {
      const int64_t o = j / inner, i = j - o * inner;
      sum += static_cast<double>(x[(o * channels + c) * inner + i]);
    }
    const double total = block_sum<double, kSumThreads>(sum, partial);
    if (threadIdx.x == 0) out[c] = static_cast<float>(total);
  }
}

}  // namespace

void launch_pad2d(cudaStream_t stream, const float* x, float* out, int64_t planes, int64_t h, int64_t w, int top,
                  int bottom, int left, int right) {
  const int64_t out_h = h + top + bottom, out_w = w + left + right, total = planes * out_h * out_w;
  if (total <= 0) return;
  pad2d_kernel<<<grid_for(total), kThreads, 0, stream>>>(x, out, planes, h, w, top, left, out_h, out_w);
  check_launch("pad2d_kernel");
}

void launch_crop2d(cudaStream_t stream, const float* padded, float* out, int64_t planes, int64_t padded_h,
                   int64_t padded_w, int64_t h, int64_t w, int top, int left) {
  const int64_t total = planes * h * w;
  if (total <= 0) return;
  // The crop must lie inside the padded plane; the caller guarantees it, checked here once more.
  if (top < 0 || left < 0 || top + h > padded_h || left + w > padded_w) {
    throw_cuda_error(cudaErrorInvalidValue, "launch_crop2d (crop outside the padded plane)");
  }
  crop2d_kernel<<<grid_for(total), kThreads, 0, stream>>>(padded, out, planes, padded_h, padded_w, h, w, top, left);
  check_launch("crop2d_kernel");
}

void launch_bias_relu(cudaStream_t stream, float* y, const float* bias, int64_t outer, int64_t channels, int64_t inner,
                      bool relu) {
  const int64_t n = outer * channels * inner;
  if (n <= 0 || (!bias && !relu)) return;
  bias_relu_kernel<<<grid_for(n), kThreads, 0, stream>>>(y, bias, n, channels, inner, relu);
  check_launch("bias_relu_kernel");
}

void launch_channel_sum(cudaStream_t stream, const float* x, int64_t outer, int64_t channels, int64_t inner,
                        float* out) {
  if (channels <= 0) return;
  const unsigned blocks = static_cast<unsigned>(channels < 65535 ? channels : 65535);
  channel_sum_kernel<<<blocks, kSumThreads, 0, stream>>>(x, outer, channels, inner, out);
  check_launch("channel_sum_kernel");
}

}  // namespace alexnet::cuda
