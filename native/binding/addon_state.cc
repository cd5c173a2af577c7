#include "addon_state.h"

#include "errors.h"

namespace alexnet::binding {

AddonState::AddonState(Napi::Env env) : completions(env) {}

void AddonState::tear_down() noexcept {
  if (backend) backend->abandon();
  completions.shutdown();
}

AddonState& state(Napi::Env env) { return *env.GetInstanceData<AddonState>(); }

Backend& backend(Napi::Env env) {
  AddonState& s = state(env);
  if (s.backend) return *s.backend;
  if (s.unavailable_reason.empty()) {
    try {
      s.backend = create_backend();
      return *s.backend;
    } catch (const std::exception& e) {
      s.unavailable_reason = e.what();
    }
  }
  Napi::Error error =
      Napi::Error::New(env, std::string("the ") + backend_name() + " backend is unavailable: " + s.unavailable_reason);
  error.Set("code", Napi::String::New(env, "ERR_BACKEND_UNAVAILABLE"));
  throw error;
}

}  // namespace alexnet::binding
