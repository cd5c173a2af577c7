// The graph engine (see conv2d_graph.h). What has been run on a device and what has not: as
// written (2026-11-29) this file has been compiled and linked against cuDNN 9.24's headers only; no
// plan of it has run yet. The self-test's CUDA checks (test/native/selftest/conv2d_graph.cc) and
// the GPU suite are what first run it, on the device.
//
// cuDNN 9 marks the handle attributes of the operation graph and the execution plan deprecated,
// while still documenting them as required (cudnn_graph.h, 9.24); they are set, and the warning
// silenced, until a cuDNN that the device machines run drops them.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#include "conv2d_graph.h"

#include <chrono>
#include <deque>
#include <set>
#include <sstream>
#include <utility>

#include "check.h"
#include "conv2d_engine_rules.h"
#include "conv2d_timing.h"
#include "core/errors.h"
#include "cudnn_graph_desc.h"
#include "log.h"

namespace alexnet::cuda {
namespace {

// The tensors' unique ids in every graph; 100 and up are virtual (never in memory).
enum Uid : int64_t { kX = 1, kW, kB, kDy, kMask, kY, kDx, kDw, kConvOut = 100, kBiasOut };

constexpr size_t kMaxCandidates = 64;  // distinct engine configurations weighed per key
constexpr int64_t kMaxNotes = 32;      // more than cuDNN defines of either kind
constexpr int64_t kMaxKnobs = 64;      // likewise
constexpr size_t kPacksPerPlan = 8;    // variant packs kept per plan (distinct pointer sets)
// Once a search has a plan and has spent this long, or has timed this many, the candidates left
// are not tried: the heuristics list the likely fastest first, runtime-compiled engines take up to
// seconds each to build, and a GPU session is short (PyTorch's own search tries 10 by default,
// torch.backends.cudnn.benchmark_limit). The log counts what was left untried.
constexpr double kSearchBudgetMs = 3000;
constexpr size_t kMaxTimed = 24;

// An operation graph and every descriptor it references, which must live as long as it does (a
// deque: adding a part leaves references to the earlier ones valid).
struct OpGraph {
  std::deque<GraphDescriptor> parts;
  GraphDescriptor graph;
  std::vector<int64_t> uids;  // its tensors in memory, in the order the variant pack lists them
};

using Dims = std::array<int64_t, 4>;

const GraphDescriptor& add_tensor(OpGraph& g, int64_t uid, const Dims& dims, int64_t alignment, bool is_virtual) {
  GraphDescriptor t(CUDNN_BACKEND_TENSOR_DESCRIPTOR, "CUDNN_BACKEND_TENSOR_DESCRIPTOR");
  const int64_t strides[4] = {dims[1] * dims[2] * dims[3], dims[2] * dims[3], dims[3], 1};
  const cudnnDataType_t type = CUDNN_DATA_FLOAT;
  GRAPH_SET(t, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &type);
  GRAPH_SET(t, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 4, dims.data());
  GRAPH_SET(t, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 4, strides);
  GRAPH_SET(t, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid);
  GRAPH_SET(t, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &alignment);
  if (is_virtual) {
    const bool yes = true;
    GRAPH_SET(t, CUDNN_ATTR_TENSOR_IS_VIRTUAL, CUDNN_TYPE_BOOLEAN, 1, &yes);
  } else {
    g.uids.push_back(uid);
  }
  t.finalize("CUDNN_BACKEND_TENSOR_DESCRIPTOR");
  g.parts.push_back(std::move(t));
  return g.parts.back();
}

const GraphDescriptor& add_convolution(OpGraph& g, const ConvPlanKey& k) {
  GraphDescriptor c(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR, "CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR");
  const cudnnDataType_t compute = CUDNN_DATA_FLOAT;
  const cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
  const int64_t spatial = 2, dilations[2] = {1, 1}, strides[2] = {k.stride_h, k.stride_w};
  const int64_t pre[2] = {k.pad_top, k.pad_left}, post[2] = {k.pad_bottom, k.pad_right};
  GRAPH_SET(c, CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &compute);
  GRAPH_SET(c, CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, 1, &mode);
  GRAPH_SET(c, CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, 1, &spatial);
  GRAPH_SET(c, CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, 2, dilations);
  GRAPH_SET(c, CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, 2, strides);
  GRAPH_SET(c, CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, 2, pre);
  GRAPH_SET(c, CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, 2, post);
  c.finalize("CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR");
  g.parts.push_back(std::move(c));
  return g.parts.back();
}

// The convolution operation of the key's direction, reading and writing the given tensors
// (forward: a = x, b = w, out = y; backward-data: a = dy, b = w, out = dx; backward-filter:
// a = x, b = dy, out = dw).
const GraphDescriptor& add_conv_op(OpGraph& g, ConvDirection d, const GraphDescriptor& conv, const GraphDescriptor& a,
                                   const GraphDescriptor& b, const GraphDescriptor& out) {
  const float alpha = 1.0f, beta = 0.0f;
  cudnnBackendDescriptor_t cd = conv.get(), ad = a.get(), bd = b.get(), od = out.get();
  const auto D = CUDNN_TYPE_BACKEND_DESCRIPTOR;
  if (d == ConvDirection::forward) {
    GraphDescriptor op(CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR,
                       "CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR");
    GRAPH_SET(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC, D, 1, &cd);
    GRAPH_SET(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, D, 1, &ad);
    GRAPH_SET(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W, D, 1, &bd);
    GRAPH_SET(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y, D, 1, &od);
    GRAPH_SET(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA, CUDNN_TYPE_FLOAT, 1, &alpha);
    GRAPH_SET(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA, CUDNN_TYPE_FLOAT, 1, &beta);
    op.finalize("CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR");
    g.parts.push_back(std::move(op));
  } else if (d == ConvDirection::backward_data) {
    GraphDescriptor op(CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR,
                       "CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR");
    GRAPH_SET(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_CONV_DESC, D, 1, &cd);
    GRAPH_SET(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DY, D, 1, &ad);
    GRAPH_SET(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_W, D, 1, &bd);
    GRAPH_SET(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DX, D, 1, &od);
    GRAPH_SET(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_ALPHA, CUDNN_TYPE_FLOAT, 1, &alpha);
    GRAPH_SET(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_BETA, CUDNN_TYPE_FLOAT, 1, &beta);
    op.finalize("CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR");
    g.parts.push_back(std::move(op));
  } else {
    GraphDescriptor op(CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR,
                       "CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR");
    GRAPH_SET(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_CONV_DESC, D, 1, &cd);
    GRAPH_SET(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_X, D, 1, &ad);
    GRAPH_SET(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DY, D, 1, &bd);
    GRAPH_SET(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DW, D, 1, &od);
    GRAPH_SET(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_ALPHA, CUDNN_TYPE_FLOAT, 1, &alpha);
    GRAPH_SET(op, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_BETA, CUDNN_TYPE_FLOAT, 1, &beta);
    op.finalize("CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR");
    g.parts.push_back(std::move(op));
  }
  return g.parts.back();
}

const GraphDescriptor& add_pointwise_desc(OpGraph& g, cudnnPointwiseMode_t mode) {
  GraphDescriptor pw(CUDNN_BACKEND_POINTWISE_DESCRIPTOR, "CUDNN_BACKEND_POINTWISE_DESCRIPTOR");
  const cudnnDataType_t precision = CUDNN_DATA_FLOAT;
  GRAPH_SET(pw, CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, 1, &mode);
  GRAPH_SET(pw, CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, 1, &precision);
  pw.finalize("CUDNN_BACKEND_POINTWISE_DESCRIPTOR");
  g.parts.push_back(std::move(pw));
  return g.parts.back();
}

// y = x + b (b broadcast over N, H and W), or y = relu(x) when `b` is null.
void add_pointwise_op(OpGraph& g, cudnnPointwiseMode_t mode, const GraphDescriptor& x, const GraphDescriptor* b,
                      const GraphDescriptor& y) {
  const GraphDescriptor& pw = add_pointwise_desc(g, mode);
  GraphDescriptor op(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR, "CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR");
  cudnnBackendDescriptor_t pd = pw.get(), xd = x.get(), yd = y.get();
  const auto D = CUDNN_TYPE_BACKEND_DESCRIPTOR;
  GRAPH_SET(op, CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, D, 1, &pd);
  GRAPH_SET(op, CUDNN_ATTR_OPERATION_POINTWISE_XDESC, D, 1, &xd);
  if (b) {
    cudnnBackendDescriptor_t bd = b->get();
    GRAPH_SET(op, CUDNN_ATTR_OPERATION_POINTWISE_BDESC, D, 1, &bd);
  }
  GRAPH_SET(op, CUDNN_ATTR_OPERATION_POINTWISE_YDESC, D, 1, &yd);
  op.finalize("CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR");
  g.parts.push_back(std::move(op));
}

// dx = mask > 0 ? dy : 0 (cuDNN's RELU_BWD, with the ReLU's output standing for its input: both
// are > 0 at the same places).
void add_relu_backward_op(OpGraph& g, const GraphDescriptor& dy, const GraphDescriptor& mask,
                          const GraphDescriptor& dx) {
  const GraphDescriptor& pw = add_pointwise_desc(g, CUDNN_POINTWISE_RELU_BWD);
  GraphDescriptor op(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR, "CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR");
  cudnnBackendDescriptor_t pd = pw.get(), dyd = dy.get(), md = mask.get(), dxd = dx.get();
  const auto D = CUDNN_TYPE_BACKEND_DESCRIPTOR;
  GRAPH_SET(op, CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, D, 1, &pd);
  GRAPH_SET(op, CUDNN_ATTR_OPERATION_POINTWISE_DYDESC, D, 1, &dyd);
  GRAPH_SET(op, CUDNN_ATTR_OPERATION_POINTWISE_XDESC, D, 1, &md);
  GRAPH_SET(op, CUDNN_ATTR_OPERATION_POINTWISE_DXDESC, D, 1, &dxd);
  op.finalize("CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR");
  g.parts.push_back(std::move(op));
}

// The key's operation graph; nullptr with *problem when cuDNN does not take it (any descriptor of
// it refused: an attribute value, asymmetric padding or a fusion it does not support).
std::shared_ptr<OpGraph> build_graph_or_throw(const ConvPlanKey& k, cudnnHandle_t handle, std::string* problem) {
  auto g = std::make_shared<OpGraph>();
  const Dims x{k.n, k.c, k.h, k.w}, w{k.o, k.c / k.groups, k.kh, k.kw}, y{k.n, k.o, k.out_h(), k.out_w()};
  const int64_t a = k.alignment;
  std::vector<size_t> ops;  // indexes into g->parts of the operations, in order
  const GraphDescriptor& conv = add_convolution(*g, k);
  switch (k.direction) {
    case ConvDirection::forward: {
      const GraphDescriptor& xt = add_tensor(*g, kX, x, a, false);
      const GraphDescriptor& wt = add_tensor(*g, kW, w, a, false);
      const GraphDescriptor* bt = nullptr;
      if (k.epilogue == ConvEpilogue::bias || k.epilogue == ConvEpilogue::bias_relu)
        bt = &add_tensor(*g, kB, Dims{1, k.o, 1, 1}, a, false);
      const GraphDescriptor& yt = add_tensor(*g, kY, y, a, false);
      const GraphDescriptor* conv_out = &yt;
      if (k.epilogue != ConvEpilogue::none) conv_out = &add_tensor(*g, kConvOut, y, a, true);
      add_conv_op(*g, k.direction, conv, xt, wt, *conv_out);
      ops.push_back(g->parts.size() - 1);
      if (k.epilogue == ConvEpilogue::bias) {
        add_pointwise_op(*g, CUDNN_POINTWISE_ADD, *conv_out, bt, yt);
        ops.push_back(g->parts.size() - 1);
      } else if (k.epilogue == ConvEpilogue::relu) {
        add_pointwise_op(*g, CUDNN_POINTWISE_RELU_FWD, *conv_out, nullptr, yt);
        ops.push_back(g->parts.size() - 1);
      } else if (k.epilogue == ConvEpilogue::bias_relu) {
        const GraphDescriptor& biased = add_tensor(*g, kBiasOut, y, a, true);
        add_pointwise_op(*g, CUDNN_POINTWISE_ADD, *conv_out, bt, biased);
        ops.push_back(g->parts.size() - 1);
        add_pointwise_op(*g, CUDNN_POINTWISE_RELU_FWD, biased, nullptr, yt);
        ops.push_back(g->parts.size() - 1);
      }
      break;
    }
    case ConvDirection::backward_data: {
      const GraphDescriptor& dyt = add_tensor(*g, kDy, y, a, false);
      const GraphDescriptor& wt = add_tensor(*g, kW, w, a, false);
      const GraphDescriptor* mt = nullptr;
      if (k.epilogue == ConvEpilogue::relu_backward) mt = &add_tensor(*g, kMask, x, a, false);
      const GraphDescriptor& dxt = add_tensor(*g, kDx, x, a, false);
      const GraphDescriptor* dgrad = mt ? &add_tensor(*g, kConvOut, x, a, true) : &dxt;
      add_conv_op(*g, k.direction, conv, dyt, wt, *dgrad);
      ops.push_back(g->parts.size() - 1);
      if (mt) {
        add_relu_backward_op(*g, *dgrad, *mt, dxt);
        ops.push_back(g->parts.size() - 1);
      }
      break;
    }
    case ConvDirection::backward_filter: {
      const GraphDescriptor& xt = add_tensor(*g, kX, x, a, false);
      const GraphDescriptor& dyt = add_tensor(*g, kDy, y, a, false);
      const GraphDescriptor& dwt = add_tensor(*g, kDw, w, a, false);
      add_conv_op(*g, k.direction, conv, xt, dyt, dwt);
      ops.push_back(g->parts.size() - 1);
      break;
    }
  }
  std::vector<cudnnBackendDescriptor_t> raw;
  for (size_t i : ops) raw.push_back(g->parts[i].get());
  g->graph = GraphDescriptor(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR, "CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR");
  GRAPH_SET(g->graph, CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1, &handle);
  GRAPH_SET(g->graph, CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, static_cast<int64_t>(raw.size()),
            raw.data());
  const cudnnStatus_t status = g->graph.try_finalize();
  if (status != CUDNN_STATUS_SUCCESS) {
    *problem = "cudnnBackendFinalize(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR): " + cudnn_status_text(status);
    return nullptr;
  }
  return g;
}

std::shared_ptr<OpGraph> build_graph(const ConvPlanKey& k, cudnnHandle_t handle, std::string* problem) {
  try {
    return build_graph_or_throw(k, handle, problem);
  } catch (const BackendError& e) {  // out of memory and a lost device go on up
    *problem = e.what();
    return nullptr;
  }
}

EngineNeeds needs_of(const ConvPlanKey& k) {
  EngineNeeds n;
  n.math = k.math;
  n.deterministic = k.deterministic;
  n.relu_keeps_nan = k.epilogue == ConvEpilogue::relu || k.epilogue == ConvEpilogue::bias_relu;
  return n;
}

// The engine's notes as engine_note bits.
uint32_t engine_notes(const GraphDescriptor& engine) {
  uint32_t bits = 0;
  cudnnBackendNumericalNote_t numerical[kMaxNotes];
  const int64_t n =
      GRAPH_GET(engine, CUDNN_ATTR_ENGINE_NUMERICAL_NOTE, CUDNN_TYPE_NUMERICAL_NOTE, kMaxNotes, numerical);
  for (int64_t i = 0; i < n && i < kMaxNotes; ++i) {
    switch (numerical[i]) {
      case CUDNN_NUMERICAL_NOTE_TENSOR_CORE:
        bits |= engine_note::tensor_core;
        break;
      case CUDNN_NUMERICAL_NOTE_DOWN_CONVERT_INPUTS:
        bits |= engine_note::down_convert_inputs;
        break;
      case CUDNN_NUMERICAL_NOTE_REDUCED_PRECISION_REDUCTION:
        bits |= engine_note::reduced_precision_reduction;
        break;
      case CUDNN_NUMERICAL_NOTE_FFT:
        bits |= engine_note::fft;
        break;
      case CUDNN_NUMERICAL_NOTE_NONDETERMINISTIC:
        bits |= engine_note::nondeterministic;
        break;
      case CUDNN_NUMERICAL_NOTE_WINOGRAD:
        bits |= engine_note::winograd;
        break;
      case CUDNN_NUMERICAL_NOTE_WINOGRAD_TILE_4x4:
        bits |= engine_note::winograd_tile_4x4;
        break;
      case CUDNN_NUMERICAL_NOTE_WINOGRAD_TILE_6x6:
        bits |= engine_note::winograd_tile_6x6;
        break;
      case CUDNN_NUMERICAL_NOTE_WINOGRAD_TILE_13x13:
        bits |= engine_note::winograd_tile_13x13;
        break;
      case CUDNN_NUMERICAL_NOTE_STRICT_NAN_PROP:
        bits |= engine_note::strict_nan_prop;
        break;
      default:
        bits |= engine_note::unknown;
        break;
    }
  }
  cudnnBackendBehaviorNote_t behavior[kMaxNotes];
  const int64_t b = GRAPH_GET(engine, CUDNN_ATTR_ENGINE_BEHAVIOR_NOTE, CUDNN_TYPE_BEHAVIOR_NOTE, kMaxNotes, behavior);
  for (int64_t i = 0; i < b && i < kMaxNotes; ++i)
    if (behavior[i] == CUDNN_BEHAVIOR_NOTE_RUNTIME_COMPILATION) bits |= engine_note::runtime_compilation;
  return bits;
}

// One engine configuration that the heuristics offered.
struct Candidate {
  GraphDescriptor config;
  PlanChoice choice;  // engine, knobs, notes (workspace and time once built and timed)
  const char* origin = "";
};

// Reads a configuration's engine index, knob choices and notes; false (with *problem) when cuDNN
// does not answer.
bool describe(Candidate& c, std::string* problem) {
  try {
    std::vector<GraphDescriptor> engine =
        get_descriptors(c.config, CUDNN_ATTR_ENGINECFG_ENGINE, CUDNN_BACKEND_ENGINE_DESCRIPTOR,
                        "CUDNN_BACKEND_ENGINE_DESCRIPTOR", 1, "CUDNN_ATTR_ENGINECFG_ENGINE");
    if (engine.empty()) {
      *problem = "the configuration names no engine";
      return false;
    }
    c.choice.engine = GRAPH_GET_INT64(engine[0], CUDNN_ATTR_ENGINE_GLOBAL_INDEX);
    c.choice.notes = engine_notes(engine[0]);
    std::vector<GraphDescriptor> knobs =
        get_descriptors(c.config, CUDNN_ATTR_ENGINECFG_KNOB_CHOICES, CUDNN_BACKEND_KNOB_CHOICE_DESCRIPTOR,
                        "CUDNN_BACKEND_KNOB_CHOICE_DESCRIPTOR", kMaxKnobs, "CUDNN_ATTR_ENGINECFG_KNOB_CHOICES");
    for (const GraphDescriptor& knob : knobs) {
      cudnnBackendKnobType_t type{};
      GRAPH_GET(knob, CUDNN_ATTR_KNOB_CHOICE_KNOB_TYPE, CUDNN_TYPE_KNOB_TYPE, 1, &type);
      const int64_t value = GRAPH_GET_INT64(knob, CUDNN_ATTR_KNOB_CHOICE_KNOB_VALUE);
      c.choice.knobs.emplace_back(static_cast<int64_t>(type), value);
    }
    return true;
  } catch (const BackendError& e) {
    *problem = e.what();
    return false;
  }
}

// The configurations one heuristics mode offers (none, with *problem, when the mode does not take
// the graph: mode B, for one, does not take grouped convolutions).
std::vector<Candidate> heuristics_or_throw(const OpGraph& g, cudnnBackendHeurMode_t mode, const char* origin,
                                           std::string* problem) {
  std::vector<Candidate> out;
  GraphDescriptor heur(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR, "CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR");
  cudnnBackendDescriptor_t gd = g.graph.get();
  GRAPH_SET(heur, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &gd);
  GRAPH_SET(heur, CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode);
  cudnnStatus_t status = heur.try_finalize();
  if (status != CUDNN_STATUS_SUCCESS) {
    *problem = "cudnnBackendFinalize(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR): " + cudnn_status_text(status);
    return out;
  }
  int64_t count = 0;
  status = heur.try_get(CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &count, nullptr);
  if (status != CUDNN_STATUS_SUCCESS) {
    *problem = "cudnnBackendGetAttribute(CUDNN_ATTR_ENGINEHEUR_RESULTS) count: " + cudnn_status_text(status);
    return out;
  }
  if (count <= 0) return out;
  std::vector<GraphDescriptor> configs =
      get_descriptors(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_BACKEND_ENGINECFG_DESCRIPTOR,
                      "CUDNN_BACKEND_ENGINECFG_DESCRIPTOR", count, "CUDNN_ATTR_ENGINEHEUR_RESULTS");
  for (GraphDescriptor& config : configs) {
    Candidate c;
    c.config = std::move(config);
    c.origin = origin;
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<Candidate> heuristics(const OpGraph& g, cudnnBackendHeurMode_t mode, const char* origin,
                                  std::string* problem) {
  try {
    return heuristics_or_throw(g, mode, origin, problem);
  } catch (const BackendError& e) {
    *problem = e.what();
    return {};
  }
}

// An execution plan of a configuration; false (with *problem) when cuDNN cannot build it.
bool build_plan(cudnnHandle_t handle, const GraphDescriptor& config, GraphDescriptor* plan, int64_t* workspace,
                std::string* problem) {
  GraphDescriptor p(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR, "CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR");
  cudnnBackendDescriptor_t cd = config.get();
  GRAPH_SET(p, CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &handle);
  GRAPH_SET(p, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &cd);
  const cudnnStatus_t status = p.try_finalize();
  if (status != CUDNN_STATUS_SUCCESS) {
    *problem = "cudnnBackendFinalize(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR): " + cudnn_status_text(status);
    return false;
  }
  *workspace = GRAPH_GET_INT64(p, CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE);
  *plan = std::move(p);
  return true;
}

// "engine 12 knobs 2=3,5=1" (what identifies a configuration).
std::string knobs_text(const PlanChoice& c) {
  std::ostringstream s;
  s << "engine " << c.engine << " knobs ";
  if (c.knobs.empty()) s << '-';
  for (size_t i = 0; i < c.knobs.size(); ++i) s << (i ? "," : "") << c.knobs[i].first << '=' << c.knobs[i].second;
  return s.str();
}

// The plan cache file's value for a key without a usable engine (under these rules).
std::string no_plan_text() { return "none rules " + std::to_string(kEngineRulesVersion); }

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

class ConvGraphPlan {
 public:
  ConvPlanKey key;
  std::shared_ptr<OpGraph> graph;
  // The configuration and what it references (for a plan rebuilt from the cache file, descriptors
  // made here; for a searched one, the heuristics' configuration alone).
  GraphDescriptor engine;
  std::vector<GraphDescriptor> knobs;
  GraphDescriptor config;
  GraphDescriptor plan;
  PlanChoice choice;

  // Variant packs by the pointers (in graph->uids' order) and workspace they were made for.
  struct Pack {
    std::array<const void*, 4> pointers{};
    void* workspace = nullptr;
    GraphDescriptor desc;
  };
  std::vector<Pack> packs;
  size_t next_pack = 0;
};

namespace {

const void* pointer_of(int64_t uid, const ConvBuffers& b) {
  switch (uid) {
    case kX:
      return b.x;
    case kW:
      return b.w;
    case kB:
      return b.b;
    case kDy:
      return b.dy;
    case kMask:
      return b.mask;
    case kY:
      return b.y;
    case kDx:
      return b.dx;
    case kDw:
      return b.dw;
    default:
      return nullptr;
  }
}

}  // namespace

// The variant pack for these buffers: a kept one when the pointers repeat, else a new one.
const GraphDescriptor& ConvGraphEngine::pack_for(ConvGraphPlan& p, const ConvBuffers& b, void* workspace) {
  std::array<const void*, 4> pointers{};
  const std::vector<int64_t>& uids = p.graph->uids;
  if (uids.size() > pointers.size()) throw BackendError("internal error: a convolution graph has too many tensors");
  for (size_t i = 0; i < uids.size(); ++i) pointers[i] = pointer_of(uids[i], b);
  for (const auto& pack : p.packs)
    if (pack.pointers == pointers && pack.workspace == workspace) return pack.desc;
  for (size_t i = 0; i < uids.size(); ++i)
    if (!pointers[i])
      throw BackendError("internal error: no buffer for tensor " + std::to_string(uids[i]) + " of the " + p.key.text());
  GraphDescriptor v(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR, "CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR");
  std::vector<void*> data;
  for (size_t i = 0; i < uids.size(); ++i) data.push_back(const_cast<void*>(pointers[i]));
  GRAPH_SET(v, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, static_cast<int64_t>(uids.size()), uids.data());
  GRAPH_SET(v, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, static_cast<int64_t>(data.size()),
            data.data());
  GRAPH_SET(v, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &workspace);
  v.finalize("CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR");
  ++stats_.packs_made;
  ConvGraphPlan::Pack pack;
  pack.pointers = pointers;
  pack.workspace = workspace;
  pack.desc = std::move(v);
  if (p.packs.size() < kPacksPerPlan) {
    p.packs.push_back(std::move(pack));
    return p.packs.back().desc;
  }
  ConvGraphPlan::Pack& slot = p.packs[p.next_pack++ % kPacksPerPlan];
  slot = std::move(pack);
  return slot.desc;
}

ConvGraphEngine::ConvGraphEngine(CudaContext& ctx, PlanCacheFile& cache) : ctx_(ctx), cache_(cache) {}
ConvGraphEngine::~ConvGraphEngine() = default;

const PlanChoice& ConvGraphEngine::choice(const ConvGraphPlan& plan) { return plan.choice; }

std::string ConvGraphEngine::why_not(const ConvPlanKey& key) const {
  const auto it = plans_.find(key.packed());
  return it == plans_.end() ? std::string() : it->second.why_not;
}

ConvGraphPlan* ConvGraphEngine::plan(const ConvPlanKey& key, const ConvBuffers& buffers) {
  const ConvPlanKey::Packed packed = key.packed();
  const auto found = plans_.find(packed);
  if (found != plans_.end()) return found->second.plan.get();

  Slot slot;
  const std::string text = key.text();
  const std::string* stored = cache_.find(text);
  if (stored && *stored == no_plan_text()) {
    // Found before (same device, cuDNN and rules): cuDNN offers no usable engine for this key.
    slot.why_not = "no usable engine (so the plan cache file says)";
    log_line(1, "conv %s: no graph plan; from the plan cache", text.c_str());
    return plans_.emplace(packed, std::move(slot)).first->second.plan.get();
  }
  if (stored) {
    PlanChoice choice;
    std::string problem;
    if (!PlanChoice::parse(*stored, &choice))
      problem = "its entry does not parse";
    else
      slot.plan = rebuild(key, choice, &problem);
    if (slot.plan) {
      const PlanChoice& c = slot.plan->choice;
      log_line(1, "conv %s: graph %s, %.4f ms when chosen, workspace %lld bytes, notes %s; from the plan cache",
               text.c_str(), knobs_text(c).c_str(), c.ms, static_cast<long long>(c.workspace),
               notes_text(c.notes).c_str());
    } else {
      log_line(1, "conv %s: the cached plan (%s) is not usable: %s; searching", text.c_str(), stored->c_str(),
               problem.c_str());
    }
  }
  if (slot.plan) ++stats_.from_cache;
  if (!slot.plan) {
    ++stats_.searches;
    slot.plan = search(key, buffers, &slot.why_not);
  }
  return plans_.emplace(packed, std::move(slot)).first->second.plan.get();
}

std::unique_ptr<ConvGraphPlan> ConvGraphEngine::rebuild(const ConvPlanKey& key, const PlanChoice& stored,
                                                        std::string* problem) {
  std::shared_ptr<OpGraph> graph = build_graph(key, ctx_.cudnn(), problem);
  if (!graph) return nullptr;
  auto p = std::make_unique<ConvGraphPlan>();
  p->key = key;
  p->graph = graph;
  p->choice = stored;
  try {
    p->engine = GraphDescriptor(CUDNN_BACKEND_ENGINE_DESCRIPTOR, "CUDNN_BACKEND_ENGINE_DESCRIPTOR");
    cudnnBackendDescriptor_t gd = graph->graph.get();
    GRAPH_SET(p->engine, CUDNN_ATTR_ENGINE_OPERATION_GRAPH, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &gd);
    GRAPH_SET(p->engine, CUDNN_ATTR_ENGINE_GLOBAL_INDEX, CUDNN_TYPE_INT64, 1, &stored.engine);
    cudnnStatus_t status = p->engine.try_finalize();
    if (status != CUDNN_STATUS_SUCCESS) {
      *problem = "engine " + std::to_string(stored.engine) + " does not take the graph: " + cudnn_status_text(status);
      return nullptr;
    }
    std::vector<cudnnBackendDescriptor_t> raw;
    for (const auto& [type, value] : stored.knobs) {
      GraphDescriptor knob(CUDNN_BACKEND_KNOB_CHOICE_DESCRIPTOR, "CUDNN_BACKEND_KNOB_CHOICE_DESCRIPTOR");
      const auto knob_type = static_cast<cudnnBackendKnobType_t>(type);
      GRAPH_SET(knob, CUDNN_ATTR_KNOB_CHOICE_KNOB_TYPE, CUDNN_TYPE_KNOB_TYPE, 1, &knob_type);
      GRAPH_SET(knob, CUDNN_ATTR_KNOB_CHOICE_KNOB_VALUE, CUDNN_TYPE_INT64, 1, &value);
      knob.finalize("CUDNN_BACKEND_KNOB_CHOICE_DESCRIPTOR");
      raw.push_back(knob.get());
      p->knobs.push_back(std::move(knob));
    }
    p->config = GraphDescriptor(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR, "CUDNN_BACKEND_ENGINECFG_DESCRIPTOR");
    cudnnBackendDescriptor_t ed = p->engine.get();
    GRAPH_SET(p->config, CUDNN_ATTR_ENGINECFG_ENGINE, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &ed);
    if (!raw.empty())
      GRAPH_SET(p->config, CUDNN_ATTR_ENGINECFG_KNOB_CHOICES, CUDNN_TYPE_BACKEND_DESCRIPTOR,
                static_cast<int64_t>(raw.size()), raw.data());
    status = p->config.try_finalize();
    if (status != CUDNN_STATUS_SUCCESS) {
      *problem = "its knob choices are not accepted: " + cudnn_status_text(status);
      return nullptr;
    }
    // The file is not trusted further than this: the rules apply to what cuDNN says of the engine now.
    p->choice.notes = engine_notes(p->engine);
    const EngineVerdict verdict = judge_engine(p->choice.notes, needs_of(key));
    if (!verdict.usable) {
      *problem = "the engine rules refuse it: " + verdict.reason;
      return nullptr;
    }
    int64_t workspace = 0;
    if (!build_plan(ctx_.cudnn(), p->config, &p->plan, &workspace, problem)) return nullptr;
    if (static_cast<size_t>(workspace) > ctx_.max_workspace_bytes()) {
      *problem = "it needs " + std::to_string(workspace) + " bytes of workspace, over the bound of " +
                 std::to_string(ctx_.max_workspace_bytes());
      return nullptr;
    }
    p->choice.workspace = workspace;
  } catch (const BackendError& e) {
    *problem = e.what();
    return nullptr;
  }
  return p;
}

std::unique_ptr<ConvGraphPlan> ConvGraphEngine::search(const ConvPlanKey& key, const ConvBuffers& buffers,
                                                       std::string* why_not) {
  const auto start = std::chrono::steady_clock::now();
  const std::string text = key.text();
  std::string problem;
  std::shared_ptr<OpGraph> graph = build_graph(key, ctx_.cudnn(), &problem);
  if (!graph) {
    *why_not = "cuDNN does not take the operation graph: " + problem;
    log_line(1, "conv %s: no graph plan: %s", text.c_str(), why_not->c_str());
    cache_.put(text, no_plan_text());
    return nullptr;
  }
  log_line(2, "conv %s: searching", text.c_str());

  std::vector<Candidate> candidates;
  std::set<std::string> seen;
  size_t offered = 0;
  const std::pair<cudnnBackendHeurMode_t, const char*> modes[] = {
      {CUDNN_HEUR_MODE_A, "heuristics A"}, {CUDNN_HEUR_MODE_B, "heuristics B"}, {CUDNN_HEUR_MODE_FALLBACK, "fallback"}};
  for (const auto& [mode, origin] : modes) {
    std::string heur_problem;
    std::vector<Candidate> offers = heuristics(*graph, mode, origin, &heur_problem);
    if (!heur_problem.empty()) log_line(2, "  %s: %s", origin, heur_problem.c_str());
    for (Candidate& c : offers) {
      ++offered;
      std::string describe_problem;
      if (!describe(c, &describe_problem)) {
        log_line(2, "  %s: a configuration cuDNN does not describe: %s", origin, describe_problem.c_str());
        continue;
      }
      if (!seen.insert(knobs_text(c.choice)).second || candidates.size() >= kMaxCandidates) continue;
      candidates.push_back(std::move(c));
    }
  }

  const EngineNeeds needs = needs_of(key);
  size_t refused = 0, unsupported = 0, too_big = 0, no_memory = 0, failed = 0, timed = 0, untried = 0;
  std::unique_ptr<ConvGraphPlan> best;
  for (Candidate& c : candidates) {
    const std::string name = knobs_text(c.choice) + " [" + notes_text(c.choice.notes) + "] (" + c.origin + ")";
    const EngineVerdict verdict = judge_engine(c.choice.notes, needs);
    if (!verdict.usable) {
      ++refused;
      log_line(2, "  %s: refused: %s", name.c_str(), verdict.reason.c_str());
      continue;
    }
    if (best && (ms_since(start) > kSearchBudgetMs || timed >= kMaxTimed)) {
      ++untried;
      log_line(2, "  %s: not tried (the search has timed %zu in %.0f ms)", name.c_str(), timed, ms_since(start));
      continue;
    }
    auto p = std::make_unique<ConvGraphPlan>();
    p->key = key;
    p->graph = graph;
    p->choice = c.choice;
    int64_t workspace = 0;
    std::string plan_problem;
    bool built = false;
    try {
      built = build_plan(ctx_.cudnn(), c.config, &p->plan, &workspace, &plan_problem);
    } catch (const BackendError& e) {
      plan_problem = e.what();
    }
    if (!built) {
      ++unsupported;
      log_line(2, "  %s: no plan: %s", name.c_str(), plan_problem.c_str());
      continue;
    }
    if (static_cast<size_t>(workspace) > ctx_.max_workspace_bytes()) {
      ++too_big;
      log_line(2, "  %s: needs %lld bytes of workspace, over the bound", name.c_str(),
               static_cast<long long>(workspace));
      continue;
    }
    if (ctx_.workspace_up_to(static_cast<size_t>(workspace)) < static_cast<size_t>(workspace)) {
      ++no_memory;
      log_line(2, "  %s: needs %lld bytes of workspace, more than memory allows now", name.c_str(),
               static_cast<long long>(workspace));
      continue;
    }
    p->choice.workspace = workspace;
    p->config = std::move(c.config);
    const float ms = median_ms(ctx_.stream(), [&] { return try_run(*p, buffers); });
    if (ms < 0) {
      ++failed;
      log_line(2, "  %s: failed to run", name.c_str());
      continue;
    }
    ++timed;
    p->choice.ms = ms;
    log_line(2, "  %s: %.4f ms, workspace %lld bytes", name.c_str(), static_cast<double>(ms),
             static_cast<long long>(workspace));
    if (!best || ms < best->choice.ms) best = std::move(p);
  }

  std::ostringstream summary;
  summary << offered << " offered, " << candidates.size() << " distinct, " << refused << " refused by the rules, "
          << unsupported << " without a plan, " << too_big << " over the workspace bound, " << no_memory
          << " short of memory, " << failed << " failed to run, " << timed << " timed, " << untried
          << " not tried (time or count bound), in " << static_cast<long long>(ms_since(start)) << " ms";
  if (!best) {
    *why_not = "no usable engine (" + summary.str() + ")";
    log_line(1, "conv %s: no graph plan: %s", text.c_str(), why_not->c_str());
    // Remembered across processes only when nothing but cuDNN and the rules decided it (not the
    // workspace bound, memory, or a run that failed).
    if (too_big == 0 && no_memory == 0 && failed == 0) cache_.put(text, no_plan_text());
    return nullptr;
  }
  const PlanChoice& c = best->choice;
  log_line(1, "conv %s: graph %s, %.4f ms, workspace %lld bytes, notes %s; searched: %s", text.c_str(),
           knobs_text(c).c_str(), c.ms, static_cast<long long>(c.workspace), notes_text(c.notes).c_str(),
           summary.str().c_str());
  // A choice made while memory was short is this process's alone: the next one searches again.
  if (no_memory == 0) cache_.put(text, c.text());
  return best;
}

bool ConvGraphEngine::try_run(ConvGraphPlan& plan, const ConvBuffers& buffers) {
  void* workspace = ctx_.workspace(static_cast<size_t>(plan.choice.workspace));
  const GraphDescriptor* pack = nullptr;
  try {
    pack = &pack_for(plan, buffers, workspace);
  } catch (const BackendError& e) {
    log_line(2, "  variant pack: %s", e.what());
    return false;
  }
  const cudnnStatus_t status = cudnnBackendExecute(ctx_.cudnn(), plan.plan.get(), pack->get());
  ++stats_.runs;
  if (status == CUDNN_STATUS_SUCCESS) return true;
  // A failed candidate is skipped, unless it broke the context for everyone.
  const cudaError_t pending = cudaPeekAtLastError();
  if (is_sticky(pending)) throw_cuda_error(pending, "cudnnBackendExecute");
  log_line(2, "  cudnnBackendExecute: %s", cudnn_status_text(status).c_str());
  return false;
}

void ConvGraphEngine::run(ConvGraphPlan& plan, const ConvBuffers& buffers) {
  void* workspace = ctx_.workspace(static_cast<size_t>(plan.choice.workspace));
  const GraphDescriptor& pack = pack_for(plan, buffers, workspace);
  ++stats_.runs;
  CUDNN_CHECK(cudnnBackendExecute(ctx_.cudnn(), plan.plan.get(), pack.get()));
}

}  // namespace alexnet::cuda
