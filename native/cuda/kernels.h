// Launchers for the CUDA build's own kernels (the .cu files beside this one). Each queues one or two
// kernels on `stream`, checks the launch (check.h) and returns; none synchronizes, and only
// max pooling's backward allocates (a temporary, from the caching allocator). Sizes are element
// counts; every pointer is device memory with the stated number of elements.
// Nothing here uses atomics on floats or any other order-dependent reduction: results are the same
// from run to run whatever the thread schedule.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <vector>

#include "core/op_params.h"
#include "core/resample.h"
#include "core/tensor.h"

namespace alexnet::cuda {

class CudaContext;

// elementwise.cu: fills and simple arithmetic. The random fills match the CPU build's formulas
// (native/cpu/elementwise.cc) with the same Philox stream (core/philox.h).
void launch_fill_f32(cudaStream_t stream, float* data, int64_t n, float value);
void launch_fill_i32(cudaStream_t stream, int32_t* data, int64_t n, int32_t value);
void launch_fill_uniform(cudaStream_t stream, float* data, int64_t n, float low, float high, uint64_t seed);
void launch_fill_normal(cudaStream_t stream, float* data, int64_t n, float mean, float stddev, float truncation,
                        uint64_t seed);
void launch_add_scaled(cudaStream_t stream, float* dst, const float* src, int64_t n, float alpha);  // dst += alpha*src
void launch_multiply(cudaStream_t stream, const float* a, const float* b, float* out, int64_t n);
// dst = src rounded to bfloat16 in fp32 storage (core/bfloat16.h); dst may be src
void launch_round_to_bfloat16(cudaStream_t stream, float* dst, const float* src, int64_t n);
// *counter += increment (a step scalar's counter: one thread)
void launch_advance_counter(cudaStream_t stream, uint64_t* counter, uint64_t increment);

// preprocess.cu: core/resample.h's arithmetic per output pixel. `rows`/`cols` hold device tables
// (ignored when resize is false); x is uint8 [n, c, h, w], y float32 [n, oc, oh, ow].
void launch_preprocess(cudaStream_t stream, const PreprocessParams& p, const uint8_t* x, int64_t n, int64_t c,
                       int64_t h, int64_t w, float* y, int64_t oc, int64_t oh, int64_t ow, bool resize,
                       const ResampleAxis& rows, const ResampleAxis& cols);

// activation.cu (softmax: x and y are [rows, cols])
void launch_relu_forward(cudaStream_t stream, const float* x, float* y, int64_t n);  // y = x <= 0 ? 0 : x
void launch_relu_backward(cudaStream_t stream, const float* y, const float* dy, float* dx, int64_t n);
void launch_softmax_forward(cudaStream_t stream, const float* x, float* y, int64_t rows, int64_t cols);

// dropout.cu: mask = keep ? scale : 0 with keep = unit(philox(seed, offset + i)) >= p; y = x * mask,
// seed and offset read from the step scalars (device memory) when the kernel runs.
void launch_dropout_forward(cudaStream_t stream, float p, float scale, const DropoutScalars* scalars, const float* x,
                            float* y, float* mask, int64_t n);

// loss.cu (logits are [rows, cols], labels int32 [rows])
// row_loss: a temporary of `rows` doubles. dlogits may be null.
void launch_softmax_cross_entropy(cudaStream_t stream, const float* logits, const int32_t* labels, int64_t rows,
                                  int64_t cols, double* row_loss, float* loss, float* dlogits);
void launch_count_topk_correct(cudaStream_t stream, const float* logits, const int32_t* labels, int64_t rows,
                               int64_t cols, int k, float* counter);

// sgd.cu: one update over many tensors in as few launches as the kernel-argument limit allows.
struct SgdSpan {
  float* param;
  const float* grad;
  float* momentum_buffer;  // null when momentum == 0
  int64_t n;
};
// lr and the step count come from `scalars` (device memory) when the kernel runs.
void launch_sgd_step(cudaStream_t stream, const SgdParams& p, const std::vector<SgdSpan>& spans,
                     const SgdScalars* scalars);

// adam.cu: one launch per span (a flat buffer's slice is one span).
struct AdamSpan {
  float* param;
  const float* grad;
  float* exp_avg;
  float* exp_avg_sq;
  int64_t n;
};
// lr and the step count come from `scalars` (device memory) when the kernel runs.
void launch_adam_step(cudaStream_t stream, const AdamParams& p, const std::vector<AdamSpan>& spans,
                      const AdamScalars* scalars);

// pool2d.cu: the op's tensors, [N, C, H, W] in and [N, C, OH, OW] out, as the shape checks left them.
void launch_max_pool2d_forward(cudaStream_t stream, const Pool2dGeometry& g, const Tensor& x, const Tensor& y);
// Takes a temporary from ctx for each window's first maximum, found again from x.
void launch_max_pool2d_backward(CudaContext& ctx, const Pool2dGeometry& g, const Tensor& x, const Tensor& dy,
                                const Tensor& dx);
void launch_adaptive_avg_pool2d_forward(cudaStream_t stream, const Tensor& x, const Tensor& y);
void launch_adaptive_avg_pool2d_backward(cudaStream_t stream, const Tensor& dy, const Tensor& dx);

// conv2d.cu: the convolution's own kernels (conv2d.cc runs cuDNN).
// Asymmetric zero padding around cuDNN, whose legacy descriptors pad symmetrically.
// out is [planes, h + top + bottom, w + left + right].
void launch_pad2d(cudaStream_t stream, const float* x, float* out, int64_t planes, int64_t h, int64_t w, int top,
                  int bottom, int left, int right);
// out[p, i, j] = padded[p, i + top, j + left], padded being [planes, padded_h, padded_w].
void launch_crop2d(cudaStream_t stream, const float* padded, float* out, int64_t planes, int64_t padded_h,
                   int64_t padded_w, int64_t h, int64_t w, int top, int left);
// In place on y viewed as [outer, channels, inner]: y += bias[c] (when bias is not null), then ReLU
// when relu is set. Convolution's bias (outer = N, inner = H*W), and linear's
// when its input has no features (outer = N, inner = 1).
void launch_bias_relu(cudaStream_t stream, float* y, const float* bias, int64_t outer, int64_t channels, int64_t inner,
                      bool relu);
// out[c] = sum over o and i of x[o, c, i], x viewed as [outer, channels, inner]: bias gradients of
// convolution (outer = N, inner = H*W) and of linear layers (outer = N, inner = 1).
void launch_channel_sum(cudaStream_t stream, const float* x, int64_t outer, int64_t channels, int64_t inner,
                        float* out);

}  // namespace alexnet::cuda
