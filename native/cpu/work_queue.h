// The CPU backend's queue: one native worker thread runs enqueued work in order, so op calls
// return to JavaScript at once and the event loop never waits on arithmetic.
//
// Failures: an op's work that throws has already poisoned what it was to write (backend_cpu.cc);
// the queue keeps the first such failure for the next fence, and otherwise goes on (shapes were
// checked before queueing, so later work stays memory-safe, and work that reads a poisoned
// tensor poisons its own outputs in turn). Nothing pushed later is blamed for it.
//
// Teardown: cancel() (and the destructor) drop the ops not yet started, whose results nobody
// will read, and still fire every completion, so that a thread waiting on one is released.
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
  ~WorkQueue();  // cancel(), then stops the thread

  // Queues an op's work. What it throws is kept for the next fence. Dropped after cancel().
  void push(std::function<void()> work);
  // Queues `work` and returns a completion whose wait() returns once it has run, throwing what it
  // threw (a download's copy). Runs even after cancel().
  std::shared_ptr<Completion> push_waited(std::function<void()> work);
  // A completion that fires after everything pushed so far has run; its wait() throws the first
  // failure since the previous fence.
  std::shared_ptr<Completion> fence();
  // Returns once everything pushed so far has run, reporting nothing (for emptying the cache).
  void drain();
  // True when nothing is queued or running (only the thread that pushes may rely on it staying so).
  bool idle();
  // Nanoseconds the worker has spent inside work items so far (read on the worker, it is the sum of
  // the op times queued before: the CPU's counterpart of timing a stretch of GPU work with events).
  uint64_t busy_ns() const { return busy_ns_.load(std::memory_order_relaxed); }
  // From now on ops are dropped instead of run; returns once nothing queued is left or running.
  // Never throws.
  void cancel() noexcept;

 private:
  struct Item {
    std::function<void()> work;
    bool is_op;  // dropped after cancel()
  };
  void enqueue(Item item);
  void loop();

  std::mutex mutex_;
  std::condition_variable wake_;  // the worker: work arrived, or stopping
  std::condition_variable idle_;  // cancel(): the queue ran dry
  std::deque<Item> work_;
  std::exception_ptr failure_;  // the first failure since the last fence, guarded by mutex_
  bool cancelled_ = false;
  bool stopping_ = false;
  bool running_ = false;  // the worker is inside a piece of work
  std::atomic<uint64_t> busy_ns_{0};
  std::thread thread_;
};

}  // namespace alexnet::cpu
