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

class CachingAllocator;
using OptTensor = std::optional<Tensor>;

// A point in the backend's queue: a fence, or a device-to-host copy. wait() blocks until the queue
// has reached it (call it off the JS thread). A download's wait() throws when the tensor it reads
// is poisoned (core/poison.h), a fence's the first failure of an op queued since the previous fence.
struct Completion {
  virtual ~Completion() = default;
  virtual void wait() = 0;
};

struct AllocatorStats {
  uint64_t system_allocations = 0;  // calls to malloc / cudaMalloc (a steady state adds none)
  uint64_t system_frees = 0;
  uint64_t bytes_in_use = 0;  // held by live tensors
  uint64_t bytes_cached = 0;  // held by the cache, ready for reuse
  uint64_t peak_bytes_in_use = 0;
};

// Work recorded once by a capture and queued again by launch(), reading and writing the same memory
// every time: a CUDA graph, or on the CPU build the list of closures the capture queued.
class Graph {
 public:
  virtual ~Graph() = default;
  virtual void launch() = 0;
};

// A point in a backend's queue, to time the device's own work between two points: CUDA events on
// the GPU; on the CPU, the time its worker spent inside ops (so idle gaps do not count on either).
class QueueMark {
 public:
  virtual ~QueueMark() = default;
  // Milliseconds of device work from `earlier` to this mark; waits until this mark is reached.
  virtual double ms_since(QueueMark& earlier) = 0;
};

using InfoValue = std::variant<std::string, double, bool>;
using Info = std::map<std::string, InfoValue>;

struct SgdTensors {
  Tensor param, grad, momentum_buffer;  // momentum_buffer unused when momentum == 0
};

struct AdamTensors {
  Tensor param, grad, exp_avg, exp_avg_sq;  // the moments have the parameter's element count
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
  // Completes when all work queued so far has run; its wait() throws the first failure of an op
  // queued since the previous fence (each failure is reported by one fence, and by reading what
  // the op was to write).
  virtual std::shared_ptr<Completion> fence() = 0;
  void synchronize() { fence()->wait(); }
  virtual std::shared_ptr<QueueMark> mark() = 0;

  // Graph capture (TypeScript decides when: lib/training/stepCapture.ts). While a pool is in use
  // every allocation comes from it (caching_allocator.h); between begin_capture and end_capture the
  // queued work is recorded instead of run, system allocations throw CaptureError, and so do
  // transfers and fences, which a graph cannot hold. end_capture always leaves capture mode; the
  // pool stays in use until use_pool(nullptr).
  virtual std::shared_ptr<CachingAllocator> create_pool() = 0;
  virtual void use_pool(std::shared_ptr<CachingAllocator> pool) = 0;
  virtual void begin_capture() = 0;
  virtual std::unique_ptr<Graph> end_capture() = 0;  // throws CaptureError when nothing usable was recorded
  virtual bool capturing() const = 0;

  // The JavaScript environment that owns this backend is going away (a worker thread terminated or
  // exiting): work not yet started may be dropped, since nothing will read its results. Returns
  // once nothing queued runs any more, every completion handed out having fired. Never throws.
  virtual void abandon() noexcept = 0;

  // Test-only (the CPU suite's failure tests, through the addon's testFailNextOp): the next call
  // of the op named `js_name` (its JavaScript name) fails where the op runs, with an error of the
  // class `kind` names instead of running. Does nothing until called; only the CPU build has it.
  enum class InjectedFailure { backend, out_of_memory, device_lost };
  virtual void fail_next_op_for_testing(const std::string& js_name, InjectedFailure kind);

  // The ops (core/op_list.h, where each is described).
#define ALEXNET_OP(name, js_name, params, args, writes) virtual void name params = 0;
#include "op_list.h"
#undef ALEXNET_OP
};

// Defined once per build (cpu/ or cuda/): creates that build's backend, or throws BackendError
// saying why it cannot (no device, a library missing).
std::unique_ptr<Backend> create_backend();
// The build's name: "cpu" or "cuda".
const char* backend_name();

}  // namespace alexnet
