#include "completion_worker.h"

#include "errors.h"

namespace alexnet::binding {

CompletionWorker::CompletionWorker(Napi::Env env, std::shared_ptr<Completion> completion, Napi::Value result)
    : Napi::AsyncWorker(env, "alexnet:completion"),
      completion_(std::move(completion)),
      deferred_(Napi::Promise::Deferred::New(env)) {
  if (!result.IsEmpty()) result_ = Napi::Persistent(result);
}

Napi::Promise CompletionWorker::start(Napi::Env env, std::shared_ptr<Completion> completion, Napi::Value result) {
  auto* worker = new CompletionWorker(env, std::move(completion), result);  // deleted by AsyncWorker
  Napi::Promise promise = worker->deferred_.Promise();
  worker->Queue();
  return promise;
}

void CompletionWorker::Execute() {
  try {
    completion_->wait();
  } catch (...) {
    failure_ = std::current_exception();
    SetError("queued work failed");
  }
}

void CompletionWorker::OnOK() { deferred_.Resolve(result_.IsEmpty() ? Env().Undefined() : result_.Value()); }

void CompletionWorker::OnError(const Napi::Error&) { deferred_.Reject(to_js_error(Env(), failure_).Value()); }

}  // namespace alexnet::binding
