// Per-environment state of the addon: the backend (created on first use, so that loading the CUDA
// build on a machine without a device succeeds and can say why it cannot run), the Tensor class
// and the completion worker. Each environment (the main thread, every worker thread that loads the
// addon) has its own, its own backend queue among them.
#pragma once

#include <napi.h>

#include <memory>
#include <string>

#include "../core/backend.h"
#include "completion_worker.h"

namespace alexnet::binding {

struct AddonState {
  explicit AddonState(Napi::Env env);

  std::unique_ptr<Backend> backend;
  std::string unavailable_reason;  // set once creation failed
  Napi::FunctionReference tensor_constructor;
  const void* graph_scope = nullptr;  // the Graph whose warm-up or capture is in progress
  CompletionWorker completions;

  // The environment's cleanup hook (a worker thread terminated or exiting, or the process ending),
  // which runs before Node frees what JavaScript held: the backend's queue runs dry, dropping the
  // ops nobody will read, which fires every completion, and then the completion worker stops.
  // After it no native thread touches this environment's memory. Never throws.
  void tear_down() noexcept;
};

AddonState& state(Napi::Env env);
// The backend, created on first call; throws a JS Error (code ERR_BACKEND_UNAVAILABLE) when it cannot be.
Backend& backend(Napi::Env env);

}  // namespace alexnet::binding
