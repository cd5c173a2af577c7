// Zero padding and cropping around cuDNN's convolutions when the padding is asymmetric (Keras'
// ZeroPadding2D, TensorFlow's 'SAME' with an even total): cuDNN's legacy descriptors only pad
// symmetrically, so the input is copied into a zero-padded buffer and cuDNN runs unpadded; the
// data gradient is computed for the padded buffer and cropped back.
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

}  // namespace alexnet::cuda
