// Pinned (page-locked) host buffers for uploads and downloads. cudaMemcpyAsync is only truly
// asynchronous from pinned memory, and the caller's memory (a JavaScript typed array) is neither
// pinned nor guaranteed to live until the copy runs, so every transfer goes through one of these.
//
// Buffers are reused by size. Each carries a CUDA event recorded after the last copy queued on it;
// a buffer is handed out again only once that event has completed, so a queued copy never sees its
// bytes overwritten. Thread-safe: downloads give their buffer back from libuv's thread pool.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace alexnet::cuda {

class PinnedStaging : public std::enable_shared_from_this<PinnedStaging> {
 public:
  struct Buffer {
    void* host = nullptr;
    size_t bytes = 0;
    cudaEvent_t event = nullptr;  // recorded after the last copy queued on this buffer
    bool in_use = false;          // handed out and not yet given back
  };

  // `soft_limit_bytes`: above this much pinned memory, idle buffers are freed or waited for before
  // new ones are made (pinning too much host memory slows the whole machine).
  explicit PinnedStaging(size_t soft_limit_bytes);
  ~PinnedStaging();
  PinnedStaging(const PinnedStaging&) = delete;
  PinnedStaging& operator=(const PinnedStaging&) = delete;

  // A buffer of at least `bytes` that no queued copy uses any more; throws OutOfMemoryError or
  // BackendError. Give it back with release() once its event is recorded after the new copy.
  Buffer* acquire(size_t bytes);
  void release(Buffer* buffer);

 private:
  bool idle_locked(Buffer* b);  // not in use and its last copy has run
  std::mutex mutex_;
  std::vector<std::unique_ptr<Buffer>> buffers_;
  size_t total_bytes_ = 0;
  size_t soft_limit_bytes_;
};

}  // namespace alexnet::cuda
