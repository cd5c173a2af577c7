// Per-environment state of the addon: the backend (created on first use, so that loading the CUDA
// build on a machine without a device succeeds and can say why it cannot run) and the Tensor class.
#pragma once

#include <napi.h>

#include <memory>
#include <string>

#include "../core/backend.h"

namespace alexnet::binding {

struct AddonState {
  std::unique_ptr<Backend> backend;
  std::string unavailable_reason;  // set once creation failed
  Napi::FunctionReference tensor_constructor;
  const void* graph_scope = nullptr;  // the Graph whose warm-up or capture is in progress
};

AddonState& state(Napi::Env env);
// The backend, created on first call; throws a JS Error (code ERR_BACKEND_UNAVAILABLE) when it cannot be.
Backend& backend(Napi::Env env);

}  // namespace alexnet::binding
