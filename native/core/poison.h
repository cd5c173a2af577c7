// Why a tensor's values cannot be trusted: the failure of the op that was to write them. A queued
// op that fails (the CPU build runs ops on a worker thread, after the call has returned) leaves its
// outputs poisoned with its error; reading a poisoned tensor, or queueing an op on it, then throws
// that error, so a failure is reported where its results are used and nowhere else (see
// native/README.md, "Failures"). Shared by a tensor's memory and every view of it, including the
// borrowed views that queued work holds (cpu/backend_cpu.cc); thread-safe.
#pragma once

#include <exception>
#include <mutex>

namespace alexnet {

class Poison {
 public:
  // The failure, or null when the values are good.
  std::exception_ptr failure() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return failure_;
  }
  void set(std::exception_ptr failure) {
    std::lock_guard<std::mutex> lock(mutex_);
    failure_ = std::move(failure);
  }
  // The memory has been written whole again (a fill, a copy into it, an upload).
  void clear() { set(nullptr); }

 private:
  mutable std::mutex mutex_;
  std::exception_ptr failure_;
};

}  // namespace alexnet
