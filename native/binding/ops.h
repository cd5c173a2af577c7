// Registers the op functions (conv2dForward, lrnBackward, sgdStep, ...) on the module's exports.
#pragma once

#include <napi.h>

namespace alexnet::binding {

void register_ops(Napi::Env env, Napi::Object exports);
void register_runtime(Napi::Env env, Napi::Object exports);

}  // namespace alexnet::binding
