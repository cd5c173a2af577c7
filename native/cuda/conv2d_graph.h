// Convolution plans on cuDNN's backend (graph) API, the approach PyTorch's cuDNN path takes
// (aten/src/ATen/native/cudnn/Conv_v8.cpp): per ConvPlanKey one operation graph (the convolution,
// with its fused epilogue when the key has one, and asymmetric padding as the graph's pre- and
// post-padding), the engine configurations that heuristics modes A and B and the fallback list
// offer, those the engine rules allow (conv2d_engine_rules.h), every plan of them that builds and
// fits the workspace bound timed on the call's own buffers (one warm-up, the median of five; once
// a search has a plan and has spent 3 s or timed 24, the rest are left untried, and the log says
// how many), and the fastest kept: in this process, and in the plan cache file
// (conv2d_plan_cache.h), from which the next process rebuilds it without a search. A key without a
// usable engine is remembered too.
//
// Once a plan exists, a call does no descriptor, workspace-size or allocation work: the plan is
// found by its key's numbers, and the variant pack (the call's pointers and the workspace) is reused
// when the pointers repeat, as the caching allocator makes them do from step to step.
//
// ALEXNET_CUDA_LOG=1 prints each plan chosen (engine, knobs, time, workspace, notes, where it came
// from); =2 every candidate and why it was left out.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "context.h"
#include "conv2d_plan_cache.h"
#include "conv2d_plan_key.h"
#include "cudnn_graph_desc.h"

namespace alexnet::cuda {

// The device buffers of one call. Which ones a plan reads and writes follows from its key:
//   forward          x, w, (b), y
//   backward_data    dy, w, (mask), dx
//   backward_filter  x, dy, dw
struct ConvBuffers {
  const void* x = nullptr;
  const void* w = nullptr;
  const void* b = nullptr;  // forward with bias
  const void* dy = nullptr;
  const void* mask = nullptr;  // backward_data + relu_backward: the ReLU's output (kept where > 0)
  void* y = nullptr;
  void* dx = nullptr;
  void* dw = nullptr;
};

class ConvGraphPlan;

class ConvGraphEngine {
 public:
  ConvGraphEngine(CudaContext& ctx, PlanCacheFile& cache);
  ~ConvGraphEngine();
  ConvGraphEngine(const ConvGraphEngine&) = delete;
  ConvGraphEngine& operator=(const ConvGraphEngine&) = delete;

  // The plan for `key`: made before in this process, else rebuilt from the cache file, else found
  // by a search that runs every candidate on `buffers` (overwriting the outputs). nullptr when cuDNN
  // offers no usable engine (remembered too; why_not() says why). Errors other than "not supported"
  // throw (BackendError naming the call, OutOfMemoryError, DeviceLostError).
  ConvGraphPlan* plan(const ConvPlanKey& key, const ConvBuffers& buffers);
  // Why plan(key) found none ("" when it found one or was not asked).
  std::string why_not(const ConvPlanKey& key) const;

  // Queues the plan on the stream (throws BackendError naming cudnnBackendExecute on failure).
  void run(ConvGraphPlan& plan, const ConvBuffers& buffers);
  // Queues the plan and returns cuDNN's status instead of throwing (for timing alternatives).
  bool try_run(ConvGraphPlan& plan, const ConvBuffers& buffers);

  // What a plan runs (engine, knobs, workspace, measured time, notes).
  static const PlanChoice& choice(const ConvGraphPlan& plan);
  size_t plan_count() const { return plans_.size(); }

  // Work done so far, for tests of the caching (a steady state adds only runs).
  struct Stats {
    size_t searches = 0;    // keys searched (candidates timed)
    size_t from_cache = 0;  // plans rebuilt from the cache file
    size_t packs_made = 0;  // variant packs created
    size_t runs = 0;        // plan executions, timing runs included
  };
  const Stats& stats() const { return stats_; }

 private:
  struct Slot {
    std::unique_ptr<ConvGraphPlan> plan;
    std::string why_not;
  };
  const GraphDescriptor& pack_for(ConvGraphPlan& plan, const ConvBuffers& buffers, void* workspace);
  std::unique_ptr<ConvGraphPlan> rebuild(const ConvPlanKey& key, const PlanChoice& stored, std::string* problem);
  std::unique_ptr<ConvGraphPlan> search(const ConvPlanKey& key, const ConvBuffers& buffers, std::string* why_not);

  CudaContext& ctx_;
  PlanCacheFile& cache_;
  std::map<ConvPlanKey::Packed, Slot> plans_;
  Stats stats_;
};

}  // namespace alexnet::cuda
