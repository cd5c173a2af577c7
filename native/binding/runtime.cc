// Module-level functions: probing and describing the backend, settings, memory statistics, fences.
#include <dlfcn.h>
#include <napi.h>

#include "../core/backend.h"
#include "../core/errors.h"
#include "addon_state.h"
#include "completion_worker.h"
#include "errors.h"
#include "ops.h"

namespace alexnet::binding {
namespace {

Napi::Value to_js(Napi::Env env, const InfoValue& v) {
  if (auto s = std::get_if<std::string>(&v)) return Napi::String::New(env, *s);
  if (auto d = std::get_if<double>(&v)) return Napi::Number::New(env, *d);
  return Napi::Boolean::New(env, std::get<bool>(v));
}

// probe() -> { available, reason? }: tries to create the backend once; never throws.
Napi::Value probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  try {
    backend(env);
    out.Set("available", true);
  } catch (const Napi::Error&) {
    out.Set("available", false);
    out.Set("reason", state(env).unavailable_reason);
  }
  return out;
}

Napi::Value info(const Napi::CallbackInfo& cb) {
  return guarded(cb, [&]() -> Napi::Value {
    Napi::Object out = Napi::Object::New(cb.Env());
    for (const auto& [key, value] : backend(cb.Env()).info()) out.Set(key, to_js(cb.Env(), value));
    return out;
  });
}

Napi::Value set_math_mode(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    std::string mode = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
    if (mode != "fp32" && mode != "tf32" && mode != "bf16")
      throw alexnet::TypeError("setMathMode: mode must be 'fp32', 'tf32' or 'bf16'");
    // bf16 is emulated (lib/backend/precision.ts rounds the operands of convolutions and GEMMs to
    // bfloat16 with roundToBfloat16): TF32 arithmetic on bf16-valued operands is exact in every
    // product (bfloat16's 8-bit significand fits TF32's 11) and sums in fp32, as bf16 tensor cores
    // do. The CPU build ignores the mode (always fp32, which is exact on those operands too).
    // TODO(bf16 device session): a MathMode::bf16 with bf16 NHWC tensors and tensor-core engines.
    backend(info.Env()).set_math_mode(mode == "fp32" ? MathMode::fp32 : MathMode::tf32);
    return info.Env().Undefined();
  });
}

Napi::Value set_deterministic(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    backend(info.Env()).set_deterministic(bool_arg(info[0], "setDeterministic", "on"));
    return info.Env().Undefined();
  });
}

Napi::Value allocator_stats(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    AllocatorStats s = backend(info.Env()).allocator_stats();
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("systemAllocations", double(s.system_allocations));
    out.Set("systemFrees", double(s.system_frees));
    out.Set("bytesInUse", double(s.bytes_in_use));
    out.Set("bytesCached", double(s.bytes_cached));
    out.Set("peakBytesInUse", double(s.peak_bytes_in_use));
    return out;
  });
}

Napi::Value empty_cache(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    backend(info.Env()).empty_cache();
    return info.Env().Undefined();
  });
}

// synchronize() -> Promise<void>
Napi::Value synchronize(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    return state(info.Env()).completions.start(info.Env(), backend(info.Env()).fence());
  });
}

// synchronizeBlocking(): for benchmarks that must not measure the event loop's hop.
Napi::Value synchronize_blocking(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    backend(info.Env()).synchronize();
    return info.Env().Undefined();
  });
}

// mark() -> an opaque point in the backend's queue; msBetween(a, b) -> milliseconds of device work
// from a to b (waits for b, blocking: for benchmarks). See core/backend.h's QueueMark.
Napi::Value mark(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    auto* held = new std::shared_ptr<QueueMark>(backend(info.Env()).mark());
    return Napi::External<std::shared_ptr<QueueMark>>::New(info.Env(), held,
                                                           [](Napi::Env, std::shared_ptr<QueueMark>* p) { delete p; });
  });
}

std::shared_ptr<QueueMark> mark_arg(const Napi::Value& value, const char* name) {
  if (!value.IsExternal()) throw alexnet::TypeError(std::string("msBetween: ") + name + " must be a mark()");
  return *value.As<Napi::External<std::shared_ptr<QueueMark>>>().Data();
}

Napi::Value ms_between(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    auto a = mark_arg(info[0], "start"), b = mark_arg(info[1], "end");
    return Napi::Number::New(info.Env(), b->ms_since(*a));
  });
}

// loadSharedLibrary(path) -> null | error text. Loads a library with RTLD_GLOBAL so that the CUDA
// addon, loaded afterwards, finds its dependencies (cuDNN, cuBLAS from pip's folders) by soname.
Napi::Value load_shared_library(const Napi::CallbackInfo& info) {
  if (!info[0].IsString()) throw Napi::TypeError::New(info.Env(), "loadSharedLibrary: path must be a string");
  std::string path = info[0].As<Napi::String>();
  if (dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL)) return info.Env().Null();
  const char* error = dlerror();
  return Napi::String::New(info.Env(), error ? error : "dlopen failed");
}

// testFailNextOp(op, kind): TEST-ONLY, for the CPU suite's failure tests. The next call of the op
// of that JavaScript name fails where the op runs (on the CPU build's queue), with an
// OutOfMemoryError ('outOfMemory'), a DeviceLostError ('deviceLost') or a BackendError ('backend')
// instead of running. Nothing changes until it is called; the CUDA build throws.
Napi::Value test_fail_next_op(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    if (!info[0].IsString()) throw alexnet::TypeError("testFailNextOp: op must be a string");
    const std::string kind = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
    using Kind = Backend::InjectedFailure;
    Kind failure;
    if (kind == "backend")
      failure = Kind::backend;
    else if (kind == "outOfMemory")
      failure = Kind::out_of_memory;
    else if (kind == "deviceLost")
      failure = Kind::device_lost;
    else
      throw alexnet::TypeError("testFailNextOp: kind must be 'backend', 'outOfMemory' or 'deviceLost'");
    backend(info.Env()).fail_next_op_for_testing(info[0].As<Napi::String>(), failure);
    return info.Env().Undefined();
  });
}

}  // namespace

void register_runtime(Napi::Env env, Napi::Object exports) {
  exports.Set("backendName", Napi::String::New(env, backend_name()));
  exports.Set("probe", Napi::Function::New(env, probe, "probe"));
  exports.Set("info", Napi::Function::New(env, info, "info"));
  exports.Set("setMathMode", Napi::Function::New(env, set_math_mode, "setMathMode"));
  exports.Set("setDeterministic", Napi::Function::New(env, set_deterministic, "setDeterministic"));
  exports.Set("allocatorStats", Napi::Function::New(env, allocator_stats, "allocatorStats"));
  exports.Set("emptyCache", Napi::Function::New(env, empty_cache, "emptyCache"));
  exports.Set("synchronize", Napi::Function::New(env, synchronize, "synchronize"));
  exports.Set("loadSharedLibrary", Napi::Function::New(env, load_shared_library, "loadSharedLibrary"));
  exports.Set("synchronizeBlocking", Napi::Function::New(env, synchronize_blocking, "synchronizeBlocking"));
  exports.Set("mark", Napi::Function::New(env, mark, "mark"));
  exports.Set("msBetween", Napi::Function::New(env, ms_between, "msBetween"));
  exports.Set("testFailNextOp", Napi::Function::New(env, test_fail_next_op, "testFailNextOp"));
}

}  // namespace alexnet::binding
