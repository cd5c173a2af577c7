// Waits for the backend's completions (fences, downloads) on a native thread of its own, one per
// JavaScript environment, so that the event loop never blocks on the device and libuv's thread
// pool is never held by a wait; settles each one's promise on the JavaScript thread through a
// thread-safe function: with `result` (or undefined) when the queued work ran, or with its failure
// as the same JS error class a synchronous call would throw.
//
// Environment teardown (a worker thread terminated or calling process.exit, or the process ending)
// is part of the design: nothing here throws into JavaScript or calls it once the environment is
// going away. shutdown(), from the environment's cleanup hook (addon_state.h), stops the thread
// after the backend has been abandoned; promises still pending are abandoned with the environment.
#pragma once

#include <napi.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "../core/backend.h"

namespace alexnet::binding {

class CompletionWorker {
 public:
  explicit CompletionWorker(Napi::Env env);  // the thread starts with the first completion
  ~CompletionWorker();                       // shutdown()
  CompletionWorker(const CompletionWorker&) = delete;
  CompletionWorker& operator=(const CompletionWorker&) = delete;

  // Queues the wait and returns the promise it will settle; `result` is kept alive until then
  // (a download's target array, which the backend writes into).
  Napi::Promise start(Napi::Env env, std::shared_ptr<Completion> completion, Napi::Value result = Napi::Value());

  // Stops the thread once it has run out of completions (the backend has been abandoned, so each
  // has fired) and drops what is pending. Call on the JavaScript thread. Never throws.
  void shutdown() noexcept;

 private:
  struct Pending {
    napi_deferred deferred = nullptr;
    napi_ref result = nullptr;  // null: resolve with undefined
  };
  struct Settled {
    uint64_t id;
    std::exception_ptr failure;
  };

  void run();  // the thread
  static void call_js(napi_env env, napi_value, void* context, void* data);
  void settle(napi_env env, const Settled& settled) noexcept;

  napi_env env_;
  napi_threadsafe_function tsfn_ = nullptr;

  // JavaScript thread only.
  std::unordered_map<uint64_t, Pending> pending_;
  uint64_t next_id_ = 0;
  bool shut_down_ = false;

  // Shared with the thread.
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::pair<uint64_t, std::shared_ptr<Completion>>> waiting_;
  bool stopping_ = false;

  std::thread thread_;
};

}  // namespace alexnet::binding
