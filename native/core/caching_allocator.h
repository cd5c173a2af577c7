// A caching allocator over a backend's raw allocate/free (aligned host memory, cudaMalloc). Freed
// blocks are kept by size and handed out again for requests of the same rounded size, so a training
// step whose shapes repeat makes no system allocation after the first. Thread-safe: blocks come back from the CPU
// worker thread too.
//
// On the CUDA build every op runs on one stream, so a block freed while queued kernels still read it
// may be handed out at once: whatever uses it next is queued behind them on the same stream.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "backend.h"

namespace alexnet {

class CachingAllocator : public std::enable_shared_from_this<CachingAllocator> {
 public:
  using RawAllocate = std::function<void*(size_t)>;  // nullptr when out of memory
  using RawFree = std::function<void(void*)>;

  // `what` names the memory in errors ("host", "device").
  CachingAllocator(std::string what, RawAllocate raw_allocate, RawFree raw_free);
  ~CachingAllocator();

  std::shared_ptr<Storage> allocate(size_t bytes);  // throws OutOfMemoryError
  AllocatorStats stats();
  void empty_cache();  // returns every cached block to the system

  static size_t rounded_size(size_t bytes);

 private:
  void release(void* ptr, size_t size);
  void free_cached_locked();

  std::string what_;
  RawAllocate raw_allocate_;
  RawFree raw_free_;
  std::mutex mutex_;
  std::multimap<size_t, void*> cached_;
  AllocatorStats stats_;
};

}  // namespace alexnet
