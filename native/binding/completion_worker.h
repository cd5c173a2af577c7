// Waits for a backend Completion (a fence, a download) on libuv's thread pool, so the event loop
// never blocks on the device, then settles a promise: with `result` (or undefined) when the queued
// work ran, or with its failure as the same JS error class a synchronous call would throw.
#pragma once

#include <napi.h>

#include <exception>
#include <memory>

#include "../core/backend.h"

namespace alexnet::binding {

class CompletionWorker : public Napi::AsyncWorker {
 public:
  // Queues the wait and returns the promise it will settle; `result` is kept alive until then.
  static Napi::Promise start(Napi::Env env, std::shared_ptr<Completion> completion, Napi::Value result = Napi::Value());

 private:
  CompletionWorker(Napi::Env env, std::shared_ptr<Completion> completion, Napi::Value result);
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& error) override;

  std::shared_ptr<Completion> completion_;
  Napi::Promise::Deferred deferred_;
  Napi::Reference<Napi::Value> result_;
  std::exception_ptr failure_;
};

}  // namespace alexnet::binding
