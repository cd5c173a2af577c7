#include "context.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "check.h"
#include "core/errors.h"

namespace alexnet::cuda {
namespace {

// cudaMalloc for the caching allocator: nullptr on out-of-memory (the allocator then empties its
// cache and retries once), an exception for any other failure.
void* raw_device_allocate(size_t bytes) {
  void* ptr = nullptr;
  const cudaError_t status = cudaMalloc(&ptr, bytes);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // clear the (non-sticky) error so the process can go on
    return nullptr;
  }
  check_cuda(status, "cudaMalloc");
  return ptr;
}

// Never throws: blocks also come back after the backend is gone, as late as process teardown,
// when the runtime may already be unloading.
void raw_device_free(void* ptr) {
  if (cudaFree(ptr) != cudaSuccess) cudaGetLastError();
}

}  // namespace

CudaContext::CudaContext() {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    cudaGetLastError();
    throw BackendError(std::string("no CUDA device: cudaGetDeviceCount failed: ") + cudaGetErrorName(status) + " (" +
                       cudaGetErrorString(status) + ")");
  }
  if (count == 0) throw BackendError("no CUDA device: cudaGetDeviceCount found none");

  try {
    // Device 0 of those visible (choose another with CUDA_VISIBLE_DEVICES).
    CUDA_CHECK(cudaSetDevice(device_));
    int major = 0, minor = 0;
    CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device_));
    CUDA_CHECK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device_));
    if (major < 8) {
      throw BackendError("the CUDA device has compute capability " + std::to_string(major) + "." +
                         std::to_string(minor) + "; this build needs 8.0 (Ampere) or newer");
    }
    CUDA_CHECK(cudaDeviceGetAttribute(&multiprocessors_, cudaDevAttrMultiProcessorCount, device_));
    // Non-blocking: the stream never waits for (or is waited on by) the legacy default stream.
    CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    CUDNN_CHECK(cudnnCreate(&cudnn_));
    CUDNN_CHECK(cudnnSetStream(cudnn_, stream_));
    CUBLAS_CHECK(cublasLtCreate(&cublaslt_));
    allocator_ = std::make_shared<CachingAllocator>("device", raw_device_allocate, raw_device_free);
    size_t free_bytes = 0, total_bytes = 0;
    CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    max_workspace_bytes_ = workspace_limit(total_bytes, std::getenv("ALEXNET_CUDA_WORKSPACE_MB"));
  } catch (...) {
    if (cublaslt_) cublasLtDestroy(cublaslt_);
    if (cudnn_) cudnnDestroy(cudnn_);
    if (stream_) cudaStreamDestroy(stream_);
    cudaGetLastError();
    throw;
  }
}

CudaContext::~CudaContext() {
  // Never throws: this runs at environment teardown too. Queued work finishes first so that no
  // kernel still reads memory that goes back to the system below.
  if (stream_) cudaStreamSynchronize(stream_);
  workspace_.reset();
  pool_.reset();
  allocator_.reset();  // cached blocks are freed; live tensors free theirs directly later
  if (cublaslt_) cublasLtDestroy(cublaslt_);
  if (cudnn_) cudnnDestroy(cudnn_);
  if (stream_) cudaStreamDestroy(stream_);
  cudaGetLastError();
}

void* CudaContext::workspace(size_t bytes) {
  if (bytes == 0) return workspace_ ? workspace_->data : nullptr;
  if (!workspace_ || workspace_->bytes < bytes) {
    // Hand the old block back first, so the allocator's retry after emptying its cache can use it.
    workspace_.reset();
    workspace_ = allocator_->allocate(bytes);
  }
  return workspace_->data;
}

size_t CudaContext::workspace_up_to(size_t wanted) {
  size_t request = wanted;
  while (request > 0) {
    if (workspace_bytes() >= request) return workspace_bytes();
    try {
      workspace(request);
      return workspace_bytes();
    } catch (const OutOfMemoryError&) {
      request = request > (size_t(1) << 20) ? request / 2 : 0;
    }
  }
  return workspace_bytes();
}

Tensor CudaContext::temporary(const Shape& shape, DType dtype) {
  Tensor t;
  t.shape = shape;
  t.dtype = dtype;
  t.storage = allocator()->allocate(t.bytes());
  return t;
}

void CudaContext::set_system_allocation_allowed(bool allowed) {
  allocator_->set_system_allocation_allowed(allowed);
  if (pool_) pool_->set_system_allocation_allowed(allowed);
}

}  // namespace alexnet::cuda
