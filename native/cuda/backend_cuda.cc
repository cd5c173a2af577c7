// The CUDA backend: every op is queued on one CUDA stream (CudaContext) and returns at once.
// cuDNN does convolution (conv2d.cc) and LRN (lrn.cc), cuBLASLt the fully connected layers
// (linear.cc), and small kernels the rest (the .cu files, launched through kernels.h). Memory comes from a caching
// allocator over cudaMalloc; transfers go through pinned staging buffers (pinned_staging.h).
//
// Threading: ops, uploads, downloads and settings are called from the JavaScript thread only;
// Completion::wait() runs on the binding's completion thread (binding/completion_worker.h) and
// touches nothing but its own event and staging buffer (both thread-safe). Errors surface as exceptions from the call
// that queued the work, or, for failures that CUDA reports asynchronously, from the next wait() or checked call.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "check.h"
#include "context.h"
#include "conv2d.h"
#include "core/backend.h"
#include "core/caching_allocator.h"
#include "core/errors.h"
#include "core/resample.h"
#include "kernels.h"
#include "linear.h"
#include "lrn.h"
#include "pinned_staging.h"

namespace alexnet {
namespace cuda {
namespace {

// Pinned host memory kept for transfers before idle buffers are freed or waited for.
constexpr size_t kStagingSoftLimitBytes = size_t(1) << 30;

// A fault in a kernel queued before the event makes the event's synchronization fail; this also
// catches one from work outside our stream (a sticky error poisons the whole context).
void check_context_healthy() {
  const cudaError_t pending = cudaPeekAtLastError();
  if (is_sticky(pending)) throw_cuda_error(pending, "a kernel queued earlier");
}

std::string version_text(int major, int minor) { return std::to_string(major) + "." + std::to_string(minor); }

// Completes when an event recorded on the stream has been reached.
class EventCompletion : public Completion {
 public:
  explicit EventCompletion(cudaStream_t stream) {
    CUDA_CHECK(cudaEventCreateWithFlags(&event_, cudaEventDisableTiming));
    const cudaError_t status = cudaEventRecord(event_, stream);
    if (status != cudaSuccess) {
      cudaEventDestroy(event_);
      event_ = nullptr;
      check_cuda(status, "cudaEventRecord (fence)");
    }
  }
  ~EventCompletion() override {
    if (event_) cudaEventDestroy(event_);  // safe while pending: released once reached
  }
  void wait() override {
    CUDA_CHECK(cudaEventSynchronize(event_));
    check_context_healthy();
  }

 private:
  cudaEvent_t event_ = nullptr;
};

// A device-to-host copy into a pinned staging buffer; wait() moves the bytes to their destination.
class DownloadCompletion : public Completion {
 public:
  DownloadCompletion(std::shared_ptr<PinnedStaging> staging, PinnedStaging::Buffer* buffer, void* dst, size_t bytes)
      : staging_(std::move(staging)), buffer_(buffer), dst_(dst), bytes_(bytes) {}
  ~DownloadCompletion() override {
    // Not waited for: the buffer goes back anyway; its event keeps it from reuse until the copy ran.
    if (buffer_) staging_->release(buffer_);
  }
  void wait() override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!buffer_) return;  // already delivered
    CUDA_CHECK(cudaEventSynchronize(buffer_->event));
    check_context_healthy();
    std::memcpy(dst_, buffer_->host, bytes_);
    staging_->release(buffer_);
    buffer_ = nullptr;
  }

 private:
  std::mutex mutex_;
  std::shared_ptr<PinnedStaging> staging_;
  PinnedStaging::Buffer* buffer_;
  void* dst_;
  size_t bytes_;
};

// A captured CUDA graph, instantiated; launch() queues it on the stream.
class CudaGraph : public Graph {
 public:
  CudaGraph(cudaGraphExec_t exec, cudaStream_t stream) : exec_(exec), stream_(stream) {}
  ~CudaGraph() override {
    if (cudaGraphExecDestroy(exec_) != cudaSuccess) cudaGetLastError();  // also at teardown: never throws
  }
  void launch() override { CUDA_CHECK(cudaGraphLaunch(exec_, stream_)); }

 private:
  cudaGraphExec_t exec_;
  cudaStream_t stream_;
};

// A timing event on the stream: the device's own time between two marks, host gaps included only
// where the device waited on the host (none inside a graph launch).
class CudaMark : public QueueMark {
 public:
  explicit CudaMark(cudaStream_t stream) {
    CUDA_CHECK(cudaEventCreate(&event_));
    const cudaError_t status = cudaEventRecord(event_, stream);
    if (status != cudaSuccess) {
      cudaEventDestroy(event_);
      event_ = nullptr;
      check_cuda(status, "cudaEventRecord (mark)");
    }
  }
  ~CudaMark() override {
    if (event_) cudaEventDestroy(event_);
  }
  double ms_since(QueueMark& earlier) override {
    auto& other = dynamic_cast<CudaMark&>(earlier);
    CUDA_CHECK(cudaEventSynchronize(event_));
    check_context_healthy();
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, other.event_, event_));
    return ms;
  }

 private:
  cudaEvent_t event_ = nullptr;
};

// The preprocessing op's filter tables in device memory, one set per (input, output) size pair,
// uploaded the first time a pair is seen (never during a capture).
class PreprocessTables {
 public:
  explicit PreprocessTables(CudaContext& ctx) : ctx_(ctx) {}
  ResampleAxis axis(int64_t in, int64_t out, bool capturing) {
    auto key = std::make_pair(in, out);
    auto it = tables_.find(key);
    if (it == tables_.end()) {
      if (capturing) throw CaptureError("preprocess: the first use of a size is not allowed during a graph capture");
      const ResampleTable t = bilinear_table(in, out);
      Entry e;
      e.taps = t.taps;
      const size_t index_bytes = t.first.size() * sizeof(int32_t), weight_bytes = t.weights.size() * sizeof(float);
      e.storage = ctx_.base_allocator()->allocate(2 * index_bytes + weight_bytes);
      char* base = static_cast<char*>(e.storage->data);
      // On the stream: the block may have been released by a tensor that queued work still reads
      // (stream-ordered reuse). From pageable memory the call returns once the bytes are staged.
      CUDA_CHECK(cudaMemcpyAsync(base, t.first.data(), index_bytes, cudaMemcpyHostToDevice, ctx_.stream()));
      CUDA_CHECK(
          cudaMemcpyAsync(base + index_bytes, t.count.data(), index_bytes, cudaMemcpyHostToDevice, ctx_.stream()));
      CUDA_CHECK(cudaMemcpyAsync(base + 2 * index_bytes, t.weights.data(), weight_bytes, cudaMemcpyHostToDevice,
                                 ctx_.stream()));
      e.first = reinterpret_cast<const int32_t*>(base);
      e.count = reinterpret_cast<const int32_t*>(base + index_bytes);
      e.weights = reinterpret_cast<const float*>(base + 2 * index_bytes);
      it = tables_.emplace(key, std::move(e)).first;
    }
    const Entry& e = it->second;
    return ResampleAxis{e.first, e.count, e.weights, e.taps};
  }

 private:
  struct Entry {
    std::shared_ptr<Storage> storage;
    const int32_t* first = nullptr;
    const int32_t* count = nullptr;
    const float* weights = nullptr;
    int64_t taps = 0;
  };
  CudaContext& ctx_;
  std::map<std::pair<int64_t, int64_t>, Entry> tables_;
};

// Returns a staging buffer to its pool on scope exit unless handed on.
struct StagingLease {
  PinnedStaging& pool;
  PinnedStaging::Buffer* buffer;
  ~StagingLease() {
    if (buffer) pool.release(buffer);
  }
};

class CudaBackend : public Backend {
 public:
  CudaBackend()
      : staging_(std::make_shared<PinnedStaging>(kStagingSoftLimitBytes)),
        conv_(ctx_),
        lrn_(ctx_),
        linear_(ctx_),
        preprocess_tables_(ctx_) {}

  ~CudaBackend() override {
    // Never throws. Queued work finishes before the engines, handles and memory go (members are
    // destroyed after this body, engines before the context).
    cudaStreamSynchronize(ctx_.stream());
    cudaGetLastError();
  }

  Info info() override {
    cudaDeviceProp prop{};
    CUDA_CHECK(cudaGetDeviceProperties(&prop, ctx_.device()));
    size_t free_bytes = 0, total_bytes = 0;
    CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    int driver = 0, runtime = 0;
    CUDA_CHECK(cudaDriverGetVersion(&driver));
    CUDA_CHECK(cudaRuntimeGetVersion(&runtime));
    const size_t cudnn = cudnnGetVersion();      // major*10000 + minor*100 + patch (cuDNN 9)
    const size_t cublas = cublasLtGetVersion();  // major*10000 + minor*100 + patch (cuBLAS 12+)
    return Info{
        {"backend", std::string("cuda")},
        {"device", std::string(prop.name)},
        {"computeCapability", version_text(prop.major, prop.minor)},
        {"multiprocessors", double(prop.multiProcessorCount)},
        {"totalMemory", double(total_bytes)},
        {"freeMemory", double(free_bytes)},
        {"driverVersion", version_text(driver / 1000, (driver % 1000) / 10)},
        {"runtimeVersion", version_text(runtime / 1000, (runtime % 1000) / 10)},
        {"cudnnVersion",
         std::to_string(cudnn / 10000) + "." + std::to_string((cudnn / 100) % 100) + "." + std::to_string(cudnn % 100)},
        {"cublasVersion", std::to_string(cublas / 10000) + "." + std::to_string((cublas / 100) % 100) + "." +
                              std::to_string(cublas % 100)},
        {"mathMode", std::string(ctx_.math_mode == MathMode::tf32 ? "tf32" : "fp32")},
        {"deterministic", ctx_.deterministic},
        {"workspaceBytes", double(ctx_.workspace_bytes())},
    };
  }

  void set_math_mode(MathMode mode) override { ctx_.math_mode = mode; }
  void set_deterministic(bool on) override { ctx_.deterministic = on; }

  std::shared_ptr<Storage> allocate(size_t bytes) override { return ctx_.allocator()->allocate(bytes); }
  AllocatorStats allocator_stats() override {
    AllocatorStats total = ctx_.base_allocator()->stats();
    for (const auto& weak : pools_) {
      if (auto pool = weak.lock()) {
        const AllocatorStats b = pool->stats();
        total.system_allocations += b.system_allocations;
        total.system_frees += b.system_frees;
        total.bytes_in_use += b.bytes_in_use;
        total.bytes_cached += b.bytes_cached;
        total.peak_bytes_in_use += b.peak_bytes_in_use;
      }
    }
    return total;
  }
  void empty_cache() override {
    refuse_during_capture("emptyCache");
    CUDA_CHECK(cudaStreamSynchronize(ctx_.stream()));
    ctx_.base_allocator()->empty_cache();
  }

  // ---- graphs (core/backend.h). Never run on a GPU so far (2026-11-29): the capture, the pool and
  // replayed steps are checked there by test/gpu/stepCapture.test.ts; the CPU build's recording of
  // its queue runs the same TypeScript logic in the CPU suite.
  std::shared_ptr<CachingAllocator> create_pool() override {
    auto pool = ctx_.base_allocator()->create_pool();
    pools_.erase(std::remove_if(pools_.begin(), pools_.end(), [](const auto& w) { return w.expired(); }), pools_.end());
    pools_.push_back(pool);
    return pool;
  }

  void use_pool(std::shared_ptr<CachingAllocator> pool) override {
    if (capturing_) throw CaptureError("use_pool: a capture is in progress");
    ctx_.use_pool(std::move(pool));
  }

  void begin_capture() override {
    if (capturing_) throw CaptureError("beginCapture: a capture is already in progress");
    if (!ctx_.pool()) throw CaptureError("beginCapture: a graph's memory pool must be in use");
    // Thread-local mode: only this thread (JavaScript's) must avoid calls a capture cannot hold;
    // libuv's threads may go on waiting for downloads queued before.
    check_cuda(cudaStreamBeginCapture(ctx_.stream(), cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
    capturing_ = true;
    ctx_.set_system_allocation_allowed(false);
  }

  std::unique_ptr<Graph> end_capture() override {
    if (!capturing_) throw CaptureError("endCapture: no capture is in progress");
    capturing_ = false;
    ctx_.set_system_allocation_allowed(true);
    cudaGraph_t graph = nullptr;
    const cudaError_t ended = cudaStreamEndCapture(ctx_.stream(), &graph);
    if (ended != cudaSuccess || !graph) {
      if (graph) cudaGraphDestroy(graph);
      cudaGetLastError();  // the capture's failure is not sticky: clear it
      throw CaptureError(std::string("cudaStreamEndCapture failed: ") + cudaGetErrorName(ended) + " (" +
                         cudaGetErrorString(ended) + "); a call during the capture could not be recorded");
    }
    cudaGraphExec_t exec = nullptr;
    const cudaError_t made = cudaGraphInstantiate(&exec, graph, 0);
    cudaGraphDestroy(graph);
    if (made != cudaSuccess) {
      cudaGetLastError();
      throw CaptureError(std::string("cudaGraphInstantiate failed: ") + cudaGetErrorName(made) + " (" +
                         cudaGetErrorString(made) + ")");
    }
    // Upload now, so that the first launch costs what every later one does.
    const cudaError_t uploaded = cudaGraphUpload(exec, ctx_.stream());
    if (uploaded != cudaSuccess) {
      cudaGraphExecDestroy(exec);
      check_cuda(uploaded, "cudaGraphUpload");
    }
    return std::make_unique<CudaGraph>(exec, ctx_.stream());
  }

  bool capturing() const override { return capturing_; }

  std::shared_ptr<QueueMark> mark() override {
    refuse_during_capture("mark");
    return std::make_shared<CudaMark>(ctx_.stream());
  }

  void upload(const Tensor& dst, const void* src) override {
    refuse_during_capture("upload");
    const size_t bytes = dst.bytes();
    if (bytes == 0) return;
    StagingLease lease{*staging_, staging_->acquire(bytes)};
    std::memcpy(lease.buffer->host, src, bytes);
    CUDA_CHECK(cudaMemcpyAsync(dst.data(), lease.buffer->host, bytes, cudaMemcpyHostToDevice, ctx_.stream()));
    CUDA_CHECK(cudaEventRecord(lease.buffer->event, ctx_.stream()));
  }

  std::shared_ptr<Completion> download(const Tensor& src, void* dst) override {
    refuse_during_capture("download");
    const size_t bytes = src.bytes();
    if (bytes == 0) return fence();
    StagingLease lease{*staging_, staging_->acquire(bytes)};
    CUDA_CHECK(cudaMemcpyAsync(lease.buffer->host, src.data(), bytes, cudaMemcpyDeviceToHost, ctx_.stream()));
    CUDA_CHECK(cudaEventRecord(lease.buffer->event, ctx_.stream()));
    auto completion = std::make_shared<DownloadCompletion>(staging_, lease.buffer, dst, bytes);
    lease.buffer = nullptr;  // the completion gives it back
    return completion;
  }

  void copy(const Tensor& dst, const Tensor& src) override {
    const size_t bytes = src.bytes();
    if (bytes == 0 || dst.data() == src.data()) return;
    CUDA_CHECK(cudaMemcpyAsync(dst.data(), src.data(), bytes, cudaMemcpyDeviceToDevice, ctx_.stream()));
  }

  std::shared_ptr<Completion> fence() override {
    refuse_during_capture("fence");
    return std::make_shared<EventCompletion>(ctx_.stream());
  }

  // Kernels already on the stream cannot be taken back: wait for them, so that every completion
  // handed out has fired (a failure here is for the destructor, which ignores it, to meet again).
  void abandon() noexcept override {
    if (cudaStreamSynchronize(ctx_.stream()) != cudaSuccess) cudaGetLastError();
  }

  void fill(const Tensor& t, float value) override {
    if (t.dtype == DType::i32)
      launch_fill_i32(ctx_.stream(), t.i32(), t.numel(), static_cast<int32_t>(value));
    else
      launch_fill_f32(ctx_.stream(), t.f32(), t.numel(), value);
  }
  void fill_uniform(const Tensor& t, float low, float high, uint64_t seed) override {
    launch_fill_uniform(ctx_.stream(), t.f32(), t.numel(), low, high, seed);
  }
  void fill_normal(const Tensor& t, float mean, float stddev, float truncation, uint64_t seed) override {
    launch_fill_normal(ctx_.stream(), t.f32(), t.numel(), mean, stddev, truncation, seed);
  }
  void add_scaled(const Tensor& dst, const Tensor& src, float alpha) override {
    launch_add_scaled(ctx_.stream(), dst.f32(), src.f32(), dst.numel(), alpha);
  }
  void multiply(const Tensor& a, const Tensor& b, const Tensor& out) override {
    launch_multiply(ctx_.stream(), a.f32(), b.f32(), out.f32(), a.numel());
  }
  void round_to_bfloat16(const Tensor& dst, const Tensor& src) override {
    launch_round_to_bfloat16(ctx_.stream(), dst.f32(), src.f32(), src.numel());
  }
  void advance_counter(const Tensor& t, int word, uint64_t increment) override {
    launch_advance_counter(ctx_.stream(), reinterpret_cast<uint64_t*>(t.i32() + word), increment);
  }

  void conv2d_forward(const Conv2dGeometry& g, const Tensor& x, const Tensor& w, const OptTensor& b, const Tensor& y,
                      bool fuse_relu) override {
    conv_.forward(g, x, w, b, y, fuse_relu);
  }
  void conv2d_backward_data(const Conv2dGeometry& g, const Tensor& dy, const Tensor& w, const Tensor& dx) override {
    conv_.backward_data(g, dy, w, dx);
  }
  void conv2d_backward_filter(const Conv2dGeometry& g, const Tensor& x, const Tensor& dy, const Tensor& dw,
                              const OptTensor& db) override {
    conv_.backward_filter(g, x, dy, dw, db);
  }

  void lrn_forward(const LrnParams& p, const Tensor& x, const Tensor& y) override { lrn_.forward(p, x, y); }
  void lrn_backward(const LrnParams& p, const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor& dx) override {
    lrn_.backward(p, x, y, dy, dx);
  }

  void max_pool2d_forward(const Pool2dGeometry& g, const Tensor& x, const Tensor& y) override {
    launch_max_pool2d_forward(ctx_.stream(), g, x, y);
  }
  void max_pool2d_backward(const Pool2dGeometry& g, const Tensor& x, const Tensor& y, const Tensor& dy,
                           const Tensor& dx) override {
    launch_max_pool2d_backward(ctx_, g, x, dy, dx);  // finds each window's maximum again from x
  }
  void adaptive_avg_pool2d_forward(const Tensor& x, const Tensor& y) override {
    launch_adaptive_avg_pool2d_forward(ctx_.stream(), x, y);
  }
  void adaptive_avg_pool2d_backward(const Tensor& dy, const Tensor& dx) override {
    launch_adaptive_avg_pool2d_backward(ctx_.stream(), dy, dx);
  }

  void relu_forward(const Tensor& x, const Tensor& y) override {
    launch_relu_forward(ctx_.stream(), x.f32(), y.f32(), x.numel());
  }
  void relu_backward(const Tensor& y, const Tensor& dy, const Tensor& dx) override {
    launch_relu_backward(ctx_.stream(), y.f32(), dy.f32(), dx.f32(), y.numel());
  }
  void dropout_forward(float p, const Tensor& scalars, const Tensor& x, const Tensor& y, const Tensor& mask) override {
    const float scale = 1.0f / (1.0f - p);  // on the host, exactly as the CPU build computes it
    launch_dropout_forward(ctx_.stream(), p, scale, static_cast<const DropoutScalars*>(scalars.data()), x.f32(),
                           y.f32(), mask.f32(), x.numel());
  }

  void linear_forward(const Tensor& x, const Tensor& w, const OptTensor& b, const Tensor& y, bool fuse_relu) override {
    linear_.forward(x, w, b, y, fuse_relu);
  }
  void linear_backward_data(const Tensor& dy, const Tensor& w, const Tensor& dx) override {
    linear_.backward_data(dy, w, dx);
  }
  void linear_backward_weight(const Tensor& x, const Tensor& dy, const Tensor& dw, const OptTensor& db) override {
    linear_.backward_weight(x, dy, dw, db);
  }
  void linear_forward_relu_mask(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y,
                                const Tensor& mask) override {
    linear_.forward_relu_mask(x, w, b, y, mask);
  }
  void linear_backward_data_relu(const Tensor& dy, const Tensor& w, const Tensor& mask, const Tensor& dx,
                                 const Tensor& db) override {
    linear_.backward_data_relu(dy, w, mask, dx, db);
  }

  void preprocess(const PreprocessParams& p, const Tensor& x, const Tensor& y) override {
    const int64_t h = x.dim(2), w = x.dim(3), oh = y.dim(2), ow = y.dim(3);
    const bool resize = oh != h || ow != w;
    ResampleAxis rows{}, cols{};
    if (resize) {
      rows = preprocess_tables_.axis(h, oh, capturing_);
      cols = preprocess_tables_.axis(w, ow, capturing_);
    }
    launch_preprocess(ctx_.stream(), p, x.u8(), x.dim(0), x.dim(1), h, w, y.f32(), y.dim(1), oh, ow, resize, rows,
                      cols);
  }

  void softmax_forward(const Tensor& x, const Tensor& y) override {
    launch_softmax_forward(ctx_.stream(), x.f32(), y.f32(), x.dim(0), x.dim(1));
  }
  void softmax_cross_entropy(const Tensor& logits, const Tensor& labels, const Tensor& loss,
                             const OptTensor& dlogits) override {
    const int64_t rows = logits.dim(0), cols = logits.dim(1);
    if (rows <= 0 || cols <= 0) return;  // ruled out by the shape checks
    // One double per row: the per-row losses, summed in a fixed order.
    Tensor row_loss = ctx_.temporary({rows * 2}, DType::f32);
    launch_softmax_cross_entropy(ctx_.stream(), logits.f32(), labels.i32(), rows, cols,
                                 static_cast<double*>(row_loss.data()), loss.f32(), dlogits ? dlogits->f32() : nullptr);
  }
  void count_topk_correct(const Tensor& logits, const Tensor& labels, int k, const Tensor& counter) override {
    launch_count_topk_correct(ctx_.stream(), logits.f32(), labels.i32(), logits.dim(0), logits.dim(1), k,
                              counter.f32());
  }

  void sgd_step(const SgdParams& p, const std::vector<SgdTensors>& tensors, const Tensor& scalars) override {
    std::vector<SgdSpan> spans;
    spans.reserve(tensors.size());
    for (const SgdTensors& t : tensors) {
      float* buf = nullptr;
      if (p.momentum != 0.0f) {
        if (!t.momentum_buffer.storage || t.momentum_buffer.numel() != t.param.numel())
          throw BackendError("sgd_step: a momentum buffer is missing or has the wrong size");
        buf = t.momentum_buffer.f32();
      }
      spans.push_back(SgdSpan{t.param.f32(), t.grad.f32(), buf, t.param.numel()});
    }
    launch_sgd_step(ctx_.stream(), p, spans, static_cast<const SgdScalars*>(scalars.data()));
  }

  void adam_step(const AdamParams& p, const std::vector<AdamTensors>& tensors, const Tensor& scalars) override {
    std::vector<AdamSpan> spans;
    spans.reserve(tensors.size());
    for (const AdamTensors& t : tensors)
      spans.push_back(AdamSpan{t.param.f32(), t.grad.f32(), t.exp_avg.f32(), t.exp_avg_sq.f32(), t.param.numel()});
    launch_adam_step(ctx_.stream(), p, spans, static_cast<const AdamScalars*>(scalars.data()));
  }

 private:
  void refuse_during_capture(const char* what) const {
    if (capturing_) throw CaptureError(std::string(what) + " is not allowed during a graph capture");
  }

  CudaContext ctx_;  // first: destroyed last, after everything that uses its stream and handles
  std::shared_ptr<PinnedStaging> staging_;
  ConvEngine conv_;
  LrnEngine lrn_;
  LinearEngine linear_;
  PreprocessTables preprocess_tables_;
  std::vector<std::weak_ptr<CachingAllocator>> pools_;  // every graph pool alive, for the statistics
  bool capturing_ = false;
};

}  // namespace
}  // namespace cuda

std::unique_ptr<Backend> create_backend() { return std::make_unique<cuda::CudaBackend>(); }
const char* backend_name() { return "cuda"; }

}  // namespace alexnet
