// The CPU backend: every op is queued on one worker thread (see work_queue.h) and runs there with
// OpenMP threads; memory comes from caching allocators over aligned host allocations, handed out
// in queue order like a GPU stream's (see borrow below).
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

// What queued work holds of a tensor: its shape and a pointer to its memory, not ownership.
// Tensor memory is stream-ordered, as on a GPU: a block that JavaScript releases while queued ops
// still read it can be handed out again at once, because whatever uses it next is queued behind
// those ops on the same worker. So a steady-state training step reuses exactly the blocks the step
// before it released, however far the JavaScript thread has run ahead of the worker.
Tensor borrow(const Tensor& t) {
  Tensor view = t;
  view.storage = std::make_shared<Storage>(t.storage->data, t.storage->bytes, nullptr);
  return view;
}

OptTensor borrow(const OptTensor& t) { return t ? OptTensor(borrow(*t)) : std::nullopt; }

void* aligned_host_allocate(size_t bytes) { return std::aligned_alloc(64, (bytes + 63) / 64 * 64); }

class CpuBackend : public Backend {
 public:
  CpuBackend()
      : tensors_(std::make_shared<CachingAllocator>("host", aligned_host_allocate, [](void* p) { std::free(p); })),
        transient_(std::make_shared<CachingAllocator>("host", aligned_host_allocate, [](void* p) { std::free(p); })) {}

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

  std::shared_ptr<Storage> allocate(size_t bytes) override { return tensors_->allocate(bytes); }

  AllocatorStats allocator_stats() override {
    AllocatorStats a = tensors_->stats(), b = transient_->stats();
    a.system_allocations += b.system_allocations;
    a.system_frees += b.system_frees;
    a.bytes_in_use += b.bytes_in_use;
    a.bytes_cached += b.bytes_cached;
    a.peak_bytes_in_use += b.peak_bytes_in_use;
    return a;
  }

  void empty_cache() override {
    queue_.fence()->wait();  // nothing queued reads a cached block any more
    tensors_->empty_cache();
    transient_->empty_cache();
  }

  void upload(const Tensor& dst, const void* src) override {
    if (queue_.idle()) {
      // Nothing is queued, so nothing can still read the block: write it now.
      std::memcpy(dst.storage->data, src, dst.bytes());
      return;
    }
    // Queued work may read the block (it may have held other values until recently): copy through
    // a staging buffer that the queued copy owns, in queue order.
    Tensor staging{transient_->allocate(dst.bytes()), dst.shape, dst.dtype};
    std::memcpy(staging.storage->data, src, dst.bytes());
    queue_.push([dst = borrow(dst), staging] { std::memcpy(dst.storage->data, staging.storage->data, dst.bytes()); });
  }

  std::shared_ptr<Completion> download(const Tensor& src, void* dst) override {
    queue_.push([src = borrow(src), dst] { std::memcpy(dst, src.storage->data, src.bytes()); });
    return queue_.fence();
  }

  void copy(const Tensor& dst, const Tensor& src) override {
    queue_.push([dst = borrow(dst), src = borrow(src)] { std::memmove(dst.storage->data, src.storage->data, src.bytes()); });
  }

  std::shared_ptr<Completion> fence() override { return queue_.fence(); }

  void fill(const Tensor& t, float value) override {
    queue_.push([=, t = borrow(t)] { cpu::fill(t, value); });
  }
  void fill_uniform(const Tensor& t, float low, float high, uint64_t seed) override {
    queue_.push([=, t = borrow(t)] { cpu::fill_uniform(t, low, high, seed); });
  }
  void fill_normal(const Tensor& t, float mean, float stddev, float truncation, uint64_t seed) override {
    queue_.push([=, t = borrow(t)] { cpu::fill_normal(t, mean, stddev, truncation, seed); });
  }
  void add_scaled(const Tensor& dst, const Tensor& src, float alpha) override {
    queue_.push([=, dst = borrow(dst), src = borrow(src)] { cpu::add_scaled(dst, src, alpha); });
  }
  void multiply(const Tensor& a, const Tensor& b, const Tensor& out) override {
    queue_.push([a = borrow(a), b = borrow(b), out = borrow(out)] { cpu::multiply(a, b, out); });
  }

  // oneDNN's temporaries (layout conversions, scratchpads) come from the transient allocator: they
  // are taken on the worker while it runs an op, so they must never be a block that an op queued
  // later still reads.
  void conv2d_forward(const Conv2dGeometry& g, const Tensor& x, const Tensor& w, const OptTensor& b, const Tensor& y,
                      bool fuse_relu) override {
    queue_.push([=, scratch = transient_, x = borrow(x), w = borrow(w), b = borrow(b), y = borrow(y)] {
      cpu::conv2d_forward(*scratch, g, x, w, b, y, fuse_relu);
    });
  }
  void conv2d_backward_data(const Conv2dGeometry& g, const Tensor& dy, const Tensor& w, const Tensor& dx) override {
    queue_.push([=, scratch = transient_, dy = borrow(dy), w = borrow(w), dx = borrow(dx)] {
      cpu::conv2d_backward_data(*scratch, g, dy, w, dx);
    });
  }
  void conv2d_backward_filter(const Conv2dGeometry& g, const Tensor& x, const Tensor& dy, const Tensor& dw,
                              const OptTensor& db) override {
    queue_.push([=, scratch = transient_, x = borrow(x), dy = borrow(dy), dw = borrow(dw), db = borrow(db)] {
      cpu::conv2d_backward_filter(*scratch, g, x, dy, dw, db);
    });
  }

  void lrn_forward(const LrnParams& p, const Tensor& x, const Tensor& y) override {
    queue_.push([=, x = borrow(x), y = borrow(y)] { cpu::lrn_forward(p, x, y); });
  }
  void lrn_backward(const LrnParams& p, const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor& dx) override {
    queue_.push([=, x = borrow(x), y = borrow(y), dy = borrow(dy), dx = borrow(dx)] { cpu::lrn_backward(p, x, y, dy, dx); });
  }

  void max_pool2d_forward(const Pool2dGeometry& g, const Tensor& x, const Tensor& y) override {
    queue_.push([=, x = borrow(x), y = borrow(y)] { cpu::max_pool2d_forward(g, x, y); });
  }
  void max_pool2d_backward(const Pool2dGeometry& g, const Tensor& x, const Tensor& y, const Tensor& dy,
                           const Tensor& dx) override {
    queue_.push([=, x = borrow(x), y = borrow(y), dy = borrow(dy), dx = borrow(dx)] {
      cpu::max_pool2d_backward(g, x, y, dy, dx);
    });
  }
  void adaptive_avg_pool2d_forward(const Tensor& x, const Tensor& y) override {
    queue_.push([x = borrow(x), y = borrow(y)] { cpu::adaptive_avg_pool2d_forward(x, y); });
  }
  void adaptive_avg_pool2d_backward(const Tensor& dy, const Tensor& dx) override {
    queue_.push([dy = borrow(dy), dx = borrow(dx)] { cpu::adaptive_avg_pool2d_backward(dy, dx); });
  }

  void relu_forward(const Tensor& x, const Tensor& y) override {
    queue_.push([x = borrow(x), y = borrow(y)] { cpu::relu_forward(x, y); });
  }
  void relu_backward(const Tensor& y, const Tensor& dy, const Tensor& dx) override {
    queue_.push([y = borrow(y), dy = borrow(dy), dx = borrow(dx)] { cpu::relu_backward(y, dy, dx); });
  }
  void dropout_forward(float p, uint64_t seed, uint64_t offset, const Tensor& x, const Tensor& y,
                       const Tensor& mask) override {
    queue_.push([=, x = borrow(x), y = borrow(y), mask = borrow(mask)] { cpu::dropout_forward(p, seed, offset, x, y, mask); });
  }

  void linear_forward(const Tensor& x, const Tensor& w, const OptTensor& b, const Tensor& y, bool fuse_relu) override {
    queue_.push([=, x = borrow(x), w = borrow(w), b = borrow(b), y = borrow(y)] { cpu::linear_forward(x, w, b, y, fuse_relu); });
  }
  void linear_backward_data(const Tensor& dy, const Tensor& w, const Tensor& dx) override {
    queue_.push([dy = borrow(dy), w = borrow(w), dx = borrow(dx)] { cpu::linear_backward_data(dy, w, dx); });
  }
  void linear_backward_weight(const Tensor& x, const Tensor& dy, const Tensor& dw, const OptTensor& db) override {
    queue_.push([x = borrow(x), dy = borrow(dy), dw = borrow(dw), db = borrow(db)] {
      cpu::linear_backward_weight(x, dy, dw, db);
    });
  }

  void softmax_forward(const Tensor& x, const Tensor& y) override {
    queue_.push([x = borrow(x), y = borrow(y)] { cpu::softmax_forward(x, y); });
  }
  void softmax_cross_entropy(const Tensor& logits, const Tensor& labels, const Tensor& loss,
                             const OptTensor& dlogits) override {
    queue_.push([logits = borrow(logits), labels = borrow(labels), loss = borrow(loss), dlogits = borrow(dlogits)] {
      cpu::softmax_cross_entropy(logits, labels, loss, dlogits);
    });
  }
  void count_topk_correct(const Tensor& logits, const Tensor& labels, int k, const Tensor& counter) override {
    queue_.push([=, logits = borrow(logits), labels = borrow(labels), counter = borrow(counter)] {
      cpu::count_topk_correct(logits, labels, k, counter);
    });
  }

  void sgd_step(const SgdParams& p, const std::vector<SgdTensors>& tensors) override {
    std::vector<SgdTensors> views;
    views.reserve(tensors.size());
    for (const SgdTensors& t : tensors) {
      SgdTensors v;
      v.param = borrow(t.param);
      v.grad = borrow(t.grad);
      if (t.momentum_buffer.storage) v.momentum_buffer = borrow(t.momentum_buffer);
      views.push_back(std::move(v));
    }
    queue_.push([p, views = std::move(views)] {
      for (const SgdTensors& t : views) cpu::sgd_step(p, t);
    });
  }

 private:
  std::shared_ptr<CachingAllocator> tensors_;    // tensor memory, stream-ordered (see borrow)
  std::shared_ptr<CachingAllocator> transient_;  // blocks owned by queued work: staging, oneDNN temporaries
  WorkQueue queue_;  // declared last: destroyed first, so queued work finishes while the allocators live
};

}  // namespace
}  // namespace cpu

std::unique_ptr<Backend> create_backend() { return std::make_unique<cpu::CpuBackend>(); }
const char* backend_name() { return "cpu"; }

}  // namespace alexnet
