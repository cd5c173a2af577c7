// Convolution forward, backward-data and backward-filter on the CUDA build. Each call runs on the
// graph engine (conv2d_graph.h: cuDNN's backend API, one timed plan per shape, kept in this process
// and in the plan cache file) and, where that offers no usable plan, on the legacy engine
// (conv2d_legacy.h: cudnnFind and cudnnConvolution*), saying so once per shape on stderr.
//
// Fusions, each chosen only where timing on the device says it wins (and only where cuDNN has a
// plan for it; otherwise the unfused way runs):
//   forward          conv + bias (+ ReLU) as one graph, against the plain graph and our bias (+ ReLU)
//                    kernel after it;
//   backward-data    + the ReLU backward of the layer before, as one graph, against the plain graph
//                    and our ReLU-backward kernel (backward_data_relu; not reachable from JavaScript
//                    until the op list has such an op);
//   backward-filter  the bias gradient (our channel-sum kernel) on a second stream beside the filter
//                    gradient, against the two one after the other.
// Each decision is timed once per shape (median of five after a warm-up) and kept like the plans.
//
// Settings (ConvSettings::from_env):
//   ALEXNET_CUDA_CONV=auto|graph|legacy    graph engine with the legacy fallback (default); graph
//                                          engine only (no plan is an error); legacy engine only
//   ALEXNET_CUDA_CONV_FUSION=auto|off|force  time fused against unfused (default); never fuse; fuse
//                                          wherever a fused plan exists (for tests)
//   ALEXNET_CUDA_PLAN_CACHE=DIR|off        the plan cache file's folder (conv2d_plan_cache.h)
//   ALEXNET_CUDA_LOG=1|2                   the choices made; =2 also every candidate weighed
//   ALEXNET_CUDA_LOG_FILE=PATH             those lines appended to PATH instead of stderr
#pragma once

#include <map>
#include <string>

#include "context.h"
#include "conv2d_graph.h"
#include "conv2d_legacy.h"
#include "conv2d_plan_cache.h"
#include "conv2d_plan_key.h"
#include "core/backend.h"

namespace alexnet::cuda {

enum class ConvPath { automatic, graph, legacy };
enum class ConvFusion { automatic, off, force };

struct ConvSettings {
  ConvPath path = ConvPath::automatic;
  ConvFusion fusion = ConvFusion::automatic;
  std::string plan_cache_dir;  // "" keeps plans in this process only

  // Reads the environment; a value it does not know is a BackendError naming the variable.
  static ConvSettings from_env();
};

class ConvEngine {
 public:
  ConvEngine(CudaContext& ctx, ConvSettings settings = ConvSettings::from_env());
  ~ConvEngine();
  ConvEngine(const ConvEngine&) = delete;
  ConvEngine& operator=(const ConvEngine&) = delete;

  void forward(const Conv2dGeometry& g, const Tensor& x, const Tensor& w, const OptTensor& b, const Tensor& y,
               bool fuse_relu);
  void backward_data(const Conv2dGeometry& g, const Tensor& dy, const Tensor& w, const Tensor& dx);
  void backward_filter(const Conv2dGeometry& g, const Tensor& x, const Tensor& dy, const Tensor& dw,
                       const OptTensor& db);
  // dx = backward_data(dy, w) where relu_output > 0, else 0: the gradient through this convolution
  // and the ReLU whose output is its input (relu_output has dx's shape).
  void backward_data_relu(const Conv2dGeometry& g, const Tensor& dy, const Tensor& w, const Tensor& relu_output,
                          const Tensor& dx);

  // What ran so far, for tests and logs.
  struct Counts {
    size_t graph = 0;   // calls on a graph plan, fused or not
    size_t fused = 0;   // of those, on a fused plan (or the bias gradient beside)
    size_t legacy = 0;  // calls on the legacy engine
  };
  const Counts& counts() const { return counts_; }
  size_t graph_plan_count() const { return graph_.plan_count(); }
  const ConvGraphEngine::Stats& graph_stats() const { return graph_.stats(); }
  const PlanCacheFile& plan_cache() const { return cache_; }

 private:
  template <typename Fused, typename Separate>
  bool use_fused(const ConvPlanKey& fused_key, ConvGraphPlan* fused, ConvGraphPlan* plain, const char* fused_name,
                 const char* separate_name, Fused run_fused, Separate run_separate);
  // The graph plan for a key, or nullptr after saying (once per key) that the legacy engine runs
  // it; throws when ALEXNET_CUDA_CONV=graph.
  ConvGraphPlan* graph_plan_or_fallback(const ConvPlanKey& key, const ConvBuffers& buffers);
  ConvPlanKey key_for(ConvDirection d, const Conv2dGeometry& g, const Shape& input, const Shape& weight,
                      std::initializer_list<const void*> pointers) const;

  CudaContext& ctx_;
  ConvSettings settings_;
  PlanCacheFile cache_;
  ConvGraphEngine graph_;
  LegacyConvEngine legacy_;
  std::map<ConvPlanKey::Packed, bool> decisions_;  // fused key -> whether the fused way runs
  std::map<ConvPlanKey::Packed, bool> fell_back_;  // keys the legacy engine runs (said once)
  cudaStream_t side_ = nullptr;                    // for the bias gradient beside the filter gradient
  cudaEvent_t fork_ = nullptr, join_ = nullptr;
  Counts counts_;
};

}  // namespace alexnet::cuda
