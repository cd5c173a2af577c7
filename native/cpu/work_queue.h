// The CPU backend's queue: one native worker thread runs enqueued work in order, so op calls
// return to JavaScript at once and the event loop never waits on arithmetic. When queued work
// throws, the failure is kept and reported by the next fence or push (work in between still runs:
// shapes were checked before queueing, so it stays memory-safe, but its results are not to be trusted).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "core/backend.h"

namespace alexnet::cpu {

class WorkQueue {
 public:
  WorkQueue();
  ~WorkQueue();  // runs what is queued, then stops the thread

  void push(std::function<void()> work);
  // A completion that fires after everything pushed so far has run.
  std::shared_ptr<Completion> fence();
  // Run `work` on the worker thread after what is queued, and wait for it (for the rare calls
  // that must finish before returning, such as emptying the cache).
  void run_and_wait(std::function<void()> work);
  // True when nothing is queued or running (only the thread that pushes may rely on it staying so).
  bool idle();
  // Nanoseconds the worker has spent inside work items so far (read on the worker, it is the sum of
  // the op times queued before: the CPU's counterpart of timing a stretch of GPU work with events).
  uint64_t busy_ns() const { return busy_ns_.load(std::memory_order_relaxed); }

 private:
  void loop();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> work_;
  std::exception_ptr failure_;  // the first failure, guarded by mutex_
  bool stopping_ = false;
  bool running_ = false;  // the worker is inside a piece of work
  std::atomic<uint64_t> busy_ns_{0};
  std::thread thread_;
};

}  // namespace alexnet::cpu
