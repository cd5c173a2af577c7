// The op interface every backend implements. Calls enqueue work on the backend's queue (the CPU
// build's worker thread, the CUDA build's stream) and return at once; output tensors are allocated
// by the caller with allocate(). Shapes have been validated (see shapes.h) before any call here.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "op_params.h"
#include "tensor.h"

namespace alexnet {

using OptTensor = std::optional<Tensor>;

// A pending device-to-host copy. wait() blocks until the bytes are in place (call it off the JS
// thread) and throws the error of any queued op that failed before it.
struct Completion {
  virtual ~Completion() = default;
  virtual void wait() = 0;
};

struct AllocatorStats {
  uint64_t system_allocations = 0;  // calls to malloc / cudaMalloc (a steady state adds none)
  uint64_t system_frees = 0;
  uint64_t bytes_in_use = 0;        // held by live tensors
  uint64_t bytes_cached = 0;        // held by the cache, ready for reuse
  uint64_t peak_bytes_in_use = 0;
};

using InfoValue = std::variant<std::string, double, bool>;
using Info = std::map<std::string, InfoValue>;

struct SgdTensors {
  Tensor param, grad, momentum_buffer;  // momentum_buffer unused when momentum == 0
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Info info() = 0;

  // Settings. The CPU build computes in fp32 always and ignores the math mode.
  virtual void set_math_mode(MathMode mode) = 0;
  virtual void set_deterministic(bool on) = 0;

  // Memory and transfers.
  virtual std::shared_ptr<Storage> allocate(size_t bytes) = 0;  // throws OutOfMemoryError
  virtual AllocatorStats allocator_stats() = 0;
  virtual void empty_cache() = 0;
  virtual void upload(const Tensor& dst, const void* src) = 0;  // src may be reused once this returns
  virtual std::shared_ptr<Completion> download(const Tensor& src, void* dst) = 0;
  virtual void copy(const Tensor& dst, const Tensor& src) = 0;
  // Completes when all work queued so far has run; its wait() throws the first queued failure.
  virtual std::shared_ptr<Completion> fence() = 0;
  void synchronize() { fence()->wait(); }

  // Elementwise and fills.
  virtual void fill(const Tensor& t, float value) = 0;
  // Counter-based (Philox 4x32-10) random numbers: the same seed gives the same values on every backend.
  virtual void fill_uniform(const Tensor& t, float low, float high, uint64_t seed) = 0;
  // truncation > 0 redraws values more than `truncation` standard deviations from the mean (see philox.h).
  virtual void fill_normal(const Tensor& t, float mean, float stddev, float truncation, uint64_t seed) = 0;
  virtual void add_scaled(const Tensor& dst, const Tensor& src, float alpha) = 0;  // dst += alpha * src

  // Convolution; y = relu(conv(x) + b) when fuse_relu.
  virtual void conv2d_forward(const Conv2dGeometry& g, const Tensor& x, const Tensor& w, const OptTensor& b,
                              const Tensor& y, bool fuse_relu) = 0;
  virtual void conv2d_backward_data(const Conv2dGeometry& g, const Tensor& dy, const Tensor& w, const Tensor& dx) = 0;
  virtual void conv2d_backward_filter(const Conv2dGeometry& g, const Tensor& x, const Tensor& dy, const Tensor& dw,
                                      const OptTensor& db) = 0;

  virtual void lrn_forward(const LrnParams& p, const Tensor& x, const Tensor& y) = 0;
  virtual void lrn_backward(const LrnParams& p, const Tensor& x, const Tensor& y, const Tensor& dy,
                            const Tensor& dx) = 0;

  virtual void max_pool2d_forward(const Pool2dGeometry& g, const Tensor& x, const Tensor& y) = 0;
  // dx receives dy at the first maximum of each window (PyTorch's choice on ties).
  virtual void max_pool2d_backward(const Pool2dGeometry& g, const Tensor& x, const Tensor& y, const Tensor& dy,
                                   const Tensor& dx) = 0;

  // Output size comes from y's shape; windows as PyTorch's AdaptiveAvgPool2d.
  virtual void adaptive_avg_pool2d_forward(const Tensor& x, const Tensor& y) = 0;
  virtual void adaptive_avg_pool2d_backward(const Tensor& dy, const Tensor& dx) = 0;

  virtual void relu_forward(const Tensor& x, const Tensor& y) = 0;
  virtual void relu_backward(const Tensor& y, const Tensor& dy, const Tensor& dx) = 0;  // dx = y > 0 ? dy : 0

  // Inverted dropout: mask = (u >= p) / (1 - p) with u from Philox(seed, offset + element index); y = x * mask.
  virtual void dropout_forward(float p, uint64_t seed, uint64_t offset, const Tensor& x, const Tensor& y,
                               const Tensor& mask) = 0;
  virtual void multiply(const Tensor& a, const Tensor& b, const Tensor& out) = 0;  // dropout backward: dy * mask

  // Fully connected: y[n, o] = sum_i x[n, i] w[o, i] + b[o]; y = relu(...) when fuse_relu.
  virtual void linear_forward(const Tensor& x, const Tensor& w, const OptTensor& b, const Tensor& y,
                              bool fuse_relu) = 0;
  virtual void linear_backward_data(const Tensor& dy, const Tensor& w, const Tensor& dx) = 0;
  virtual void linear_backward_weight(const Tensor& x, const Tensor& dy, const Tensor& dw, const OptTensor& db) = 0;

  virtual void softmax_forward(const Tensor& x, const Tensor& y) = 0;
  // loss[0] = mean over the batch of -log softmax(logits)[label]; dlogits = (softmax - onehot) / N.
  // An out-of-range label gives a NaN loss (and no out-of-bounds access).
  virtual void softmax_cross_entropy(const Tensor& logits, const Tensor& labels, const Tensor& loss,
                                     const OptTensor& dlogits) = 0;
  // counter[0] += number of rows whose label is among the k largest logits (ties counted against).
  virtual void count_topk_correct(const Tensor& logits, const Tensor& labels, int k, const Tensor& counter) = 0;

  virtual void sgd_step(const SgdParams& p, const std::vector<SgdTensors>& tensors) = 0;
};

// Defined once per build (cpu/ or cuda/): creates that build's backend, or throws BackendError
// saying why it cannot (no device, a library missing).
std::unique_ptr<Backend> create_backend();
// The build's name: "cpu" or "cuda".
const char* backend_name();

}  // namespace alexnet
