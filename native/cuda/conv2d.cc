// The convolution dispatcher (see conv2d.h): graph plans first, fusions where they were timed
// faster, the legacy engine where the graph API has nothing. What has run on a device: nothing of
// this file yet (2026-11-29: compiled and linked here, against cuDNN 9.24's headers).
#include "conv2d.h"

#include <cstdlib>
#include <cstring>
#include <string>

#include "check.h"
#include "conv2d_timing.h"
#include "core/errors.h"
#include "kernels.h"
#include "log.h"

namespace alexnet::cuda {
namespace {

template <typename Enum>
Enum setting(const char* name, std::initializer_list<std::pair<const char*, Enum>> values, Enum fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  std::string expected;
  for (const auto& [text, value] : values) {
    if (std::strcmp(v, text) == 0) return value;
    expected += (expected.empty() ? "" : ", ") + std::string(text);
  }
  throw BackendError(std::string("expected one of ") + expected + " for " + name + ", got '" + v + "'");
}

PlanCacheIdentity identity_of(int device) {
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  return PlanCacheIdentity{prop.name, std::to_string(prop.major) + "." + std::to_string(prop.minor),
                           std::to_string(cudnnGetVersion())};
}

// The shapes were checked before the op reached the backend (core/shapes.cc); this guards the key
// against drifting from them, without allocating on every call.
void require_output(const Shape& given, const ConvPlanKey& key) {
  const int64_t computed[4] = {key.n, key.o, key.out_h(), key.out_w()};
  if (given.size() == 4 && given[0] == computed[0] && given[1] == computed[1] && given[2] == computed[2] &&
      given[3] == computed[3])
    return;
  throw BackendError("internal error: the " + key.text() + " computes " +
                     shape_string({computed[0], computed[1], computed[2], computed[3]}) + ", the op was given " +
                     shape_string(given));
}

}  // namespace

ConvSettings ConvSettings::from_env() {
  ConvSettings s;
  s.path = setting<ConvPath>("ALEXNET_CUDA_CONV",
                             {{"auto", ConvPath::automatic}, {"graph", ConvPath::graph}, {"legacy", ConvPath::legacy}},
                             ConvPath::automatic);
  s.fusion = setting<ConvFusion>(
      "ALEXNET_CUDA_CONV_FUSION",
      {{"auto", ConvFusion::automatic}, {"off", ConvFusion::off}, {"force", ConvFusion::force}}, ConvFusion::automatic);
  s.plan_cache_dir = plan_cache_dir_from_env();
  return s;
}

ConvEngine::ConvEngine(CudaContext& ctx, ConvSettings settings)
    : ctx_(ctx),
      settings_(std::move(settings)),
      cache_(settings_.path == ConvPath::legacy ? std::string() : settings_.plan_cache_dir, identity_of(ctx.device())),
      graph_(ctx, cache_),
      legacy_(ctx) {
  if (settings_.path != ConvPath::legacy) cache_.load();
  try {
    CUDA_CHECK(cudaStreamCreateWithFlags(&side_, cudaStreamNonBlocking));
    CUDA_CHECK(cudaEventCreateWithFlags(&fork_, cudaEventDisableTiming));
    CUDA_CHECK(cudaEventCreateWithFlags(&join_, cudaEventDisableTiming));
  } catch (...) {
    if (join_) cudaEventDestroy(join_);
    if (fork_) cudaEventDestroy(fork_);
    if (side_) cudaStreamDestroy(side_);
    throw;
  }
}

ConvEngine::~ConvEngine() {
  // Never throws. Work on the side stream is joined into the main stream by every call, so the
  // context's synchronization before this covers it; synchronize anyway before destroying it.
  if (side_) cudaStreamSynchronize(side_);
  if (join_) cudaEventDestroy(join_);
  if (fork_) cudaEventDestroy(fork_);
  if (side_) cudaStreamDestroy(side_);
  cudaGetLastError();
}

ConvPlanKey ConvEngine::key_for(ConvDirection d, const Conv2dGeometry& g, const Shape& input, const Shape& weight,
                                std::initializer_list<const void*> pointers) const {
  ConvPlanKey k;
  k.direction = d;
  k.n = input[0];
  k.c = input[1];
  k.h = input[2];
  k.w = input[3];
  k.o = weight[0];
  k.kh = weight[2];
  k.kw = weight[3];
  k.groups = g.groups;
  k.stride_h = g.stride_h;
  k.stride_w = g.stride_w;
  k.pad_top = g.pad_top;
  k.pad_bottom = g.pad_bottom;
  k.pad_left = g.pad_left;
  k.pad_right = g.pad_right;
  k.math = ctx_.math_mode;
  k.deterministic = ctx_.deterministic;
  k.alignment = pointer_alignment(pointers);
  return k;
}

ConvGraphPlan* ConvEngine::graph_plan_or_fallback(const ConvPlanKey& key, const ConvBuffers& buffers) {
  ConvGraphPlan* p = graph_.plan(key, buffers);
  if (p) return p;
  if (settings_.path == ConvPath::graph)
    throw BackendError("no cuDNN graph plan for the " + key.text() + ": " + graph_.why_not(key) +
                       " (ALEXNET_CUDA_CONV=graph allows no fallback)");
  if (fell_back_.emplace(key.packed(), true).second)
    log_line(0, "conv %s: no graph plan (%s); the legacy engine runs it", key.text().c_str(),
             graph_.why_not(key).c_str());
  return nullptr;
}

// Whether the fused way runs for `fused_key`: decided once per key, from the plans that exist, the
// setting, the plan cache file's decision, or else by timing both ways.
template <typename Fused, typename Separate>
bool ConvEngine::use_fused(const ConvPlanKey& fused_key, ConvGraphPlan* fused, ConvGraphPlan* plain,
                           const char* fused_name, const char* separate_name, Fused run_fused, Separate run_separate) {
  const auto known = decisions_.find(fused_key.packed());
  if (known != decisions_.end()) return known->second && fused;
  bool choice = fused != nullptr;
  if (fused && plain && settings_.fusion == ConvFusion::automatic) {
    const std::string key = "choose " + fused_key.text();
    Decision stored;
    const std::string* text = cache_.find(key);
    if (text && Decision::parse(*text, &stored) &&
        (stored.winner() == fused_name || stored.winner() == separate_name)) {
      choice = stored.winner() == fused_name;
      log_line(1, "conv %s: %s (%s); from the plan cache", fused_key.text().c_str(), stored.winner().c_str(),
               text->c_str());
    } else {
      const float fused_ms = median_ms(ctx_.stream(), run_fused);
      const float separate_ms = median_ms(ctx_.stream(), run_separate);
      choice = fused_ms >= 0 && (separate_ms < 0 || fused_ms < separate_ms);
      Decision d;
      d.options = {{fused_name, fused_ms}, {separate_name, separate_ms}};
      if (!choice) std::swap(d.options[0], d.options[1]);
      log_line(1, "conv %s: %s %.4f ms, %s %.4f ms: %s", fused_key.text().c_str(), fused_name,
               static_cast<double>(fused_ms), separate_name, static_cast<double>(separate_ms),
               choice ? fused_name : separate_name);
      if (fused_ms >= 0 && separate_ms >= 0) cache_.put(key, d.text());
    }
  }
  decisions_[fused_key.packed()] = choice;
  return choice;
}

void ConvEngine::forward(const Conv2dGeometry& g, const Tensor& x, const Tensor& w, const OptTensor& b, const Tensor& y,
                         bool fuse_relu) {
  if (settings_.path == ConvPath::legacy || y.numel() == 0 || x.numel() == 0 || w.numel() == 0) {
    ++counts_.legacy;
    legacy_.forward(g, x, w, b, y, fuse_relu);  // also the empty cases, without cuDNN
    return;
  }
  cudaStream_t stream = ctx_.stream();
  ConvBuffers buf;
  buf.x = x.f32();
  buf.w = w.f32();
  buf.b = b ? b->f32() : nullptr;
  buf.y = y.f32();
  const ConvPlanKey plain_key = key_for(ConvDirection::forward, g, x.shape, w.shape, {buf.x, buf.w, buf.b, buf.y});
  require_output(y.shape, plain_key);
  const int64_t n = y.dim(0), o = y.dim(1), plane = y.dim(2) * y.dim(3);
  const ConvEpilogue epilogue = b ? (fuse_relu ? ConvEpilogue::bias_relu : ConvEpilogue::bias)
                                  : (fuse_relu ? ConvEpilogue::relu : ConvEpilogue::none);

  ConvGraphPlan* fused = nullptr;
  ConvPlanKey fused_key = plain_key;
  fused_key.epilogue = epilogue;
  if (epilogue != ConvEpilogue::none && settings_.fusion != ConvFusion::off) fused = graph_.plan(fused_key, buf);
  ConvGraphPlan* plain = graph_.plan(plain_key, buf);
  const auto epilogue_kernel = [&] {
    if (epilogue != ConvEpilogue::none)
      launch_bias_relu(stream, y.f32(), b ? b->f32() : nullptr, n, o, plane, fuse_relu);
  };
  if (fused && use_fused(
                   fused_key, fused, plain, "fused", "separate", [&] { return graph_.try_run(*fused, buf); },
                   [&] {
                     if (!graph_.try_run(*plain, buf)) return false;
                     epilogue_kernel();
                     return true;
                   })) {
    ++counts_.graph;
    ++counts_.fused;
    graph_.run(*fused, buf);
    return;
  }
  if (!plain) plain = graph_plan_or_fallback(plain_key, buf);
  if (!plain) {
    ++counts_.legacy;
    legacy_.forward(g, x, w, b, y, fuse_relu);
    return;
  }
  ++counts_.graph;
  graph_.run(*plain, buf);
  epilogue_kernel();
}

void ConvEngine::backward_data(const Conv2dGeometry& g, const Tensor& dy, const Tensor& w, const Tensor& dx) {
  if (settings_.path == ConvPath::legacy || dx.numel() == 0 || dy.numel() == 0 || w.numel() == 0) {
    ++counts_.legacy;
    legacy_.backward_data(g, dy, w, dx);
    return;
  }
  ConvBuffers buf;
  buf.dy = dy.f32();
  buf.w = w.f32();
  buf.dx = dx.f32();
  const ConvPlanKey key = key_for(ConvDirection::backward_data, g, dx.shape, w.shape, {buf.dy, buf.w, buf.dx});
  require_output(dy.shape, key);
  ConvGraphPlan* plan = graph_.plan(key, buf);
  if (!plan) plan = graph_plan_or_fallback(key, buf);
  if (!plan) {
    ++counts_.legacy;
    legacy_.backward_data(g, dy, w, dx);
    return;
  }
  ++counts_.graph;
  graph_.run(*plan, buf);
}

void ConvEngine::backward_data_relu(const Conv2dGeometry& g, const Tensor& dy, const Tensor& w,
                                    const Tensor& relu_output, const Tensor& dx) {
  if (relu_output.shape != dx.shape)
    throw BackendError("backward_data_relu: the ReLU output " + shape_string(relu_output.shape) +
                       " must have the input gradient's shape " + shape_string(dx.shape));
  cudaStream_t stream = ctx_.stream();
  const auto relu_kernel = [&] { launch_relu_backward(stream, relu_output.f32(), dx.f32(), dx.f32(), dx.numel()); };
  if (settings_.path == ConvPath::legacy || dx.numel() == 0 || dy.numel() == 0 || w.numel() == 0) {
    backward_data(g, dy, w, dx);
    if (dx.numel() > 0) relu_kernel();
    return;
  }
  ConvBuffers buf;
  buf.dy = dy.f32();
  buf.w = w.f32();
  buf.mask = relu_output.f32();
  buf.dx = dx.f32();
  const ConvPlanKey plain_key =
      key_for(ConvDirection::backward_data, g, dx.shape, w.shape, {buf.dy, buf.w, buf.mask, buf.dx});
  require_output(dy.shape, plain_key);
  ConvPlanKey fused_key = plain_key;
  fused_key.epilogue = ConvEpilogue::relu_backward;
  ConvGraphPlan* fused = settings_.fusion == ConvFusion::off ? nullptr : graph_.plan(fused_key, buf);
  ConvGraphPlan* plain = graph_.plan(plain_key, buf);
  if (fused && use_fused(
                   fused_key, fused, plain, "fused", "separate", [&] { return graph_.try_run(*fused, buf); },
                   [&] {
                     if (!graph_.try_run(*plain, buf)) return false;
                     relu_kernel();
                     return true;
                   })) {
    ++counts_.graph;
    ++counts_.fused;
    graph_.run(*fused, buf);
    return;
  }
  if (!plain) plain = graph_plan_or_fallback(plain_key, buf);
  if (!plain) {
    ++counts_.legacy;
    legacy_.backward_data(g, dy, w, dx);
  } else {
    ++counts_.graph;
    graph_.run(*plain, buf);
  }
  relu_kernel();
}

void ConvEngine::backward_filter(const Conv2dGeometry& g, const Tensor& x, const Tensor& dy, const Tensor& dw,
                                 const OptTensor& db) {
  if (settings_.path == ConvPath::legacy || dw.numel() == 0 || x.numel() == 0 || dy.numel() == 0) {
    ++counts_.legacy;
    legacy_.backward_filter(g, x, dy, dw, db);  // also the bias gradient, and the empty cases
    return;
  }
  cudaStream_t stream = ctx_.stream();
  ConvBuffers buf;
  buf.x = x.f32();
  buf.dy = dy.f32();
  buf.dw = dw.f32();
  const ConvPlanKey key = key_for(ConvDirection::backward_filter, g, x.shape, dw.shape, {buf.x, buf.dy, buf.dw});
  require_output(dy.shape, key);
  ConvGraphPlan* plan = graph_.plan(key, buf);
  if (!plan) plan = graph_plan_or_fallback(key, buf);
  if (!plan) {
    ++counts_.legacy;
    legacy_.backward_filter(g, x, dy, dw, db);
    return;
  }
  const int64_t n = dy.dim(0), o = dy.dim(1), plane = dy.dim(2) * dy.dim(3);
  if (!db) {
    ++counts_.graph;
    graph_.run(*plan, buf);
    return;
  }
  float* dbp = db->f32();
  // The bias gradient reads only dy, as the filter gradient does: it can run beside it. `checked`:
  // a failed cuDNN call throws (the steady state) rather than returning false (timing).
  const auto filter_gradient = [&](bool checked) {
    if (!checked) return graph_.try_run(*plan, buf);
    graph_.run(*plan, buf);
    return true;
  };
  const auto inline_way = [&](bool checked) {
    launch_channel_sum(stream, dy.f32(), n, o, plane, dbp);
    return filter_gradient(checked);
  };
  const auto beside_way = [&](bool checked) {
    CUDA_CHECK(cudaEventRecord(fork_, stream));
    CUDA_CHECK(cudaStreamWaitEvent(side_, fork_, 0));
    launch_channel_sum(side_, dy.f32(), n, o, plane, dbp);
    bool ran = false;
    try {
      ran = filter_gradient(checked);
    } catch (...) {
      cudaEventRecord(join_, side_);  // the main stream must still wait for the side stream's work
      cudaStreamWaitEvent(stream, join_, 0);
      throw;
    }
    CUDA_CHECK(cudaEventRecord(join_, side_));
    CUDA_CHECK(cudaStreamWaitEvent(stream, join_, 0));  // later work (and memory reuse) waits for it
    return ran;
  };
  bool beside = settings_.fusion == ConvFusion::force;
  if (settings_.fusion == ConvFusion::automatic) {
    const auto known = decisions_.find(key.packed());
    if (known != decisions_.end()) {
      beside = known->second;
    } else {
      const std::string cache_key = "choose " + key.text() + " bias_grad";
      Decision stored;
      const std::string* text = cache_.find(cache_key);
      if (text && Decision::parse(*text, &stored) && (stored.winner() == "beside" || stored.winner() == "inline")) {
        beside = stored.winner() == "beside";
        log_line(1, "conv %s: bias gradient %s (%s); from the plan cache", key.text().c_str(), stored.winner().c_str(),
                 text->c_str());
      } else {
        const float inline_ms = median_ms(stream, [&] { return inline_way(false); });
        const float beside_ms = median_ms(stream, [&] { return beside_way(false); });
        beside = beside_ms >= 0 && inline_ms >= 0 && beside_ms < inline_ms;
        Decision d;
        d.options = {{"beside", beside_ms}, {"inline", inline_ms}};
        if (!beside) std::swap(d.options[0], d.options[1]);
        log_line(1, "conv %s: bias gradient beside %.4f ms, inline %.4f ms: %s", key.text().c_str(),
                 static_cast<double>(beside_ms), static_cast<double>(inline_ms), beside ? "beside" : "inline");
        if (inline_ms >= 0 && beside_ms >= 0) cache_.put(cache_key, d.text());
      }
      decisions_[key.packed()] = beside;
    }
  }
  ++counts_.graph;
  if (beside) ++counts_.fused;
  if (beside)
    beside_way(true);
  else
    inline_way(true);
}

}  // namespace alexnet::cuda
