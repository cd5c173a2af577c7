// Turning native failures into JavaScript errors, and reading arguments with messages that name them.
#pragma once

#include <napi.h>

#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>

#include "../core/tensor.h"

namespace alexnet::binding {

// Runs `body`, converting any exception from native code into the matching JS error:
// TypeError, RangeError, or an Error whose code is ERR_OUT_OF_MEMORY, ERR_DEVICE_LOST, ERR_CAPTURE or ERR_BACKEND.
Napi::Value guarded(const Napi::CallbackInfo& info, const std::function<Napi::Value()>& body);
// The JS error for a native failure, as guarded() throws it (also for failures of queued work).
Napi::Error to_js_error(Napi::Env env, std::exception_ptr failure);

// Argument readers: each throws alexnet::TypeError / RangeError naming the op and the parameter.
Tensor tensor_arg(const Napi::CallbackInfo& info, size_t index, const char* op, const char* name);
std::optional<Tensor> optional_tensor_arg(const Napi::CallbackInfo& info, size_t index, const char* op,
                                          const char* name);
int64_t int_arg(const Napi::Value& value, const char* op, const char* name);
double number_arg(const Napi::Value& value, const char* op, const char* name);
uint64_t seed_arg(const Napi::Value& value, const char* op, const char* name);
bool bool_arg(const Napi::Value& value, const char* op, const char* name);
int int_field(const Napi::Object& object, const char* key, const char* op);
Shape shape_arg(const Napi::Value& value, const char* op, const char* name);
// TypeError "op: name must be float32, got int32" unless t has the element type `dtype`.
void require_dtype(const char* op, const char* name, const Tensor& t, DType dtype);

}  // namespace alexnet::binding
