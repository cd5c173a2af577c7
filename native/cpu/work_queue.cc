#include "work_queue.h"

#include <chrono>

#include "core/errors.h"

namespace alexnet::cpu {
namespace {

// Signalled by the worker thread once its place in the queue is reached.
class QueuedCompletion : public Completion {
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
  cancel();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void WorkQueue::enqueue(Item item) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    work_.push_back(std::move(item));
  }
  wake_.notify_one();
}

void WorkQueue::push(std::function<void()> work) { enqueue({std::move(work), true}); }

std::shared_ptr<Completion> WorkQueue::push_waited(std::function<void()> work) {
  auto completion = std::make_shared<QueuedCompletion>();
  enqueue({[completion, work = std::move(work)] {
             try {
               work();
             } catch (...) {
               completion->signal(std::current_exception());
               return;
             }
             completion->signal(nullptr);
           },
           false});
  return completion;
}

std::shared_ptr<Completion> WorkQueue::fence() {
  auto completion = std::make_shared<QueuedCompletion>();
  enqueue({[this, completion] {
             std::exception_ptr failure;
             {
               std::lock_guard<std::mutex> lock(mutex_);
               failure = failure_;
               failure_ = nullptr;
             }
             completion->signal(failure);
           },
           false});
  return completion;
}

void WorkQueue::drain() {
  push_waited([] {})->wait();
}

bool WorkQueue::idle() {
  std::lock_guard<std::mutex> lock(mutex_);
  return work_.empty() && !running_;
}

void WorkQueue::cancel() noexcept {
  std::unique_lock<std::mutex> lock(mutex_);
  cancelled_ = true;
  idle_.wait(lock, [&] { return work_.empty() && !running_; });
}

void WorkQueue::loop() {
  for (;;) {
    Item item;
    bool run;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !work_.empty(); });
      if (work_.empty()) return;  // stopping, and everything queued has run
      item = std::move(work_.front());
      work_.pop_front();
      run = !(cancelled_ && item.is_op);
      running_ = run;
    }
    const auto start = std::chrono::steady_clock::now();
    if (run) {
      try {
        item.work();
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!failure_) failure_ = std::current_exception();
      }
    }
    busy_ns_.fetch_add(
        static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count()),
        std::memory_order_relaxed);
    // Destroy the closure here, outside the lock: it may hold the last reference to a staging buffer.
    item.work = nullptr;
    std::lock_guard<std::mutex> lock(mutex_);
    running_ = false;
    if (work_.empty()) idle_.notify_all();
  }
}

}  // namespace alexnet::cpu
