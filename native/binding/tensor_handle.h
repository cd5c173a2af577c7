// The JavaScript-visible Tensor handle: owns a reference to a backend tensor until dispose() or
// garbage collection. Several handles may share one block of memory (views, saved activations).
#pragma once

#include <napi.h>

#include <optional>

#include "../core/tensor.h"

namespace alexnet::binding {

class TensorHandle : public Napi::ObjectWrap<TensorHandle> {
 public:
  static Napi::Function define(Napi::Env env);
  // Wraps a tensor produced by an op in a new JS handle.
  static Napi::Object wrap(Napi::Env env, Tensor tensor);
  // The tensor behind a JS value; throws TypeError naming op/name when it is not a live handle.
  static Tensor unwrap(const Napi::Value& value, const char* op, const char* name);

  explicit TensorHandle(const Napi::CallbackInfo& info);
  ~TensorHandle() override;

 private:
  const Tensor& live(const char* op) const;
  void release(Napi::Env env);

  Napi::Value shape(const Napi::CallbackInfo& info);
  Napi::Value dtype(const Napi::CallbackInfo& info);
  Napi::Value numel(const Napi::CallbackInfo& info);
  Napi::Value disposed(const Napi::CallbackInfo& info);
  Napi::Value upload(const Napi::CallbackInfo& info);
  Napi::Value download(const Napi::CallbackInfo& info);
  Napi::Value view(const Napi::CallbackInfo& info);
  Napi::Value slice(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);
  Napi::Value fill(const Napi::CallbackInfo& info);
  Napi::Value fill_uniform(const Napi::CallbackInfo& info);
  Napi::Value fill_normal(const Napi::CallbackInfo& info);

  std::optional<Tensor> tensor_;
  int64_t reported_bytes_ = 0;  // external memory reported to V8 for this handle
};

}  // namespace alexnet::binding
