#include "graph_handle.h"

#include <string>

#include "../core/errors.h"
#include "addon_state.h"
#include "errors.h"

namespace alexnet::binding {

Napi::Function GraphHandle::define(Napi::Env env) {
  return DefineClass(env, "Graph",
                     {
                         InstanceMethod<&GraphHandle::begin_warmup>("beginWarmup"),
                         InstanceMethod<&GraphHandle::end_warmup>("endWarmup"),
                         InstanceMethod<&GraphHandle::begin_capture>("beginCapture"),
                         InstanceMethod<&GraphHandle::end_capture>("endCapture"),
                         InstanceMethod<&GraphHandle::launch>("launch"),
                         InstanceMethod<&GraphHandle::dispose>("dispose"),
                         InstanceAccessor<&GraphHandle::captured>("captured"),
                     });
}

GraphHandle::GraphHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<GraphHandle>(info) {
  guarded(info, [&]() -> Napi::Value {
    pool_ = backend(info.Env()).create_pool();
    return info.Env().Undefined();
  });
}

// A handle collected in the middle of a scope (its JavaScript failed and dropped it) leaves the
// backend as it found it. At environment teardown the backend may already be gone: then nothing to do.
GraphHandle::~GraphHandle() {
  if (!in_scope_) return;
  try {
    AddonState& s = state(Env());
    if (s.backend) {
      if (s.backend->capturing()) s.backend->end_capture();
      s.backend->use_pool(nullptr);
    }
    s.graph_scope = nullptr;
  } catch (...) {
  }
}

void GraphHandle::enter_scope(Napi::Env env, const char* what) {
  AddonState& s = state(env);
  if (!pool_) throw alexnet::TypeError(std::string("Graph.") + what + ": the graph has been disposed");
  if (s.graph_scope)
    throw CaptureError(std::string("Graph.") + what + ": another graph's warm-up or capture is in progress");
  backend(env).use_pool(pool_);
  s.graph_scope = this;
  in_scope_ = true;
}

void GraphHandle::leave_scope(Napi::Env env) {
  AddonState& s = state(env);
  in_scope_ = false;
  s.graph_scope = nullptr;
  backend(env).use_pool(nullptr);
}

Napi::Value GraphHandle::begin_warmup(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    enter_scope(info.Env(), "beginWarmup");
    return info.Env().Undefined();
  });
}

Napi::Value GraphHandle::end_warmup(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    if (!in_scope_ || backend(info.Env()).capturing()) throw CaptureError("Graph.endWarmup: no warm-up in progress");
    leave_scope(info.Env());
    return info.Env().Undefined();
  });
}

Napi::Value GraphHandle::begin_capture(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    if (graph_) throw CaptureError("Graph.beginCapture: this graph has been captured already");
    enter_scope(info.Env(), "beginCapture");
    try {
      backend(info.Env()).begin_capture();
    } catch (...) {
      leave_scope(info.Env());
      throw;
    }
    return info.Env().Undefined();
  });
}

Napi::Value GraphHandle::end_capture(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Backend& b = backend(info.Env());
    if (!in_scope_ || !b.capturing()) throw CaptureError("Graph.endCapture: no capture in progress");
    std::unique_ptr<Graph> graph;
    try {
      graph = b.end_capture();
    } catch (...) {
      leave_scope(info.Env());
      throw;
    }
    leave_scope(info.Env());
    graph_ = std::move(graph);
    return info.Env().Undefined();
  });
}

Napi::Value GraphHandle::launch(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    if (!graph_) throw CaptureError("Graph.launch: nothing has been captured");
    if (backend(info.Env()).capturing()) throw CaptureError("Graph.launch: not allowed during a capture");
    graph_->launch();
    return info.Env().Undefined();
  });
}

Napi::Value GraphHandle::dispose(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    if (in_scope_) {
      Backend& b = backend(info.Env());
      if (b.capturing()) {
        try {
          b.end_capture();
        } catch (...) {
        }
      }
      leave_scope(info.Env());
    }
    graph_.reset();
    pool_.reset();
    return info.Env().Undefined();
  });
}

Napi::Value GraphHandle::captured(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), graph_ != nullptr);
}

}  // namespace alexnet::binding
