// A caching allocator over a backend's raw allocate/free (aligned host memory, cudaMalloc). Freed
// blocks are kept by size and handed out again for requests of the same rounded size, so a training
// step whose shapes repeat makes no system allocation after the first. Thread-safe: blocks come back from the CPU
// worker thread too.
//
// On the CUDA build every op runs on one stream, so a block freed while queued kernels still read it
// may be handed out at once: whatever uses it next is queued behind them on the same stream.
//
// Pools: an allocator made with a parent is a private pool for one captured graph (graph.h). Its
// blocks are never handed out by anyone else while the pool lives, because a graph's recorded work
// keeps reading and writing them at every launch. It takes blocks from its own cache, then from the
// parent's cache, and only then from the system; with system allocations forbidden (during a
// capture, when cudaMalloc must not run) a request neither cache can serve throws a CaptureError.
// When the pool goes, its cached blocks, and later any block still held then, return to the parent's
// cache: a pool never frees memory to the system (a cudaFree in the middle of another capture would
// break it).
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

  // A private pool drawing on this allocator (see the notes above).
  std::shared_ptr<CachingAllocator> create_pool();

  std::shared_ptr<Storage> allocate(size_t bytes);  // throws OutOfMemoryError, CaptureError
  AllocatorStats stats();
  void empty_cache();  // returns every cached block to the system (a pool's go to its parent)

  // While false, a request that no cache can serve throws CaptureError instead of allocating.
  void set_system_allocation_allowed(bool allowed);

  static size_t rounded_size(size_t bytes);

 private:
  void release(void* ptr, size_t size);
  // A block of a pool that is gone: cached here, as if it had always been this allocator's.
  void adopt(void* ptr, size_t size);
  // A cached block of exactly `size`, or null; the caller accounts for it.
  void* take_cached(size_t size);
  void free_cached_locked();

  std::string what_;
  RawAllocate raw_allocate_;
  RawFree raw_free_;
  std::shared_ptr<CachingAllocator> parent_;  // set for a pool
  std::mutex mutex_;
  std::multimap<size_t, void*> cached_;
  AllocatorStats stats_;
  bool system_allowed_ = true;
};

}  // namespace alexnet
