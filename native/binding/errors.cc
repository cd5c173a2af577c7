#include "errors.h"

#include <cmath>
#include <sstream>

#include "../core/errors.h"
#include "tensor_handle.h"

namespace alexnet::binding {
namespace {

Napi::Error coded_error(Napi::Env env, const char* name, const char* code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("name", Napi::String::New(env, name));
  error.Set("code", Napi::String::New(env, code));
  return error;
}

template <typename E>
[[noreturn]] void fail(const std::string& message) {
  throw E(message);
}

}  // namespace

Napi::Error to_js_error(Napi::Env env, std::exception_ptr failure) {
  try {
    std::rethrow_exception(failure);
  } catch (const Napi::Error& e) {
    return e;
  } catch (const alexnet::TypeError& e) {
    return Napi::TypeError::New(env, e.what());
  } catch (const alexnet::RangeError& e) {
    return Napi::RangeError::New(env, e.what());
  } catch (const OutOfMemoryError& e) {
    return coded_error(env, "OutOfMemoryError", "ERR_OUT_OF_MEMORY", e.what());
  } catch (const CaptureError& e) {
    return coded_error(env, "CaptureError", "ERR_CAPTURE", e.what());
  } catch (const DeviceLostError& e) {
    return coded_error(env, "DeviceLostError", "ERR_DEVICE_LOST", e.what());
  } catch (const BackendError& e) {
    return coded_error(env, "BackendError", "ERR_BACKEND", e.what());
  } catch (const std::bad_alloc&) {
    return coded_error(env, "OutOfMemoryError", "ERR_OUT_OF_MEMORY", "out of host memory");
  } catch (const std::exception& e) {
    return coded_error(env, "BackendError", "ERR_BACKEND", e.what());
  } catch (...) {
    return coded_error(env, "BackendError", "ERR_BACKEND", "unknown native failure");
  }
}

Napi::Value guarded(const Napi::CallbackInfo& info, const std::function<Napi::Value()>& body) {
  try {
    return body();
  } catch (...) {
    throw to_js_error(info.Env(), std::current_exception());
  }
}

Tensor tensor_arg(const Napi::CallbackInfo& info, size_t index, const char* op, const char* name) {
  return TensorHandle::unwrap(info[index], op, name);
}

std::optional<Tensor> optional_tensor_arg(const Napi::CallbackInfo& info, size_t index, const char* op,
                                          const char* name) {
  if (info[index].IsNull() || info[index].IsUndefined()) return std::nullopt;
  return TensorHandle::unwrap(info[index], op, name);
}

double number_arg(const Napi::Value& value, const char* op, const char* name) {
  if (!value.IsNumber()) fail<alexnet::TypeError>(std::string(op) + ": " + name + " must be a number");
  double v = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(v)) fail<alexnet::RangeError>(std::string(op) + ": " + name + " must be finite");
  return v;
}

int64_t int_arg(const Napi::Value& value, const char* op, const char* name) {
  double v = number_arg(value, op, name);
  if (v != std::floor(v) || std::fabs(v) > 9007199254740991.0) {
    std::ostringstream msg;
    msg << op << ": " << name << " must be an integer, got " << v;
    fail<alexnet::RangeError>(msg.str());
  }
  return static_cast<int64_t>(v);
}

uint64_t seed_arg(const Napi::Value& value, const char* op, const char* name) {
  if (value.IsBigInt()) {
    bool lossless = false;
    uint64_t v = value.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) fail<alexnet::RangeError>(std::string(op) + ": " + name + " must fit in 64 unsigned bits");
    return v;
  }
  int64_t v = int_arg(value, op, name);
  if (v < 0) fail<alexnet::RangeError>(std::string(op) + ": " + name + " must be non-negative");
  return static_cast<uint64_t>(v);
}

bool bool_arg(const Napi::Value& value, const char* op, const char* name) {
  if (!value.IsBoolean()) fail<alexnet::TypeError>(std::string(op) + ": " + name + " must be a boolean");
  return value.As<Napi::Boolean>().Value();
}

int int_field(const Napi::Object& object, const char* key, const char* op) {
  int64_t v = int_arg(object.Get(key), op, key);
  if (v < INT32_MIN || v > INT32_MAX) fail<alexnet::RangeError>(std::string(op) + ": " + key + " is out of range");
  return static_cast<int>(v);
}

Shape shape_arg(const Napi::Value& value, const char* op, const char* name) {
  if (!value.IsArray()) fail<alexnet::TypeError>(std::string(op) + ": " + name + " must be an array of integers");
  Napi::Array array = value.As<Napi::Array>();
  Shape shape;
  int64_t total = 1;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    int64_t d = int_arg(array.Get(i), op, name);
    if (d < 0) fail<alexnet::RangeError>(std::string(op) + ": " + name + " must hold non-negative sizes");
    if (d > 0 && total > (int64_t(1) << 40) / d)
      fail<alexnet::RangeError>(std::string(op) + ": " + name + " describes more than 2^40 elements");
    total *= d;
    shape.push_back(d);
  }
  return shape;
}

void require_dtype(const char* op, const char* name, const Tensor& t, DType dtype) {
  if (t.dtype != dtype)
    fail<alexnet::TypeError>(std::string(op) + ": " + name + " must be " + dtype_name(dtype) + ", got " +
                             dtype_name(t.dtype));
}

}  // namespace alexnet::binding
