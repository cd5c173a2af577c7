// Module registration only. The same binding is compiled twice, once linked with the CPU backend
// (alexnet_cpu.node) and once with the CUDA backend (alexnet_cuda.node).
#include <napi.h>

#include "binding/addon_state.h"
#include "binding/graph_handle.h"
#include "binding/ops.h"
#include "binding/tensor_handle.h"

namespace {

Napi::Object init(Napi::Env env, Napi::Object exports) {
  auto* state = new alexnet::binding::AddonState(env);
  env.SetInstanceData(state);  // deleted, with the backend, when the environment shuts down
  NAPI_THROW_IF_FAILED(env,
                       napi_add_env_cleanup_hook(
                           env, [](void* arg) { static_cast<alexnet::binding::AddonState*>(arg)->tear_down(); }, state),
                       exports);
  Napi::Function tensor = alexnet::binding::TensorHandle::define(env);
  state->tensor_constructor = Napi::Persistent(tensor);
  exports.Set("Tensor", tensor);
  exports.Set("Graph", alexnet::binding::GraphHandle::define(env));
  alexnet::binding::register_runtime(env, exports);
  alexnet::binding::register_ops(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(NODE_GYP_MODULE_NAME, init)
