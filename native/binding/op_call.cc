#include "op_call.h"

#include <string>

#include "../core/errors.h"
#include "addon_state.h"
#include "errors.h"
#include "tensor_handle.h"

namespace alexnet::binding {

namespace {

// An op that reads a tensor whose values are known to be bad fails at once with the error that
// made them so (core/poison.h); when the failure is not known yet, the queue passes it on instead.
void require_unpoisoned(const Tensor& t) {
  if (std::exception_ptr failure = t.storage->poison->failure()) std::rethrow_exception(failure);
}

}  // namespace

Backend& OpCall::backend() const { return binding::backend(env()); }

Tensor OpCall::tensor(size_t index, const char* name, DType dtype) const {
  Tensor t = TensorHandle::unwrap(info_[index], op_, name);
  require_dtype(op_, name, t, dtype);
  require_unpoisoned(t);
  return t;
}

OptTensor OpCall::optional_tensor(size_t index, const char* name, DType dtype) const {
  if (info_[index].IsNull() || info_[index].IsUndefined()) return std::nullopt;
  return tensor(index, name, dtype);
}

std::vector<Tensor> OpCall::tensors(size_t index, const char* name, DType dtype) const {
  if (!info_[index].IsArray())
    throw alexnet::TypeError(std::string(op_) + ": " + name + " must be an array of Tensors");
  Napi::Array array = info_[index].As<Napi::Array>();
  std::vector<Tensor> out;
  out.reserve(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) {
    const std::string element = std::string(name) + "[" + std::to_string(i) + "]";
    Tensor t = TensorHandle::unwrap(array.Get(i), op_, element.c_str());
    require_dtype(op_, element.c_str(), t, dtype);
    require_unpoisoned(t);
    out.push_back(std::move(t));
  }
  return out;
}

Tensor OpCall::tensor_of_either_dtype(size_t index, const char* name) const {
  Tensor t = TensorHandle::unwrap(info_[index], op_, name);
  require_unpoisoned(t);
  return t;
}

Tensor OpCall::destination(size_t index, const char* name) const {
  return TensorHandle::unwrap(info_[index], op_, name);
}

bool OpCall::flag(size_t index, const char* name) const { return bool_arg(info_[index], op_, name); }
double OpCall::number(size_t index, const char* name) const { return number_arg(info_[index], op_, name); }
int64_t OpCall::integer(size_t index, const char* name) const { return int_arg(info_[index], op_, name); }
uint64_t OpCall::seed(size_t index, const char* name) const { return seed_arg(info_[index], op_, name); }
Shape OpCall::shape(size_t index, const char* name) const { return shape_arg(info_[index], op_, name); }

Napi::Object OpCall::object(size_t index, const char* name) const {
  if (!info_[index].IsObject()) throw alexnet::TypeError(std::string(op_) + ": " + name + " must be an object");
  return info_[index].As<Napi::Object>();
}

Tensor OpCall::output(const Shape& shape, DType dtype) const {
  Tensor t;
  t.shape = shape;
  t.dtype = dtype;
  t.storage = backend().allocate(t.bytes());
  return t;
}

Tensor OpCall::output_into(size_t index, const char* name, const Shape& shape) const {
  OptTensor given = optional_tensor(index, name, DType::f32);
  if (!given) return output(shape);
  if (given->shape != shape)
    throw alexnet::RangeError(std::string(op_) + ": " + name + " must have shape " + shape_string(shape) + ", got " +
                              shape_string(given->shape));
  return *given;
}

Napi::Value OpCall::result(const Tensor& t) const { return TensorHandle::wrap(env(), t); }

Napi::Value OpCall::result(const Tensor& a, const OptTensor& b) const {
  Napi::Array out = Napi::Array::New(env(), 2);
  out.Set(uint32_t(0), result(a));
  out.Set(uint32_t(1), b ? result(*b) : env().Null());
  return out;
}

Napi::Value OpCall::result(const Shape& shape) const {
  Napi::Array out = Napi::Array::New(env(), shape.size());
  for (size_t i = 0; i < shape.size(); ++i)
    out.Set(static_cast<uint32_t>(i), Napi::Number::New(env(), double(shape[i])));
  return out;
}

}  // namespace alexnet::binding
