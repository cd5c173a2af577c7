#include "pinned_staging.h"

#include <algorithm>
#include <string>

#include "check.h"
#include "core/errors.h"

namespace alexnet::cuda {
namespace {

constexpr size_t kGranule = size_t(64) << 10;  // buffers are multiples of 64 KiB

size_t rounded(size_t bytes) { return std::max(kGranule, (bytes + kGranule - 1) / kGranule * kGranule); }

void free_buffer(PinnedStaging::Buffer* b) {
  // Never throws (runs in the destructor too); a pending copy must finish before its memory goes.
  if (b->event) {
    cudaEventSynchronize(b->event);
    cudaEventDestroy(b->event);
  }
  if (b->host) cudaFreeHost(b->host);
  cudaGetLastError();
}

}  // namespace

PinnedStaging::PinnedStaging(size_t soft_limit_bytes) : soft_limit_bytes_(soft_limit_bytes) {}

PinnedStaging::~PinnedStaging() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& b : buffers_) free_buffer(b.get());
  buffers_.clear();
}

bool PinnedStaging::idle_locked(Buffer* b) {
  if (b->in_use) return false;
  const cudaError_t status = cudaEventQuery(b->event);
  if (status == cudaSuccess) return true;
  if (status == cudaErrorNotReady) return false;
  check_cuda(status, "cudaEventQuery (staging buffer)");
  return false;
}

PinnedStaging::Buffer* PinnedStaging::acquire(size_t bytes) {
  const size_t want = rounded(bytes);
  std::lock_guard<std::mutex> lock(mutex_);

  // 1. The smallest idle buffer that fits without wasting more than half of it.
  auto fits = [&](const Buffer* b) { return b->bytes >= want && b->bytes <= 2 * want; };
  Buffer* best = nullptr;
  for (auto& b : buffers_)
    if (fits(b.get()) && (!best || b->bytes < best->bytes) && idle_locked(b.get())) best = b.get();
  if (best) {
    best->in_use = true;
    return best;
  }

  // 2. Over the limit: free the idle buffers that do not fit, then, if still over, wait for a
  //    fitting one whose copy is queued rather than pin more memory.
  if (total_bytes_ + want > soft_limit_bytes_) {
    for (auto it = buffers_.begin(); it != buffers_.end();) {
      if (idle_locked(it->get())) {
        total_bytes_ -= (*it)->bytes;
        free_buffer(it->get());
        it = buffers_.erase(it);
      } else {
        ++it;
      }
    }
    if (total_bytes_ + want > soft_limit_bytes_) {
      for (auto& b : buffers_) {
        if (!b->in_use && fits(b.get())) {
          CUDA_CHECK(cudaEventSynchronize(b->event));
          b->in_use = true;
          return b.get();
        }
      }
      // Every buffer is held by a download not yet collected: go over the limit.
    }
  }

  // 3. A new buffer.
  auto buffer = std::make_unique<Buffer>();
  buffer->bytes = want;
  cudaError_t status = cudaHostAlloc(&buffer->host, want, cudaHostAllocDefault);
  if (status != cudaSuccess) {
    buffer->host = nullptr;
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      throw OutOfMemoryError("out of pinned host memory: cudaHostAlloc of " + std::to_string(want >> 20) +
                             " MiB for a transfer failed");
    }
    check_cuda(status, "cudaHostAlloc");
  }
  status = cudaEventCreateWithFlags(&buffer->event, cudaEventDisableTiming);
  if (status != cudaSuccess) {
    buffer->event = nullptr;
    free_buffer(buffer.get());
    check_cuda(status, "cudaEventCreateWithFlags");
  }
  // A fresh event counts as complete, so the buffer is idle until its first copy is recorded.
  buffer->in_use = true;
  total_bytes_ += want;
  buffers_.push_back(std::move(buffer));
  return buffers_.back().get();
}

void PinnedStaging::release(Buffer* buffer) {
  std::lock_guard<std::mutex> lock(mutex_);
  buffer->in_use = false;
}

}  // namespace alexnet::cuda
