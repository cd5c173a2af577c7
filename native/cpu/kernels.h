// The CPU build's arithmetic: one function per op of core/op_list.h, of the same name and
// parameters (convolution's take an allocator first), which backend_cpu.cc calls on its worker
// thread; one that is missing or differs does not compile. Each runs synchronously and uses OpenMP
// threads inside; oneDNN does convolution and GEMM. Grouped by the file (the op's stem) holding them.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/backend.h"
#include "core/caching_allocator.h"

namespace alexnet::cpu {

// Loops over fewer elements than this run on one thread: waking OpenMP's team and meeting at its
// barrier costs more than the work (PyTorch's at::parallel_for uses the same grain), and far more
// when other processes hold the cores and a thread of the team is descheduled.
constexpr int64_t kParallelGrain = 1 << 15;

// conv2d.cc (oneDNN); temporaries (layout conversions, scratchpads) come from `allocator`.
void conv2d_forward(CachingAllocator& allocator, const Conv2dGeometry& g, const Tensor& x, const Tensor& w,
                    const OptTensor& b, const Tensor& y, bool fuse_relu);
void conv2d_backward_data(CachingAllocator& allocator, const Conv2dGeometry& g, const Tensor& dy, const Tensor& w,
                          const Tensor& dx);
void conv2d_backward_filter(CachingAllocator& allocator, const Conv2dGeometry& g, const Tensor& x, const Tensor& dy,
                            const Tensor& dw, const OptTensor& db);

// linear.cc (oneDNN's sgemm)
void linear_forward(const Tensor& x, const Tensor& w, const OptTensor& b, const Tensor& y, bool fuse_relu);
void linear_backward_data(const Tensor& dy, const Tensor& w, const Tensor& dx);
void linear_backward_weight(const Tensor& x, const Tensor& dy, const Tensor& dw, const OptTensor& db);
void linear_forward_relu_mask(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y, const Tensor& mask);
void linear_backward_data_relu(const Tensor& dy, const Tensor& w, const Tensor& mask, const Tensor& dx,
                               const Tensor& db);

// lrn.cc
void lrn_forward(const LrnParams& p, const Tensor& x, const Tensor& y);
void lrn_backward(const LrnParams& p, const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor& dx);

// pool2d.cc
void max_pool2d_forward(const Pool2dGeometry& g, const Tensor& x, const Tensor& y);
// Backward finds each window's first maximum from x and the forward's output y.
void max_pool2d_backward(const Pool2dGeometry& g, const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor& dx);
void adaptive_avg_pool2d_forward(const Tensor& x, const Tensor& y);
void adaptive_avg_pool2d_backward(const Tensor& dy, const Tensor& dx);

// activation.cc
void relu_forward(const Tensor& x, const Tensor& y);
void relu_backward(const Tensor& y, const Tensor& dy, const Tensor& dx);
void softmax_forward(const Tensor& x, const Tensor& y);

// dropout.cc
void dropout_forward(float p, const Tensor& scalars, const Tensor& x, const Tensor& y, const Tensor& mask);

// loss.cc
void softmax_cross_entropy(const Tensor& logits, const Tensor& labels, const Tensor& loss, const OptTensor& dlogits);
void count_topk_correct(const Tensor& logits, const Tensor& labels, int k, const Tensor& counter);

// sgd.cc
void sgd_step(const SgdParams& p, const std::vector<SgdTensors>& tensors, const Tensor& scalars);

// adam.cc
void adam_step(const AdamParams& p, const std::vector<AdamTensors>& tensors, const Tensor& scalars);

// preprocess.cc
void preprocess(const PreprocessParams& p, const Tensor& x, const Tensor& y);

// elementwise.cc
void fill(const Tensor& t, float value);
void fill_uniform(const Tensor& t, float low, float high, uint64_t seed);
void fill_normal(const Tensor& t, float mean, float stddev, float truncation, uint64_t seed);
void add_scaled(const Tensor& dst, const Tensor& src, float alpha);
void multiply(const Tensor& a, const Tensor& b, const Tensor& out);
void copy(const Tensor& dst, const Tensor& src);
void round_to_bfloat16(const Tensor& dst, const Tensor& src);
void advance_counter(const Tensor& t, int word, uint64_t increment);

}  // namespace alexnet::cpu
