#include "work_queue.h"

#include <chrono>

#include "core/errors.h"

namespace alexnet::cpu {
namespace {

// Signalled by the worker thread once the fence's place in the queue is reached.
class FenceCompletion : public Completion {
 public:
  void signal(std::exception_ptr failure) {
    std::lock_guard<std::mutex> lock(mutex_);
    done_ = true;
    failure_ = failure;
    cv_.notify_all();
  }
  void wait() override {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return done_; });
    if (failure_) std::rethrow_exception(failure_);
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::exception_ptr failure_;
};

}  // namespace

WorkQueue::WorkQueue() : thread_([this] { loop(); }) {}

WorkQueue::~WorkQueue() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void WorkQueue::push(std::function<void()> work) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (failure_) {
      // Surface an earlier failure at the next call rather than piling up work that cannot be right.
      std::exception_ptr failure = failure_;
      failure_ = nullptr;
      std::rethrow_exception(failure);
    }
    work_.push_back(std::move(work));
  }
  wake_.notify_one();
}

std::shared_ptr<Completion> WorkQueue::fence() {
  auto completion = std::make_shared<FenceCompletion>();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // The fence is the one item that still runs after a failure: it reports the failure.
    work_.push_back([this, completion] {
      std::exception_ptr failure;
      {
        std::lock_guard<std::mutex> l(mutex_);
        failure = failure_;
        failure_ = nullptr;
      }
      completion->signal(failure);
    });
  }
  wake_.notify_one();
  return completion;
}

void WorkQueue::run_and_wait(std::function<void()> work) {
  push(std::move(work));
  fence()->wait();
}

bool WorkQueue::idle() {
  std::lock_guard<std::mutex> lock(mutex_);
  return work_.empty() && !running_;
}

void WorkQueue::loop() {
  for (;;) {
    std::function<void()> work;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !work_.empty(); });
      if (work_.empty()) return;  // stopping, and everything queued has run
      work = std::move(work_.front());
      work_.pop_front();
      running_ = true;
    }
    const auto start = std::chrono::steady_clock::now();
    try {
      work();
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!failure_) failure_ = std::current_exception();
    }
    busy_ns_.fetch_add(
        static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count()),
        std::memory_order_relaxed);
    // Destroy the closure here, outside the lock: it may hold the last reference to a staging buffer.
    work = nullptr;
    std::lock_guard<std::mutex> lock(mutex_);
    running_ = false;
  }
}

}  // namespace alexnet::cpu
