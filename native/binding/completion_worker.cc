#include "completion_worker.h"

#include "errors.h"

namespace alexnet::binding {

CompletionWorker::CompletionWorker(Napi::Env env) : env_(env) {
  napi_value name;
  NAPI_THROW_IF_FAILED_VOID(env, napi_create_string_utf8(env, "alexnet:completion", NAPI_AUTO_LENGTH, &name));
  // No JavaScript function: call_js settles the promises itself. One thread (ours) uses it.
  NAPI_THROW_IF_FAILED_VOID(
      env, napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, nullptr, nullptr, this, call_js, &tsfn_));
  // Referenced only while a promise is pending, so that an idle addon never keeps the process alive.
  napi_unref_threadsafe_function(env, tsfn_);
}

CompletionWorker::~CompletionWorker() { shutdown(); }

Napi::Promise CompletionWorker::start(Napi::Env env, std::shared_ptr<Completion> completion, Napi::Value result) {
  if (shut_down_) throw Napi::Error::New(env, "alexnet: the environment is shutting down");
  Pending pending;
  napi_value promise;
  NAPI_THROW_IF_FAILED(env, napi_create_promise(env, &pending.deferred, &promise), Napi::Promise());
  if (!result.IsEmpty())
    NAPI_THROW_IF_FAILED(env, napi_create_reference(env, result, 1, &pending.result), Napi::Promise());
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });  // on first use
  if (pending_.empty()) napi_ref_threadsafe_function(env, tsfn_);
  const uint64_t id = next_id_++;
  pending_.emplace(id, pending);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    waiting_.emplace_back(id, std::move(completion));
  }
  wake_.notify_one();
  return Napi::Promise(env, promise);
}

void CompletionWorker::run() {
  bool closing = false;  // the thread-safe function is going away with the environment: use it no more
  for (;;) {
    std::pair<uint64_t, std::shared_ptr<Completion>> next;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !waiting_.empty(); });
      if (waiting_.empty()) return;  // stopping, and every completion has been waited for
      next = std::move(waiting_.front());
      waiting_.pop_front();
    }
    auto settled = std::make_unique<Settled>(Settled{next.first, nullptr});
    try {
      next.second->wait();
    } catch (...) {
      settled->failure = std::current_exception();
    }
    next.second.reset();  // gives back what the completion holds (CUDA: its staging buffer) now
    if (closing) continue;
    if (napi_call_threadsafe_function(tsfn_, settled.get(), napi_tsfn_nonblocking) == napi_ok)
      settled.release();  // call_js owns it now
    else
      closing = true;
  }
}

void CompletionWorker::call_js(napi_env env, napi_value, void* context, void* data) {
  std::unique_ptr<Settled> settled(static_cast<Settled*>(data));
  // No environment: the thread-safe function is being destroyed with it, handing back what it held.
  if (env == nullptr) return;
  static_cast<CompletionWorker*>(context)->settle(env, *settled);
}

// Runs on the JavaScript thread, possibly while the environment is going away, when no JavaScript
// can run and N-API calls fail: each failure is ignored (there is no one left to tell) and no
// exception leaves, since one escaping into Node here would abort the process.
void CompletionWorker::settle(napi_env env, const Settled& settled) noexcept {
  auto it = pending_.find(settled.id);
  if (it == pending_.end()) return;
  const Pending pending = it->second;
  pending_.erase(it);
  if (pending_.empty()) napi_unref_threadsafe_function(env, tsfn_);
  try {
    napi_value value = nullptr;
    if (settled.failure) {
      value = to_js_error(Napi::Env(env), settled.failure).Value();
      napi_reject_deferred(env, pending.deferred, value);
    } else {
      if (pending.result == nullptr || napi_get_reference_value(env, pending.result, &value) != napi_ok || !value)
        napi_get_undefined(env, &value);
      napi_resolve_deferred(env, pending.deferred, value);
    }
  } catch (...) {
    // Building the error failed: the environment is going away.
  }
  if (pending.result) napi_delete_reference(env, pending.result);
}

void CompletionWorker::shutdown() noexcept {
  if (shut_down_) return;
  shut_down_ = true;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  // The promises still pending belong to an environment that is going away: they are abandoned
  // (never settled); the arrays they were to resolve with are let go.
  for (auto& [id, pending] : pending_)
    if (pending.result) napi_delete_reference(env_, pending.result);
  pending_.clear();
}

}  // namespace alexnet::binding
