#include "caching_allocator.h"

#include <sstream>

#include "errors.h"

namespace alexnet {

CachingAllocator::CachingAllocator(std::string what, RawAllocate raw_allocate, RawFree raw_free)
    : what_(std::move(what)), raw_allocate_(std::move(raw_allocate)), raw_free_(std::move(raw_free)) {}

CachingAllocator::~CachingAllocator() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (parent_) {
    for (auto& [size, ptr] : cached_) parent_->adopt(ptr, size);
    cached_.clear();
    return;
  }
  free_cached_locked();
}

std::shared_ptr<CachingAllocator> CachingAllocator::create_pool() {
  auto pool = std::make_shared<CachingAllocator>(what_ + " (graph pool)", raw_allocate_, raw_free_);
  pool->parent_ = shared_from_this();
  return pool;
}

size_t CachingAllocator::rounded_size(size_t bytes) {
  // 512-byte granules keep every block aligned for vector loads; large blocks round to 64 KiB so
  // that nearby sizes share blocks without wasting more than a few percent.
  const size_t granule = bytes >= (size_t(4) << 20) ? (size_t(64) << 10) : 512;
  size_t size = (bytes + granule - 1) / granule * granule;
  return size == 0 ? granule : size;
}

void* CachingAllocator::take_cached(size_t size) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = cached_.find(size);
  if (it == cached_.end()) return nullptr;
  void* ptr = it->second;
  cached_.erase(it);
  stats_.bytes_cached -= size;
  return ptr;
}

void CachingAllocator::set_system_allocation_allowed(bool allowed) {
  std::lock_guard<std::mutex> lock(mutex_);
  system_allowed_ = allowed;
}

std::shared_ptr<Storage> CachingAllocator::allocate(size_t bytes) {
  const size_t size = rounded_size(bytes);
  void* ptr = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // Reuse a cached block of exactly this (rounded) size. Handing out larger blocks would save a
    // few system allocations when shapes vary, but then which block a request gets depends on the
    // order of earlier frees, and a repeated training step would keep finding the sizes it needs
    // taken: with exact sizes a step reuses precisely the blocks the step before it released.
    auto it = cached_.find(size);
    if (it != cached_.end()) {
      ptr = it->second;
      cached_.erase(it);
      stats_.bytes_cached -= size;
    } else {
      // A pool takes from its parent's cache first (the parent's lock only: never the other way round).
      if (parent_) ptr = parent_->take_cached(size);
      if (!ptr && !system_allowed_) {
        std::ostringstream msg;
        msg << "the " << what_ << " would need a new block of " << size
            << " bytes while system allocations are not allowed (during a graph capture every block must "
               "come from the warm-up's cache)";
        throw CaptureError(msg.str());
      }
      if (!ptr) ptr = raw_allocate_(size);
      if (!ptr) {
        // Give the cache back to the system and try once more before reporting out-of-memory.
        free_cached_locked();
        if (parent_) parent_->empty_cache();
        ptr = raw_allocate_(size);
      }
      if (!ptr) {
        std::ostringstream msg;
        msg << "out of " << what_ << " memory: could not allocate " << (size >> 20) << " MiB (" << size
            << " bytes) with " << (stats_.bytes_in_use >> 20)
            << " MiB held by live tensors; dispose tensors you no longer need or use a smaller batch";
        throw OutOfMemoryError(msg.str());
      }
      ++stats_.system_allocations;
    }
    stats_.bytes_in_use += size;
    if (stats_.bytes_in_use > stats_.peak_bytes_in_use) stats_.peak_bytes_in_use = stats_.bytes_in_use;
  }
  std::weak_ptr<CachingAllocator> owner = weak_from_this();
  std::weak_ptr<CachingAllocator> heir = parent_;  // takes the block if the pool is gone
  RawFree raw_free = raw_free_;
  return std::make_shared<Storage>(ptr, size, [owner, heir, raw_free](void* p, size_t n) {
    if (auto self = owner.lock()) {
      self->release(p, n);
    } else if (auto parent = heir.lock()) {
      parent->adopt(p, n);
    } else {
      raw_free(p);  // the allocator is gone (teardown): give the block straight back
    }
  });
}

void CachingAllocator::release(void* ptr, size_t size) {
  std::lock_guard<std::mutex> lock(mutex_);
  cached_.emplace(size, ptr);
  stats_.bytes_in_use -= size;
  stats_.bytes_cached += size;
}

void CachingAllocator::adopt(void* ptr, size_t size) {
  std::lock_guard<std::mutex> lock(mutex_);
  cached_.emplace(size, ptr);
  stats_.bytes_cached += size;
}

void CachingAllocator::free_cached_locked() {
  if (parent_) {
    // A pool's blocks stay in the family: its parent decides when memory goes back to the system.
    for (auto& [size, ptr] : cached_) parent_->adopt(ptr, size);
  } else {
    for (auto& [size, ptr] : cached_) {
      raw_free_(ptr);
      ++stats_.system_frees;
    }
  }
  cached_.clear();
  stats_.bytes_cached = 0;
}

AllocatorStats CachingAllocator::stats() {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  free_cached_locked();
}

}  // namespace alexnet
