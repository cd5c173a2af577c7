// The JavaScript-visible Graph: a memory pool of its own and, once captured, the recorded work
// (core/backend.h). lib/training/stepCapture.ts drives it:
//   const g = new Graph();
//   g.beginWarmup(); step(); g.endWarmup();    // the step runs, its blocks come from g's pool
//   g.beginCapture(); step(); g.endCapture();  // the step is recorded, not run (throws on failure)
//   g.launch();                                // runs the recorded step; again for every later step
//   g.dispose();                               // frees the graph; its pool's blocks return to the cache
// One warm-up or capture at a time per process.
#pragma once

#include <napi.h>

#include <memory>

#include "../core/backend.h"
#include "../core/caching_allocator.h"

namespace alexnet::binding {

class GraphHandle : public Napi::ObjectWrap<GraphHandle> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit GraphHandle(const Napi::CallbackInfo& info);
  ~GraphHandle() override;

 private:
  Napi::Value begin_warmup(const Napi::CallbackInfo& info);
  Napi::Value end_warmup(const Napi::CallbackInfo& info);
  Napi::Value begin_capture(const Napi::CallbackInfo& info);
  Napi::Value end_capture(const Napi::CallbackInfo& info);
  Napi::Value launch(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);
  Napi::Value captured(const Napi::CallbackInfo& info);

  void enter_scope(Napi::Env env, const char* what);
  void leave_scope(Napi::Env env);

  std::shared_ptr<CachingAllocator> pool_;
  std::unique_ptr<Graph> graph_;
  bool in_scope_ = false;
};

}  // namespace alexnet::binding
