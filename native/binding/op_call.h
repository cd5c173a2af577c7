// One call of an op from JavaScript, as the binding's op functions (ops.cc) see it: reading the
// arguments, allocating the outputs from the backend and wrapping the results. Every error it
// throws names the op (by its JavaScript name) and the parameter, e.g.
//   multiply: b must be float32, got int32
#pragma once

#include <napi.h>

#include <cstdint>
#include <vector>

#include "../core/backend.h"

namespace alexnet::binding {

class OpCall {
 public:
  OpCall(const Napi::CallbackInfo& info, const char* op) : info_(info), op_(op) {}

  const char* op() const { return op_; }
  Napi::Env env() const { return info_.Env(); }
  // Created on first use, so that an op that needs no backend (a shape query) works without one.
  Backend& backend() const;

  // Arguments, by position. A tensor must be a live Tensor of this addon with the element type
  // given: each op states the type of every tensor it takes, once, where it reads it. A tensor
  // that an op reads must not be poisoned (core/poison.h): reading one throws the error of the op
  // that failed to write it.
  Tensor tensor(size_t index, const char* name, DType dtype) const;
  OptTensor optional_tensor(size_t index, const char* name, DType dtype) const;  // none for null or undefined
  // An array of tensors, its elements named name[i] in messages.
  std::vector<Tensor> tensors(size_t index, const char* name, DType dtype) const;
  // For the one op that takes either type (copy, whose source must then match).
  Tensor tensor_of_either_dtype(size_t index, const char* name) const;
  // A tensor the op overwrites whole, of either type (copy's destination): it may be poisoned.
  Tensor destination(size_t index, const char* name) const;
  bool flag(size_t index, const char* name) const;
  double number(size_t index, const char* name) const;
  int64_t integer(size_t index, const char* name) const;
  uint64_t seed(size_t index, const char* name) const;  // a non-negative integer or a BigInt below 2^64
  Shape shape(size_t index, const char* name) const;
  Napi::Object object(size_t index, const char* name) const;
  Napi::Value info_value(size_t index) const { return info_[index]; }

  // A new tensor for the op to write.
  Tensor output(const Shape& shape, DType dtype = DType::f32) const;
  // The tensor at `index` for the op to write into (float32 of exactly `shape`: a view of a flat
  // gradient buffer, say), or a new one when that argument is null or undefined.
  Tensor output_into(size_t index, const char* name, const Shape& shape) const;

  // Results: a new Tensor handle; two as [a, b | null]; a shape as an array of numbers; nothing.
  Napi::Value result(const Tensor& t) const;
  Napi::Value result(const Tensor& a, const OptTensor& b) const;
  Napi::Value result(const Shape& shape) const;
  Napi::Value none() const { return env().Undefined(); }

 private:
  const Napi::CallbackInfo& info_;
  const char* op_;
};

}  // namespace alexnet::binding
