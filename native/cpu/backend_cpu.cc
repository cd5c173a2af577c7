// The CPU backend: every op is queued on one worker thread (see work_queue.h) and runs there with
// OpenMP threads; memory comes from caching allocators over aligned host allocations, handed out
// in queue order like a GPU stream's (see borrow below).
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <dnnl.hpp>
#include <fstream>
#include <tuple>
#include <type_traits>

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
  if (!t.storage) return t;  // an absent tensor (SGD without momentum has no buffers)
  Tensor view = t;
  view.storage = std::make_shared<Storage>(t.storage->data, t.storage->bytes, nullptr);
  return view;
}

OptTensor borrow(const OptTensor& t) { return t ? OptTensor(borrow(*t)) : std::nullopt; }

std::vector<SgdTensors> borrow(const std::vector<SgdTensors>& tensors) {
  std::vector<SgdTensors> views;
  views.reserve(tensors.size());
  for (const SgdTensors& t : tensors) views.push_back({borrow(t.param), borrow(t.grad), borrow(t.momentum_buffer)});
  return views;
}

// Everything else an op takes (geometry, parameters, numbers) is copied into the queued work.
template <typename T>
T borrow(const T& value) {
  return value;
}

void* aligned_host_allocate(size_t bytes) { return std::aligned_alloc(64, (bytes + 63) / 64 * 64); }

// The CPU's graph: the closures a capture queued, queued again as one item at every launch. Like a
// CUDA graph it holds raw pointers into memory that its pool keeps reserved, and reads whatever
// those hold when it runs (the step scalars above all).
class CpuGraph : public Graph {
 public:
  CpuGraph(WorkQueue& queue, std::vector<std::function<void()>> work)
      : queue_(queue), work_(std::make_shared<const std::vector<std::function<void()>>>(std::move(work))) {}
  void launch() override {
    queue_.push([work = work_] {
      for (const auto& item : *work) item();
    });
  }

 private:
  WorkQueue& queue_;
  std::shared_ptr<const std::vector<std::function<void()>>> work_;
};

// The worker's busy time at a point in the queue.
class CpuMark : public QueueMark {
 public:
  std::shared_ptr<Completion> reached;
  std::shared_ptr<uint64_t> busy_ns = std::make_shared<uint64_t>(0);
  double ms_since(QueueMark& earlier) override {
    auto& other = dynamic_cast<CpuMark&>(earlier);
    reached->wait();
    other.reached->wait();
    return static_cast<double>(*busy_ns - *other.busy_ns) / 1e6;
  }
};

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

  std::shared_ptr<Storage> allocate(size_t bytes) override { return (pool_ ? pool_ : tensors_)->allocate(bytes); }

  AllocatorStats allocator_stats() override {
    AllocatorStats total = tensors_->stats();
    auto add = [&](const AllocatorStats& b) {
      total.system_allocations += b.system_allocations;
      total.system_frees += b.system_frees;
      total.bytes_in_use += b.bytes_in_use;
      total.bytes_cached += b.bytes_cached;
      total.peak_bytes_in_use += b.peak_bytes_in_use;
    };
    add(transient_->stats());
    for (const auto& weak : pools_)
      if (auto pool = weak.lock()) add(pool->stats());
    return total;
  }

  void empty_cache() override {
    refuse_during_capture("emptyCache");
    queue_.fence()->wait();  // nothing queued reads a cached block any more
    tensors_->empty_cache();
    transient_->empty_cache();
  }

  std::shared_ptr<CachingAllocator> create_pool() override {
    auto pool = tensors_->create_pool();
    pools_.erase(std::remove_if(pools_.begin(), pools_.end(), [](const auto& w) { return w.expired(); }), pools_.end());
    pools_.push_back(pool);
    return pool;
  }

  void use_pool(std::shared_ptr<CachingAllocator> pool) override {
    if (recording_) throw CaptureError("use_pool: a capture is in progress");
    pool_ = std::move(pool);
  }

  void begin_capture() override {
    if (recording_) throw CaptureError("beginCapture: a capture is already in progress");
    if (!pool_) throw CaptureError("beginCapture: a graph's memory pool must be in use");
    recording_.emplace();
    set_system_allocation_allowed(false);
  }

  std::unique_ptr<Graph> end_capture() override {
    if (!recording_) throw CaptureError("endCapture: no capture is in progress");
    std::vector<std::function<void()>> work = std::move(*recording_);
    recording_.reset();
    set_system_allocation_allowed(true);
    return std::make_unique<CpuGraph>(queue_, std::move(work));
  }

  bool capturing() const override { return recording_.has_value(); }

  std::shared_ptr<QueueMark> mark() override {
    refuse_during_capture("mark");
    auto m = std::make_shared<CpuMark>();
    queue_.push([busy = m->busy_ns, this] { *busy = queue_.busy_ns(); });
    m->reached = queue_.fence();
    return m;
  }

  void upload(const Tensor& dst, const void* src) override {
    refuse_during_capture("upload");
    if (queue_.idle()) {
      // Nothing is queued, so nothing can still read the block: write it now.
      std::memcpy(dst.data(), src, dst.bytes());
      return;
    }
    // Queued work may read the block (it may have held other values until recently): copy through
    // a staging buffer that the queued copy owns, in queue order.
    Tensor staging{transient_->allocate(dst.bytes()), dst.shape, dst.dtype};
    std::memcpy(staging.storage->data, src, dst.bytes());
    queue_.push([dst = borrow(dst), staging] { std::memcpy(dst.data(), staging.storage->data, dst.bytes()); });
  }

  std::shared_ptr<Completion> download(const Tensor& src, void* dst) override {
    refuse_during_capture("download");
    queue_.push([src = borrow(src), dst] { std::memcpy(dst, src.data(), src.bytes()); });
    return queue_.fence();
  }

  std::shared_ptr<Completion> fence() override {
    refuse_during_capture("fence");
    return queue_.fence();
  }

  // Every op: queued on the worker, which calls the cpu:: kernel of the same name (kernels.h).
#define ALEXNET_OP(name, js_name, params, args) \
  void name params override { enqueue<&cpu::name> args; }
#include "core/op_list.h"
#undef ALEXNET_OP

 private:
  // Queues kernel(args...) with each tensor argument borrowed (see borrow). Convolution's kernels
  // take the transient allocator first, for oneDNN's temporaries (layout conversions,
  // scratchpads): those are taken on the worker while it runs an op, so they must never be a block
  // that an op queued later still reads.
  template <auto kernel, typename... Args>
  void enqueue(const Args&... args) {
    auto work = std::make_tuple(borrow(args)...);
    if constexpr (std::is_invocable_v<decltype(kernel), CachingAllocator&, const Args&...>) {
      submit([scratch = transient_, work = std::move(work)] {
        std::apply([&](const auto&... a) { kernel(*scratch, a...); }, work);
      });
    } else {
      submit([work = std::move(work)] { std::apply(kernel, work); });
    }
  }

  // Queues an op, or records it while a capture is in progress.
  void submit(std::function<void()> work) {
    if (recording_) {
      recording_->push_back(std::move(work));
    } else {
      queue_.push(std::move(work));
    }
  }

  void refuse_during_capture(const char* what) const {
    if (recording_) throw CaptureError(std::string(what) + " is not allowed during a graph capture");
  }

  void set_system_allocation_allowed(bool allowed) {
    tensors_->set_system_allocation_allowed(allowed);
    if (pool_) pool_->set_system_allocation_allowed(allowed);
  }

  std::shared_ptr<CachingAllocator> tensors_;           // tensor memory, stream-ordered (see borrow)
  std::shared_ptr<CachingAllocator> transient_;         // blocks owned by queued work: staging, oneDNN temporaries
  std::shared_ptr<CachingAllocator> pool_;              // a graph's pool, while one is in use
  std::vector<std::weak_ptr<CachingAllocator>> pools_;  // every graph pool alive, for the statistics
  std::optional<std::vector<std::function<void()>>> recording_;  // the capture in progress
  WorkQueue queue_;  // declared last: destroyed first, so queued work finishes while the allocators live
};

}  // namespace
}  // namespace cpu

std::unique_ptr<Backend> create_backend() { return std::make_unique<cpu::CpuBackend>(); }
const char* backend_name() { return "cpu"; }

}  // namespace alexnet
