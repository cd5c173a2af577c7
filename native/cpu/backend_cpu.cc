// The CPU backend: every op is queued on one worker thread (see work_queue.h) and runs there with
// OpenMP threads; memory comes from caching allocators over aligned host allocations, handed out
// in queue order like a GPU stream's (see borrow below).
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <dnnl.hpp>
#include <fstream>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

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
  view.storage = std::make_shared<Storage>(t.storage->data, t.storage->bytes, nullptr, t.storage->poison);
  return view;
}

OptTensor borrow(const OptTensor& t) { return t ? OptTensor(borrow(*t)) : std::nullopt; }

std::vector<SgdTensors> borrow(const std::vector<SgdTensors>& tensors) {
  std::vector<SgdTensors> views;
  views.reserve(tensors.size());
  for (const SgdTensors& t : tensors) views.push_back({borrow(t.param), borrow(t.grad), borrow(t.momentum_buffer)});
  return views;
}

std::vector<AdamTensors> borrow(const std::vector<AdamTensors>& tensors) {
  std::vector<AdamTensors> views;
  views.reserve(tensors.size());
  for (const AdamTensors& t : tensors)
    views.push_back({borrow(t.param), borrow(t.grad), borrow(t.exp_avg), borrow(t.exp_avg_sq)});
  return views;
}

// Everything else an op takes (geometry, parameters, numbers) is copied into the queued work.
template <typename T>
T borrow(const T& value) {
  return value;
}

void* aligned_host_allocate(size_t bytes) { return std::aligned_alloc(64, (bytes + 63) / 64 * 64); }

// ---- What an op writes (core/op_list.h's last column), for poisoning (core/poison.h) ----------

// The poison belongs to the memory, which slices share (each parameter is a slice of the flat
// buffers), so a write makes it good again only when it covers the whole block: a backward pass
// writing one parameter's gradient says nothing of the slice a failed op left behind.
bool covers_storage(const Tensor& t) {
  return t.offset == 0 && CachingAllocator::rounded_size(t.bytes()) >= t.storage->bytes;
}

struct Write {
  std::shared_ptr<Poison> poison;
  bool whole;         // overwrite(t): what the tensor held before is not read
  bool clears;        // whole, and over the whole block: success makes the memory good again
  const void* param;  // the op's parameter it came from, to tell it from the tensors the op reads
};
using Writes = std::vector<Write>;

Writes overwrite(const Tensor& t) {
  return t.storage ? Writes{{t.storage->poison, true, covers_storage(t), &t}} : Writes{};
}
Writes overwrite(const OptTensor& t) {
  return t ? Writes{{t->storage->poison, true, covers_storage(*t), &t}} : Writes{};
}
Writes update(const Tensor& t) { return {{t.storage->poison, false, false, &t}}; }
Writes update(const std::vector<SgdTensors>& tensors) {
  Writes writes;
  for (const SgdTensors& t : tensors) {
    writes.push_back({t.param.storage->poison, false, false, &tensors});
    if (t.momentum_buffer.storage) writes.push_back({t.momentum_buffer.storage->poison, false, false, &tensors});
  }
  return writes;
}
Writes update(const std::vector<AdamTensors>& tensors) {
  Writes writes;
  for (const AdamTensors& t : tensors)
    for (const Tensor* u : {&t.param, &t.exp_avg, &t.exp_avg_sq}) {
      const Writes one = update(*u);
      writes.insert(writes.end(), one.begin(), one.end());
    }
  return writes;
}
template <typename... Lists>
Writes written(Lists... lists) {
  Writes all;
  (all.insert(all.end(), lists.begin(), lists.end()), ...);
  return all;
}

// The poison of every tensor an op reads: each tensor parameter but those it overwrites.
using Reads = std::vector<std::shared_ptr<Poison>>;

bool overwritten(const Writes& writes, const void* param) {
  for (const Write& w : writes)
    if (w.whole && w.param == param) return true;
  return false;
}
void add_reads(Reads& reads, const Writes& writes, const Tensor& t) {
  if (t.storage && !overwritten(writes, &t)) reads.push_back(t.storage->poison);
}
void add_reads(Reads& reads, const Writes& writes, const OptTensor& t) {
  if (t && !overwritten(writes, &t)) reads.push_back(t->storage->poison);
}
void add_reads(Reads& reads, const Writes&, const std::vector<SgdTensors>& tensors) {
  for (const SgdTensors& t : tensors)
    for (const Tensor* u : {&t.param, &t.grad, &t.momentum_buffer})
      if (u->storage) reads.push_back(u->storage->poison);
}
void add_reads(Reads& reads, const Writes&, const std::vector<AdamTensors>& tensors) {
  for (const AdamTensors& t : tensors)
    for (const Tensor* u : {&t.param, &t.grad, &t.exp_avg, &t.exp_avg_sq}) reads.push_back(u->storage->poison);
}
template <typename T>
void add_reads(Reads&, const Writes&, const T&) {}  // not a tensor

std::exception_ptr first_failure(const Reads& reads) {
  for (const auto& poison : reads)
    if (std::exception_ptr failure = poison->failure()) return failure;
  return nullptr;
}

// Test-only: see Backend::fail_next_op_for_testing. Armed and taken on the JavaScript thread, as
// the op is queued, so that "the next call" does not depend on how far the queue has got.
class FailureInjection {
 public:
  enum class Kind { none, backend, out_of_memory, device_lost };
  void arm(const std::string& op, Backend::InjectedFailure kind) {
    op_ = op;
    kind_ = kind == Backend::InjectedFailure::out_of_memory ? Kind::out_of_memory
            : kind == Backend::InjectedFailure::device_lost ? Kind::device_lost
                                                            : Kind::backend;
  }
  // The failure the op of this name is to have, once; none unless armed for it.
  Kind take(const char* op) {
    if (kind_ == Kind::none || op_ != op) return Kind::none;
    return std::exchange(kind_, Kind::none);
  }
  static void raise(Kind kind) {
    if (kind == Kind::out_of_memory)
      throw OutOfMemoryError("out of host memory (a failure injected by testFailNextOp)");
    if (kind == Kind::device_lost) throw DeviceLostError("a lost device injected by testFailNextOp");
    if (kind == Kind::backend) throw BackendError("a failure injected by testFailNextOp");
  }

 private:
  std::string op_;
  Kind kind_ = Kind::none;
};

// The CPU's graph: the closures a capture queued, queued again as one item at every launch. Like a
// CUDA graph it holds raw pointers into memory that its pool keeps reserved, and reads whatever
// those hold when it runs (the step scalars above all).
class CpuGraph : public Graph {
 public:
  CpuGraph(WorkQueue& queue, std::vector<std::function<void()>> work)
      : queue_(queue), work_(std::make_shared<const std::vector<std::function<void()>>>(std::move(work))) {}
  void launch() override {
    queue_.push([work = work_] {
      // Each recorded op poisons what it writes when it fails (CpuBackend::enqueue); the others
      // still run, as they would have queued one by one, and the first failure goes to the fence.
      std::exception_ptr first;
      for (const auto& item : *work) {
        try {
          item();
        } catch (...) {
          if (!first) first = std::current_exception();
        }
      }
      if (first) std::rethrow_exception(first);
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
    queue_.drain();  // nothing queued reads a cached block any more
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
    m->reached = queue_.push_waited([busy = m->busy_ns, this] { *busy = queue_.busy_ns(); });
    return m;
  }

  // An upload writes the tensor whole, so it also clears its poison.
  void upload(const Tensor& dst, const void* src) override {
    refuse_during_capture("upload");
    if (queue_.idle()) {
      // Nothing is queued, so nothing can still read the block: write it now.
      std::memcpy(dst.data(), src, dst.bytes());
      if (covers_storage(dst)) dst.storage->poison->clear();
      return;
    }
    // Queued work may read the block (it may have held other values until recently): copy through
    // a staging buffer that the queued copy owns, in queue order.
    Tensor staging{transient_->allocate(dst.bytes()), dst.shape, dst.dtype};
    std::memcpy(staging.storage->data, src, dst.bytes());
    queue_.push([dst = borrow(dst), staging] {
      std::memcpy(dst.data(), staging.storage->data, dst.bytes());
      if (covers_storage(dst)) dst.storage->poison->clear();
    });
  }

  std::shared_ptr<Completion> download(const Tensor& src, void* dst) override {
    refuse_during_capture("download");
    return queue_.push_waited([src = borrow(src), dst] {
      if (std::exception_ptr failure = src.storage->poison->failure()) std::rethrow_exception(failure);
      std::memcpy(dst, src.data(), src.bytes());
    });
  }

  std::shared_ptr<Completion> fence() override {
    refuse_during_capture("fence");
    return queue_.fence();
  }

  void abandon() noexcept override { queue_.cancel(); }

  void fail_next_op_for_testing(const std::string& js_name, InjectedFailure kind) override {
    injection_.arm(js_name, kind);
  }

  // Every op: queued on the worker, which calls the cpu:: kernel of the same name (kernels.h).
#define ALEXNET_ARGUMENTS(...) __VA_ARGS__
#define ALEXNET_OP(name, js_name, params, args, writes) \
  void name params override { enqueue<&cpu::name>(#js_name, written writes, ALEXNET_ARGUMENTS args); }
#include "core/op_list.h"
#undef ALEXNET_OP
#undef ALEXNET_ARGUMENTS

 private:
  // Queues kernel(args...) with each tensor argument borrowed (see borrow). Convolution's kernels
  // take the transient allocator first, for oneDNN's temporaries (layout conversions,
  // scratchpads): those are taken on the worker while it runs an op, so they must never be a block
  // that an op queued later still reads.
  //
  // Failures (core/poison.h): an op that reads a poisoned tensor does not run and passes the
  // poison on to what it writes; an op that throws poisons what it writes with its error, named
  // after the op, which the queue also keeps for the next fence; an op that runs clears it.
  template <auto kernel, typename... Args>
  void enqueue(const char* op, Writes writes, const Args&... args) {
    Reads reads;
    (add_reads(reads, writes, args), ...);
    for (Write& w : writes) w.param = nullptr;  // the parameters are gone once this returns
    auto work = std::make_tuple(borrow(args)...);
    auto run = [scratch = transient_, work = std::move(work)] {
      if constexpr (std::is_invocable_v<decltype(kernel), CachingAllocator&, const Args&...>)
        std::apply([&](const auto&... a) { kernel(*scratch, a...); }, work);
      else
        std::apply(kernel, work);
    };
    const FailureInjection::Kind injected = injection_.take(op);
    submit([op, injected, writes = std::move(writes), reads = std::move(reads), run = std::move(run)] {
      if (std::exception_ptr failure = first_failure(reads)) {
        for (const Write& w : writes) w.poison->set(failure);  // reported already, where it arose
        return;
      }
      try {
        FailureInjection::raise(injected);
        run();
      } catch (...) {
        std::exception_ptr failure = failure_in_op(op, std::current_exception());
        for (const Write& w : writes) w.poison->set(failure);
        std::rethrow_exception(failure);
      }
      for (const Write& w : writes)
        if (w.clears) w.poison->clear();
    });
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
  FailureInjection injection_;                                   // test-only, inert until armed
  WorkQueue queue_;  // declared last: destroyed first, so queued work ends while the rest lives
};

}  // namespace
}  // namespace cpu

std::unique_ptr<Backend> create_backend() { return std::make_unique<cpu::CpuBackend>(); }
const char* backend_name() { return "cpu"; }

}  // namespace alexnet
