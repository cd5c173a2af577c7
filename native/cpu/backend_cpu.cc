// The CPU backend: every op is queued on one worker thread (see work_queue.h) and runs there with
// OpenMP threads; memory comes from a caching allocator over aligned host allocations.
#include <dnnl.hpp>
#include <omp.h>

#include <cstdlib>
#include <cstring>
#include <fstream>

#include "core/caching_allocator.h"
#include "core/errors.h"
#include "kernels.h"
#include "work_queue.h"

namespace alexnet {
namespace cpu {
namespace {

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown CPU";
}

class CpuBackend : public Backend {
 public:
  CpuBackend()
      : allocator_(std::make_shared<CachingAllocator>(
            "host",
            [](size_t bytes) -> void* { return std::aligned_alloc(64, (bytes + 63) / 64 * 64); },
            [](void* p) { std::free(p); })) {}

  Info info() override {
    const dnnl_version_t* v = dnnl_version();
    return Info{
        {"backend", std::string("cpu")},
        {"device", cpu_model_name()},
        {"threads", double(omp_get_max_threads())},
        {"onednn", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch)},
        {"mathMode", std::string("fp32")},
    };
  }

  void set_math_mode(MathMode) override {}  // always fp32
  void set_deterministic(bool) override {}  // oneDNN and our loops give the same bits for a fixed thread count

  std::shared_ptr<Storage> allocate(size_t bytes) override { return allocator_->allocate(bytes); }
  AllocatorStats allocator_stats() override { return allocator_->stats(); }
  void empty_cache() override {
    queue_.fence()->wait();  // blocks freed by queued work have come back by now
    allocator_->empty_cache();
  }

  void upload(const Tensor& dst, const void* src) override {
    if (dst.storage.use_count() == 1) {
      // Nothing queued refers to this block, so it can be written now.
      std::memcpy(dst.storage->data, src, dst.bytes());
      return;
    }
    // Queued work may still read the block: copy through a staging buffer, in queue order.
    Tensor staging{allocator_->allocate(dst.bytes()), dst.shape, dst.dtype};
    std::memcpy(staging.storage->data, src, dst.bytes());
    queue_.push([dst, staging] { std::memcpy(dst.storage->data, staging.storage->data, dst.bytes()); });
  }

  std::shared_ptr<Completion> download(const Tensor& src, void* dst) override {
    queue_.push([src, dst] { std::memcpy(dst, src.storage->data, src.bytes()); });
    return queue_.fence();
  }

  void copy(const Tensor& dst, const Tensor& src) override {
    queue_.push([dst, src] { std::memmove(dst.storage->data, src.storage->data, src.bytes()); });
  }

  std::shared_ptr<Completion> fence() override { return queue_.fence(); }

  void fill(const Tensor& t, float value) override {
    queue_.push([=] { cpu::fill(t, value); });
  }
  void fill_uniform(const Tensor& t, float low, float high, uint64_t seed) override {
    queue_.push([=] { cpu::fill_uniform(t, low, high, seed); });
  }
  void fill_normal(const Tensor& t, float mean, float stddev, uint64_t seed) override {
    queue_.push([=] { cpu::fill_normal(t, mean, stddev, seed); });
  }
  void add_scaled(const Tensor& dst, const Tensor& src, float alpha) override {
    queue_.push([=] { cpu::add_scaled(dst, src, alpha); });
  }
  void multiply(const Tensor& a, const Tensor& b, const Tensor& out) override {
    queue_.push([=] { cpu::multiply(a, b, out); });
  }

  void conv2d_forward(const Conv2dGeometry& g, const Tensor& x, const Tensor& w, const OptTensor& b, const Tensor& y,
                      bool fuse_relu) override {
    queue_.push([=, allocator = allocator_] { cpu::conv2d_forward(*allocator, g, x, w, b, y, fuse_relu); });
  }
  void conv2d_backward_data(const Conv2dGeometry& g, const Tensor& dy, const Tensor& w, const Tensor& dx) override {
    queue_.push([=, allocator = allocator_] { cpu::conv2d_backward_data(*allocator, g, dy, w, dx); });
  }
  void conv2d_backward_filter(const Conv2dGeometry& g, const Tensor& x, const Tensor& dy, const Tensor& dw,
                              const OptTensor& db) override {
    queue_.push([=, allocator = allocator_] { cpu::conv2d_backward_filter(*allocator, g, x, dy, dw, db); });
  }

  void lrn_forward(const LrnParams& p, const Tensor& x, const Tensor& y) override {
    queue_.push([=] { cpu::lrn_forward(p, x, y); });
  }
  void lrn_backward(const LrnParams& p, const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor& dx) override {
    queue_.push([=] { cpu::lrn_backward(p, x, y, dy, dx); });
  }

  void max_pool2d_forward(const Pool2dGeometry& g, const Tensor& x, const Tensor& y) override {
    queue_.push([=] { cpu::max_pool2d_forward(g, x, y); });
  }
  void max_pool2d_backward(const Pool2dGeometry& g, const Tensor& x, const Tensor& y, const Tensor& dy,
                           const Tensor& dx) override {
    queue_.push([=] { cpu::max_pool2d_backward(g, x, y, dy, dx); });
  }
  void adaptive_avg_pool2d_forward(const Tensor& x, const Tensor& y) override {
    queue_.push([=] { cpu::adaptive_avg_pool2d_forward(x, y); });
  }
  void adaptive_avg_pool2d_backward(const Tensor& dy, const Tensor& dx) override {
    queue_.push([=] { cpu::adaptive_avg_pool2d_backward(dy, dx); });
  }

  void relu_forward(const Tensor& x, const Tensor& y) override {
    queue_.push([=] { cpu::relu_forward(x, y); });
  }
  void relu_backward(const Tensor& y, const Tensor& dy, const Tensor& dx) override {
    queue_.push([=] { cpu::relu_backward(y, dy, dx); });
  }
  void dropout_forward(float p, uint64_t seed, uint64_t offset, const Tensor& x, const Tensor& y,
                       const Tensor& mask) override {
    queue_.push([=] { cpu::dropout_forward(p, seed, offset, x, y, mask); });
  }

  void linear_forward(const Tensor& x, const Tensor& w, const OptTensor& b, const Tensor& y, bool fuse_relu) override {
    queue_.push([=] { cpu::linear_forward(x, w, b, y, fuse_relu); });
  }
  void linear_backward_data(const Tensor& dy, const Tensor& w, const Tensor& dx) override {
    queue_.push([=] { cpu::linear_backward_data(dy, w, dx); });
  }
  void linear_backward_weight(const Tensor& x, const Tensor& dy, const Tensor& dw, const OptTensor& db) override {
    queue_.push([=] { cpu::linear_backward_weight(x, dy, dw, db); });
  }

  void softmax_forward(const Tensor& x, const Tensor& y) override {
    queue_.push([=] { cpu::softmax_forward(x, y); });
  }
  void softmax_cross_entropy(const Tensor& logits, const Tensor& labels, const Tensor& loss,
                             const OptTensor& dlogits) override {
    queue_.push([=] { cpu::softmax_cross_entropy(logits, labels, loss, dlogits); });
  }
  void count_topk_correct(const Tensor& logits, const Tensor& labels, int k, const Tensor& counter) override {
    queue_.push([=] { cpu::count_topk_correct(logits, labels, k, counter); });
  }

  void sgd_step(const SgdParams& p, const std::vector<SgdTensors>& tensors) override {
    queue_.push([=] {
      for (const SgdTensors& t : tensors) cpu::sgd_step(p, t);
    });
  }

 private:
  std::shared_ptr<CachingAllocator> allocator_;
  WorkQueue queue_;  // declared last: destroyed first, so queued work finishes while the allocator lives
};

}  // namespace
}  // namespace cpu

std::unique_ptr<Backend> create_backend() { return std::make_unique<cpu::CpuBackend>(); }
const char* backend_name() { return "cpu"; }

}  // namespace alexnet
