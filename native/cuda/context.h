// What every CUDA op needs: the device, the one stream all work is queued on, the cuDNN and cuBLASLt
// handles bound to that stream, the caching allocator, the settings (math mode, determinism) and a
// workspace shared by every library call. Created once by the backend; not thread-safe (ops are
// queued from the JavaScript thread only).
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <cstddef>
#include <memory>

#include "core/caching_allocator.h"
#include "core/op_params.h"
#include "core/tensor.h"
#include "workspace_limit.h"

namespace alexnet::cuda {

// cuBLASLt's heuristics are asked for algorithms that fit in this much workspace (NVIDIA's advice).
constexpr size_t kMatmulWorkspaceBytes = size_t(32) << 20;

class CudaContext {
 public:
  CudaContext();  // throws BackendError (no device, device too old, library failure)
  ~CudaContext();
  CudaContext(const CudaContext&) = delete;
  CudaContext& operator=(const CudaContext&) = delete;

  int device() const { return device_; }
  int multiprocessors() const { return multiprocessors_; }
  cudaStream_t stream() const { return stream_; }
  cudnnHandle_t cudnn() const { return cudnn_; }
  cublasLtHandle_t cublaslt() const { return cublaslt_; }
  // Where tensors and temporaries come from: a graph's pool while one is in use, else the cache.
  const std::shared_ptr<CachingAllocator>& allocator() const { return pool_ ? pool_ : allocator_; }
  const std::shared_ptr<CachingAllocator>& base_allocator() const { return allocator_; }
  const std::shared_ptr<CachingAllocator>& pool() const { return pool_; }
  void use_pool(std::shared_ptr<CachingAllocator> pool) { pool_ = std::move(pool); }
  // During a capture no cudaMalloc may run (caching_allocator.h).
  void set_system_allocation_allowed(bool allowed);

  // The bound on convolution workspace (see kMaxWorkspaceBytes).
  size_t max_workspace_bytes() const { return max_workspace_bytes_; }

  MathMode math_mode = MathMode::fp32;
  bool deterministic = false;

  // A device buffer of at least `bytes`, shared by every library call (they run one after another
  // on the stream, graphs included). It only grows, through the base cache (never a graph's pool:
  // it outlives every graph); may throw OutOfMemoryError, or CaptureError if it must grow during a
  // capture (the warm-up before a capture grows it to what the step needs).
  void* workspace(size_t bytes);
  size_t workspace_bytes() const { return workspace_ ? workspace_->bytes : 0; }
  // The workspace grown as close to `wanted` as memory allows (halving on out-of-memory, down to
  // 0): for algorithm searches, where less workspace only means fewer candidates.
  size_t workspace_up_to(size_t wanted);

  // A temporary device tensor from the caching allocator. Dropping it while queued kernels still
  // use it is safe: whatever reuses the block is queued behind them on the same stream.
  Tensor temporary(const Shape& shape, DType dtype = DType::f32);

 private:
  int device_ = 0;
  int multiprocessors_ = 1;
  size_t max_workspace_bytes_ = kMaxWorkspaceBytes;
  cudaStream_t stream_ = nullptr;
  cudnnHandle_t cudnn_ = nullptr;
  cublasLtHandle_t cublaslt_ = nullptr;
  std::shared_ptr<CachingAllocator> allocator_;
  std::shared_ptr<CachingAllocator> pool_;  // a graph's, while its warm-up or capture runs
  std::shared_ptr<Storage> workspace_;
};

}  // namespace alexnet::cuda
