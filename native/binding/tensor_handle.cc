#include "tensor_handle.h"

#include <cstring>

#include "../core/errors.h"
#include "addon_state.h"
#include "completion_worker.h"
#include "errors.h"

namespace alexnet::binding {
namespace {

const char* kOp = "Tensor";

DType parse_dtype(const Napi::Value& value) {
  if (value.IsUndefined()) return DType::f32;
  if (value.IsString()) {
    std::string s = value.As<Napi::String>();
    if (s == "float32") return DType::f32;
    if (s == "int32") return DType::i32;
    if (s == "uint8") return DType::u8;
  }
  throw alexnet::TypeError("Tensor: dtype must be 'float32', 'int32' or 'uint8'");
}

}  // namespace

Napi::Function TensorHandle::define(Napi::Env env) {
  return DefineClass(env, "Tensor",
                     {
                         InstanceAccessor<&TensorHandle::shape>("shape"),
                         InstanceAccessor<&TensorHandle::dtype>("dtype"),
                         InstanceAccessor<&TensorHandle::numel>("numel"),
                         InstanceAccessor<&TensorHandle::disposed>("disposed"),
                         InstanceMethod<&TensorHandle::upload>("upload"),
                         InstanceMethod<&TensorHandle::download>("download"),
                         InstanceMethod<&TensorHandle::view>("view"),
                         InstanceMethod<&TensorHandle::slice>("slice"),
                         InstanceMethod<&TensorHandle::dispose>("dispose"),
                         InstanceMethod<&TensorHandle::fill>("fill"),
                         InstanceMethod<&TensorHandle::fill_uniform>("fillUniform"),
                         InstanceMethod<&TensorHandle::fill_normal>("fillNormal"),
                     });
}

// new Tensor(shape, dtype) allocates uninitialised memory; new Tensor(External) adopts an op's result.
TensorHandle::TensorHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorHandle>(info) {
  Napi::Env env = info.Env();
  if (info.Length() == 1 && info[0].IsExternal()) {
    tensor_ = *info[0].As<Napi::External<Tensor>>().Data();
  } else {
    guarded(info, [&]() -> Napi::Value {
      Tensor t;
      t.shape = shape_arg(info[0], kOp, "shape");
      t.dtype = parse_dtype(info[1]);
      t.storage = backend(env).allocate(t.bytes());
      tensor_ = std::move(t);
      return env.Undefined();
    });
  }
  reported_bytes_ = static_cast<int64_t>(tensor_->storage->bytes);
  Napi::MemoryManagement::AdjustExternalMemory(env, reported_bytes_);
}

TensorHandle::~TensorHandle() { release(Env()); }

void TensorHandle::release(Napi::Env env) {
  if (reported_bytes_) {
    Napi::MemoryManagement::AdjustExternalMemory(env, -reported_bytes_);
    reported_bytes_ = 0;
  }
  tensor_.reset();
}

Napi::Object TensorHandle::wrap(Napi::Env env, Tensor tensor) {
  Napi::External<Tensor> external = Napi::External<Tensor>::New(env, &tensor);
  return state(env).tensor_constructor.New({external});
}

Tensor TensorHandle::unwrap(const Napi::Value& value, const char* op, const char* name) {
  if (!value.IsObject() || !value.As<Napi::Object>().InstanceOf(state(value.Env()).tensor_constructor.Value()))
    throw alexnet::TypeError(std::string(op) + ": " + name + " must be a Tensor of this backend");
  TensorHandle* handle = Unwrap(value.As<Napi::Object>());
  if (!handle->tensor_) throw alexnet::TypeError(std::string(op) + ": " + name + " has been disposed");
  return *handle->tensor_;
}

const Tensor& TensorHandle::live(const char* op) const {
  if (!tensor_) throw alexnet::TypeError(std::string("Tensor.") + op + ": the tensor has been disposed");
  return *tensor_;
}

Napi::Value TensorHandle::shape(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const Tensor& t = live("shape");
    Napi::Array out = Napi::Array::New(info.Env(), t.shape.size());
    for (size_t i = 0; i < t.shape.size(); ++i)
      out.Set(static_cast<uint32_t>(i), Napi::Number::New(info.Env(), double(t.shape[i])));
    return out;
  });
}

Napi::Value TensorHandle::dtype(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value { return Napi::String::New(info.Env(), dtype_name(live("dtype").dtype)); });
}

Napi::Value TensorHandle::numel(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value { return Napi::Number::New(info.Env(), double(live("numel").numel())); });
}

Napi::Value TensorHandle::disposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !tensor_.has_value());
}

Napi::Value TensorHandle::upload(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const Tensor& t = live("upload");
    if (!info[0].IsTypedArray())
      throw alexnet::TypeError("Tensor.upload: data must be a Float32Array, Int32Array or Uint8Array");
    Napi::TypedArray array = info[0].As<Napi::TypedArray>();
    const napi_typedarray_type want = t.dtype == DType::f32   ? napi_float32_array
                                      : t.dtype == DType::i32 ? napi_int32_array
                                                              : napi_uint8_array;
    const char* want_name = t.dtype == DType::f32   ? "Float32Array"
                            : t.dtype == DType::i32 ? "Int32Array"
                                                    : "Uint8Array";
    if (array.TypedArrayType() != want)
      throw alexnet::TypeError(std::string("Tensor.upload: data must be a ") + want_name + " for a " +
                               dtype_name(t.dtype) + " tensor");
    if (static_cast<int64_t>(array.ElementLength()) != t.numel())
      throw alexnet::RangeError("Tensor.upload: data has " + std::to_string(array.ElementLength()) +
                                " elements, the tensor " + shape_string(t.shape) + " holds " +
                                std::to_string(t.numel()));
    // The element pointer straight from the typed array: asking for its ArrayBuffer fails when the
    // memory is a SharedArrayBuffer, which worker threads use.
    void* bytes = nullptr;
    NAPI_THROW_IF_FAILED(info.Env(),
                         napi_get_typedarray_info(info.Env(), array, nullptr, nullptr, &bytes, nullptr, nullptr),
                         info.Env().Undefined());
    backend(info.Env()).upload(t, bytes);
    return info.Env().Undefined();
  });
}

Napi::Value TensorHandle::download(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    const Tensor& t = live("download");
    Napi::TypedArray target;
    if (t.dtype == DType::f32)
      target = Napi::Float32Array::New(env, static_cast<size_t>(t.numel()));
    else if (t.dtype == DType::i32)
      target = Napi::Int32Array::New(env, static_cast<size_t>(t.numel()));
    else
      target = Napi::Uint8Array::New(env, static_cast<size_t>(t.numel()));
    void* dst = static_cast<uint8_t*>(target.ArrayBuffer().Data()) + target.ByteOffset();
    return state(env).completions.start(env, backend(env).download(t, dst), target);
  });
}

Napi::Value TensorHandle::view(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Tensor t = live("view");
    Shape shape = shape_arg(info[0], "Tensor.view", "shape");
    if (numel_of(shape) != t.numel())
      throw alexnet::RangeError("Tensor.view: shape " + shape_string(shape) + " holds " +
                                std::to_string(numel_of(shape)) + " elements, the tensor " + shape_string(t.shape) +
                                " holds " + std::to_string(t.numel()));
    t.shape = shape;
    Napi::Object handle = wrap(info.Env(), t);
    // A view shares memory that the original handle already reported.
    TensorHandle* h = Unwrap(handle);
    Napi::MemoryManagement::AdjustExternalMemory(info.Env(), -h->reported_bytes_);
    h->reported_bytes_ = 0;
    return handle;
  });
}

// slice(offset, shape): a view of numel(shape) elements from element `offset` of this tensor's
// memory (how each parameter becomes a view of the flat buffers). It keeps the whole block alive.
Napi::Value TensorHandle::slice(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Tensor t = live("slice");
    const int64_t offset = int_arg(info[0], "Tensor.slice", "offset");
    Shape shape = shape_arg(info[1], "Tensor.slice", "shape");
    if (offset < 0 || offset + numel_of(shape) > t.numel())
      throw alexnet::RangeError("Tensor.slice: elements " + std::to_string(offset) + " to " +
                                std::to_string(offset + numel_of(shape)) + " are outside the tensor " +
                                shape_string(t.shape) + " of " + std::to_string(t.numel()) + " elements");
    t.offset += static_cast<size_t>(offset) * dtype_size(t.dtype);
    t.shape = shape;
    Napi::Object handle = wrap(info.Env(), t);
    TensorHandle* h = Unwrap(handle);
    Napi::MemoryManagement::AdjustExternalMemory(info.Env(), -h->reported_bytes_);
    h->reported_bytes_ = 0;
    return handle;
  });
}

Napi::Value TensorHandle::dispose(const Napi::CallbackInfo& info) {
  release(info.Env());
  return info.Env().Undefined();
}

Napi::Value TensorHandle::fill(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const Tensor& t = live("fill");
    if (t.dtype == DType::u8) throw alexnet::TypeError("Tensor.fill: tensor must be float32 or int32, got uint8");
    backend(info.Env()).fill(t, static_cast<float>(number_arg(info[0], "Tensor.fill", "value")));
    return info.This();
  });
}

Napi::Value TensorHandle::fill_uniform(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const Tensor& t = live("fillUniform");
    require_dtype("Tensor.fillUniform", "tensor", t, DType::f32);
    double low = number_arg(info[0], "Tensor.fillUniform", "low");
    double high = number_arg(info[1], "Tensor.fillUniform", "high");
    if (!(high >= low)) throw alexnet::RangeError("Tensor.fillUniform: high must be at least low");
    backend(info.Env()).fill_uniform(t, float(low), float(high), seed_arg(info[2], "Tensor.fillUniform", "seed"));
    return info.This();
  });
}

Napi::Value TensorHandle::fill_normal(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    const Tensor& t = live("fillNormal");
    require_dtype("Tensor.fillNormal", "tensor", t, DType::f32);
    double mean = number_arg(info[0], "Tensor.fillNormal", "mean");
    double stddev = number_arg(info[1], "Tensor.fillNormal", "std");
    if (!(stddev >= 0)) throw alexnet::RangeError("Tensor.fillNormal: std must be non-negative");
    double truncation = number_arg(info[3], "Tensor.fillNormal", "truncation");
    if (!(truncation >= 0)) throw alexnet::RangeError("Tensor.fillNormal: truncation must be non-negative");
    const uint64_t seed = seed_arg(info[2], "Tensor.fillNormal", "seed");
    backend(info.Env()).fill_normal(t, float(mean), float(stddev), float(truncation), seed);
    return info.This();
  });
}

}  // namespace alexnet::binding
