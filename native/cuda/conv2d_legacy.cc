// Convolution through cuDNN's legacy API (cudnnFind*AlgorithmEx, cudnnConvolution*). cuDNN 9 marks it
// deprecated but ships and supports it. Since the graph engine (conv2d_graph.cc) it is the fallback
// that conv2d.cc takes, with a log line, where the graph API offers no usable engine, and what
// ALEXNET_CUDA_CONV=legacy forces (to compare the two on a device).
//
// Plans: one per (input shape as cuDNN sees it, weight shape, padding, stride, groups, math mode,
// determinism), holding the descriptors and, per direction, the algorithm chosen the first time that
// direction ran, with its workspace size. The choice is made once per key: cuDNN's search
// (cudnnFind*AlgorithmEx) proposes the candidates, and the fastest few are timed again with the real
// call (see choose()); afterwards a call is a few library calls on cached descriptors.
//
// Workspace: one buffer in CudaContext shared by every layer, grown on demand (never shrunk) and
// bounded by CudaContext::max_workspace_bytes(). The search is offered as much as the candidates
// need, up to the bound; the run uses the chosen algorithm's own size.
//
// Math mode: fp32 searches and runs with CUDNN_FMA_MATH (no TF32 anywhere, as PyTorch with
// allow_tf32 = False). tf32 searches with CUDNN_TENSOR_OP_MATH and with CUDNN_FMA_MATH and runs the
// chosen algorithm with the math type the search reported for it. Determinism: only algorithms
// cuDNN reports as CUDNN_DETERMINISTIC are candidates when it is on.
//
// Asymmetric padding: the legacy descriptors pad symmetrically, so the input is copied into a
// zero-padded temporary (conv2d.cu) and cuDNN runs unpadded; backward-data computes the gradient of
// the padded input and crops it.
//
// Bias: fused into cudnnConvolutionBiasActivationForward when ReLU is fused too, the chosen algorithm
// is IMPLICIT_PRECOMP_GEMM (the one cuDNN supports for that call with ReLU) and the fused call
// measured faster than the two steps; otherwise a small bias (+ ReLU) kernel runs after the
// convolution. Bias gradients are a
// deterministic per-channel sum (conv2d.cu).
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#include "conv2d_legacy.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "check.h"
#include "core/errors.h"
#include "kernels.h"
#include "log.h"

namespace alexnet::cuda {
namespace {

// Set to false to always run convolution, bias and ReLU as separate steps.
constexpr bool kFuseBiasRelu = true;

const float kOne = 1.0f;
const float kZero = 0.0f;

// What an algorithm runs with: in fp32 mode always FMA (cuDNN may report another math type for an
// algorithm found under FMA; PyTorch overrides it the same way), in tf32 mode what the search said.
cudnnMathType_t run_math(MathMode mode, cudnnMathType_t found) {
  return mode == MathMode::fp32 ? CUDNN_FMA_MATH : found;
}

// The math types searched: fp32 only FMA; tf32 tensor-op and FMA both (TF32 is allowed, not
// required: for some shapes, grouped convolutions especially, the FMA kernels are faster).
std::vector<cudnnMathType_t> search_maths(MathMode mode) {
  if (mode == MathMode::fp32) return {CUDNN_FMA_MATH};
  return {CUDNN_TENSOR_OP_MATH, CUDNN_FMA_MATH};
}

std::string shape_text(const Shape& s) { return shape_string(s); }

const char* math_name(cudnnMathType_t math) {
  return math == CUDNN_FMA_MATH         ? "fma"
         : math == CUDNN_TENSOR_OP_MATH ? "tensor-op"
         : math == CUDNN_DEFAULT_MATH   ? "default"
                                        : "tensor-op-allow-conversion";
}

// Strict fp32 promises results within 1e-4 of the exact convolution. cuDNN's FFT and non-fused
// Winograd algorithms go through transforms that lose more than that (on an H200, seed-tf's conv2,
// 96 -> 256 channels, 5x5 on 27x27, came out 1.4e-2 off in one element), so fp32 mode leaves them
// out; tf32 mode, whose promise is 1e-2, keeps them.
bool transform_based(cudnnConvolutionFwdAlgo_t a) {
  return a == CUDNN_CONVOLUTION_FWD_ALGO_FFT || a == CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING ||
         a == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED;
}
bool transform_based(cudnnConvolutionBwdDataAlgo_t a) {
  return a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT || a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING ||
         a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED;
}
bool transform_based(cudnnConvolutionBwdFilterAlgo_t a) {
  return a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT || a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING ||
         a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED;
}

// One algorithm a search may choose.
struct Candidate {
  int algo = 0;
  cudnnMathType_t math = CUDNN_FMA_MATH;  // what it runs with
  size_t workspace = 0;                   // what it needs with that math type
  float search_ms = 0;                    // cuDNN's timing
  float measured_ms = -1;                 // ours, of the real call
};

// The results of one cuDNN search that can be used: succeeded, fit the workspace, are accurate
// enough for the math mode and, when asked, are deterministic. ALEXNET_CUDA_LOG=2 prints them all.
template <typename Perf>
void add_candidates(std::vector<Candidate>* out, const std::vector<Perf>& results, int returned, size_t ws_bytes,
                    bool deterministic, MathMode mode, const char* direction, cudnnMathType_t searched) {
  if (log_level() >= 2)
    std::fprintf(stderr, "alexnet cuda: %s search (%s math, %zu bytes of workspace):\n", direction, math_name(searched),
                 ws_bytes);
  for (int i = 0; i < returned && i < static_cast<int>(results.size()); ++i) {
    const Perf& r = results[static_cast<size_t>(i)];
    if (log_level() >= 2)
      std::fprintf(stderr, "  algorithm %d: %s, %.4f ms, %zu bytes, %s, %s math\n", static_cast<int>(r.algo),
                   cudnnGetErrorString(r.status), static_cast<double>(r.time), r.memory,
                   r.determinism == CUDNN_DETERMINISTIC ? "deterministic" : "non-deterministic", math_name(r.mathType));
    if (r.status != CUDNN_STATUS_SUCCESS || r.memory > ws_bytes) continue;
    if (deterministic && r.determinism != CUDNN_DETERMINISTIC) continue;
    if (mode == MathMode::fp32 && transform_based(r.algo)) continue;
    Candidate c;
    c.algo = static_cast<int>(r.algo);
    c.math = run_math(mode, r.mathType);
    c.workspace = r.memory;
    c.search_ms = r.time;
    out->push_back(c);
  }
}

// Timing events, destroyed without throwing.
struct TimingEvents {
  cudaEvent_t start = nullptr, stop = nullptr;
  TimingEvents() {
    CUDA_CHECK(cudaEventCreate(&start));
    const cudaError_t status = cudaEventCreate(&stop);
    if (status != cudaSuccess) {
      cudaEventDestroy(start);
      check_cuda(status, "cudaEventCreate");
    }
  }
  ~TimingEvents() {
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
  }
};

constexpr size_t kTimedCandidates = 6;  // the fastest few by cuDNN's timing are timed again
constexpr int kTimedRuns = 3;           // after one warm-up run; the best run counts

// Times `fn`, which queues work on the stream and returns false when a library call failed: one
// warm-up run, then the best of kTimedRuns, in milliseconds; -1 when a call failed.
template <typename Fn>
float time_best(TimingEvents& events, cudaStream_t stream, Fn fn) {
  if (!fn()) return -1;
  float fastest = -1;
  for (int run = 0; run < kTimedRuns; ++run) {
    CUDA_CHECK(cudaEventRecord(events.start, stream));
    if (!fn()) return -1;
    CUDA_CHECK(cudaEventRecord(events.stop, stream));
    CUDA_CHECK(cudaEventSynchronize(events.stop));
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, events.start, events.stop));
    if (fastest < 0 || ms < fastest) fastest = ms;
  }
  return fastest;
}

// Picks among the candidates by timing the real call on the stream: cuDNN's own search timings do
// not always match what the legacy call then runs (measured on an H200 with grouped convolutions in
// tf32, where the execution took twice the searched time), so the choice rests on what we measure.
// `query(c, &bytes)` gives the workspace a candidate needs with its math type; `launch(c)` queues one
// call and returns cuDNN's status. Both run after the convolution descriptor got c.math.
template <typename Query, typename Launch>
Candidate choose(std::vector<Candidate> candidates, cudnnConvolutionDescriptor_t conv, size_t ws_bytes,
                 cudaStream_t stream, Query query, Launch launch, const char* direction, const std::string& text) {
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& a, const Candidate& b) { return a.search_ms < b.search_ms; });
  std::vector<Candidate> unique;
  for (const Candidate& c : candidates) {
    bool seen = false;
    for (const Candidate& u : unique) seen = seen || (u.algo == c.algo && u.math == c.math);
    if (!seen && unique.size() < kTimedCandidates) unique.push_back(c);
  }
  TimingEvents events;
  const Candidate* best = nullptr;
  for (Candidate& c : unique) {
    CUDNN_CHECK(cudnnSetConvolutionMathType(conv, c.math));
    size_t exact = 0;
    if (query(c, &exact) == CUDNN_STATUS_SUCCESS) c.workspace = std::max(c.workspace, exact);
    if (c.workspace > ws_bytes) continue;
    // A candidate whose call fails is skipped.
    const float fastest = time_best(events, stream, [&] { return launch(c) == CUDNN_STATUS_SUCCESS; });
    c.measured_ms = fastest;
    if (log_level() >= 2)
      std::fprintf(stderr, "  timed algorithm %d (%s math): %.4f ms (search said %.4f ms)\n", c.algo, math_name(c.math),
                   static_cast<double>(fastest), static_cast<double>(c.search_ms));
    if (fastest >= 0 && (!best || fastest < best->measured_ms)) best = &c;
  }
  if (!best) throw BackendError(std::string("cuDNN found no usable ") + direction + " algorithm for the " + text);
  log_line(1, "conv legacy %s %s: algorithm %d, %s math, workspace %zu bytes, %.4f ms", direction, text.c_str(),
           best->algo, math_name(best->math), best->workspace, static_cast<double>(best->measured_ms));
  return *best;
}

// The workspace a search is offered: what the most demanding algorithm needs, up to the bound.
template <typename Size>
size_t wanted_workspace(cudnnConvolutionDescriptor_t conv, MathMode mode, int algorithms, size_t bound, Size size) {
  size_t wanted = 0;
  for (cudnnMathType_t m : search_maths(mode)) {
    CUDNN_CHECK(cudnnSetConvolutionMathType(conv, m));
    for (int a = 0; a < algorithms; ++a) {
      size_t bytes = 0;
      if (size(a, &bytes) == CUDNN_STATUS_SUCCESS) wanted = std::max(wanted, std::min(bytes, bound));
    }
  }
  return wanted;
}

// One direction's whole search, shared by forward, backward-data and backward-filter. The workspace
// offered is what the most demanding algorithm wants, up to the bound; cuDNN's search runs under each
// math type the mode allows; choose() times the usable results with the real call. The direction
// comes in as its three cuDNN calls: `size(algo, &bytes)` the workspace query,
// `find(requested, &returned, results, ws, ws_bytes)` the cudnnFind*AlgorithmEx (checked inside, so
// that an error names it), `run(algo, ws, ws_bytes)` the convolution, returning cuDNN's status.
template <typename Perf, typename Size, typename Find, typename Run>
Candidate search_direction(CudaContext& ctx, cudnnConvolutionDescriptor_t conv, MathMode mode, bool deterministic,
                           int algorithms, int max_count, Size size, Find find, Run run, const char* direction,
                           const std::string& text) {
  const size_t wanted = wanted_workspace(conv, mode, algorithms, ctx.max_workspace_bytes(), size);
  const size_t ws_bytes = std::min(ctx.workspace_up_to(wanted), ctx.max_workspace_bytes());
  void* ws = ctx.workspace(0);
  std::vector<Candidate> candidates;
  for (cudnnMathType_t m : search_maths(mode)) {
    CUDNN_CHECK(cudnnSetConvolutionMathType(conv, m));
    std::vector<Perf> results(static_cast<size_t>(std::max(1, max_count)));
    int returned = 0;
    find(static_cast<int>(results.size()), &returned, results.data(), ws, ws_bytes);
    add_candidates(&candidates, results, returned, ws_bytes, deterministic, mode, direction, m);
  }
  return choose(
      candidates, conv, ws_bytes, ctx.stream(), [&](const Candidate& c, size_t* bytes) { return size(c.algo, bytes); },
      [&](const Candidate& c) { return run(c.algo, ws, c.workspace); }, direction, text);
}

}  // namespace

struct LegacyConvEngine::Plan {
  TensorDescriptor x, y, bias;
  FilterDescriptor w;
  ConvolutionDescriptor conv;
  Shape input, weight, output;  // output as cuDNN computes it
  MathMode math = MathMode::fp32;
  bool deterministic = false;
  std::string text;  // names the convolution in errors

  struct Choice {
    bool found = false;
    int algo = 0;
    size_t workspace = 0;
    cudnnMathType_t math = CUDNN_FMA_MATH;
  };
  Choice fwd, bwd_data, bwd_filter;
  // Whether conv + bias + ReLU runs as cudnnConvolutionBiasActivationForward: -1 not yet measured,
  // 0 no (slower, or the call failed), 1 yes.
  int fuse = -1;
};

LegacyConvEngine::LegacyConvEngine(CudaContext& ctx) : ctx_(ctx) {
  CUDNN_CHECK(cudnnSetActivationDescriptor(relu_, CUDNN_ACTIVATION_RELU, CUDNN_PROPAGATE_NAN, 0.0));
}

LegacyConvEngine::~LegacyConvEngine() = default;

LegacyConvEngine::Plan& LegacyConvEngine::plan_for(const Conv2dGeometry& g, const Shape& input, const Shape& weight,
                                                   int pad_h, int pad_w) {
  const int64_t math = static_cast<int64_t>(ctx_.math_mode), deterministic = ctx_.deterministic ? 1 : 0;
  const Key key{input[0], input[1], input[2],   input[3],   weight[0], weight[1], weight[2],    weight[3],
                pad_h,    pad_w,    g.stride_h, g.stride_w, g.groups,  math,      deterministic};
  auto it = plans_.find(key);
  if (it != plans_.end()) return *it->second;

  auto p = std::make_unique<Plan>();
  p->input = input;
  p->weight = weight;
  p->math = ctx_.math_mode;
  p->deterministic = ctx_.deterministic;
  {
    std::ostringstream text;
    text << "convolution of input " << shape_text(input) << " with weight " << shape_text(weight) << " (stride "
         << g.stride_h << "x" << g.stride_w << ", cuDNN padding " << pad_h << "x" << pad_w << ", groups " << g.groups
         << ", " << (p->math == MathMode::tf32 ? "tf32" : "fp32") << (p->deterministic ? ", deterministic" : "") << ")";
    p->text = text.str();
  }
  set_nchw(p->x, input[0], input[1], input[2], input[3]);
  CUDNN_CHECK(cudnnSetFilter4dDescriptor(p->w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, dim_int(weight[0], "weight dim 0"),
                                         dim_int(weight[1], "weight dim 1"), dim_int(weight[2], "weight dim 2"),
                                         dim_int(weight[3], "weight dim 3")));
  CUDNN_CHECK(cudnnSetConvolution2dDescriptor(p->conv, pad_h, pad_w, g.stride_h, g.stride_w, 1, 1,
                                              CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  CUDNN_CHECK(cudnnSetConvolutionGroupCount(p->conv, g.groups));
  CUDNN_CHECK(cudnnSetConvolutionMathType(p->conv, search_maths(p->math).front()));
  int on = 0, oc = 0, oh = 0, ow = 0;
  CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(p->conv, p->x, p->w, &on, &oc, &oh, &ow));
  p->output = {on, oc, oh, ow};
  set_nchw(p->y, on, oc, oh, ow);
  set_nchw(p->bias, 1, weight[0], 1, 1);
  Plan& plan = *p;
  plans_.emplace(key, std::move(p));
  return plan;
}

void LegacyConvEngine::find_forward(Plan& p, const float* x, const float* w, float* y) {
  cudnnHandle_t h = ctx_.cudnn();
  int max_count = 0;
  CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(h, &max_count));
  const Candidate best = search_direction<cudnnConvolutionFwdAlgoPerf_t>(
      ctx_, p.conv, p.math, p.deterministic, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, max_count,
      [&](int algo, size_t* bytes) {
        return cudnnGetConvolutionForwardWorkspaceSize(h, p.x, p.w, p.conv, p.y,
                                                       static_cast<cudnnConvolutionFwdAlgo_t>(algo), bytes);
      },
      [&](int requested, int* returned, cudnnConvolutionFwdAlgoPerf_t* results, void* ws, size_t ws_bytes) {
        CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithmEx(h, p.x, x, p.w, w, p.conv, p.y, y, requested, returned,
                                                           results, ws, ws_bytes));
      },
      [&](int algo, void* ws, size_t ws_bytes) {
        return cudnnConvolutionForward(h, &kOne, p.x, x, p.w, w, p.conv, static_cast<cudnnConvolutionFwdAlgo_t>(algo),
                                       ws, ws_bytes, &kZero, p.y, y);
      },
      "forward", p.text);
  p.fwd = Plan::Choice{true, best.algo, best.workspace, best.math};
}

void LegacyConvEngine::find_backward_data(Plan& p, const float* w, const float* dy, float* dx) {
  cudnnHandle_t h = ctx_.cudnn();
  int max_count = 0;
  CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, &max_count));
  const Candidate best = search_direction<cudnnConvolutionBwdDataAlgoPerf_t>(
      ctx_, p.conv, p.math, p.deterministic, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, max_count,
      [&](int algo, size_t* bytes) {
        return cudnnGetConvolutionBackwardDataWorkspaceSize(h, p.w, p.y, p.conv, p.x,
                                                            static_cast<cudnnConvolutionBwdDataAlgo_t>(algo), bytes);
      },
      [&](int requested, int* returned, cudnnConvolutionBwdDataAlgoPerf_t* results, void* ws, size_t ws_bytes) {
        CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithmEx(h, p.w, w, p.y, dy, p.conv, p.x, dx, requested,
                                                                returned, results, ws, ws_bytes));
      },
      [&](int algo, void* ws, size_t ws_bytes) {
        return cudnnConvolutionBackwardData(h, &kOne, p.w, w, p.y, dy, p.conv,
                                            static_cast<cudnnConvolutionBwdDataAlgo_t>(algo), ws, ws_bytes, &kZero, p.x,
                                            dx);
      },
      "backward-data", p.text);
  p.bwd_data = Plan::Choice{true, best.algo, best.workspace, best.math};
}

void LegacyConvEngine::find_backward_filter(Plan& p, const float* x, const float* dy, float* dw) {
  cudnnHandle_t h = ctx_.cudnn();
  int max_count = 0;
  CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(h, &max_count));
  const Candidate best = search_direction<cudnnConvolutionBwdFilterAlgoPerf_t>(
      ctx_, p.conv, p.math, p.deterministic, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, max_count,
      [&](int algo, size_t* bytes) {
        return cudnnGetConvolutionBackwardFilterWorkspaceSize(
            h, p.x, p.y, p.conv, p.w, static_cast<cudnnConvolutionBwdFilterAlgo_t>(algo), bytes);
      },
      [&](int requested, int* returned, cudnnConvolutionBwdFilterAlgoPerf_t* results, void* ws, size_t ws_bytes) {
        CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithmEx(h, p.x, x, p.y, dy, p.conv, p.w, dw, requested,
                                                                  returned, results, ws, ws_bytes));
      },
      [&](int algo, void* ws, size_t ws_bytes) {
        return cudnnConvolutionBackwardFilter(h, &kOne, p.x, x, p.y, dy, p.conv,
                                              static_cast<cudnnConvolutionBwdFilterAlgo_t>(algo), ws, ws_bytes, &kZero,
                                              p.w, dw);
      },
      "backward-filter", p.text);
  p.bwd_filter = Plan::Choice{true, best.algo, best.workspace, best.math};
}

namespace {

// The shape cuDNN sees for an input that is padded explicitly (asymmetric padding), or the input's.
Shape cudnn_input_shape(const Conv2dGeometry& g, const Shape& input) {
  if (g.symmetric()) return input;
  return {input[0], input[1], input[2] + g.pad_top + g.pad_bottom, input[3] + g.pad_left + g.pad_right};
}

void require_output(const Shape& computed, const Shape& given, const std::string& text) {
  if (computed != given)
    throw BackendError("internal error: cuDNN computes output " + shape_string(computed) + " for the " + text +
                       ", the op was given " + shape_string(given));
}

// The input as cuDNN reads it: x itself, or with asymmetric padding a zero-padded copy of x of
// shape `input` (cudnn_input_shape), queued into `padded`, which must live until cuDNN's call is queued.
const float* cudnn_source(CudaContext& ctx, const Conv2dGeometry& g, const Tensor& x, const Shape& input,
                          Tensor* padded) {
  if (g.symmetric()) return x.f32();
  *padded = ctx.temporary(input);
  launch_pad2d(ctx.stream(), x.f32(), padded->f32(), x.dim(0) * x.dim(1), x.dim(2), x.dim(3), g.pad_top, g.pad_bottom,
               g.pad_left, g.pad_right);
  return padded->f32();
}

}  // namespace

// The plan of a convolution whose input cuDNN sees as `input` (cudnn_input_shape: padded already
// when the padding is asymmetric), checked against the output shape the op was given.
LegacyConvEngine::Plan& LegacyConvEngine::plan_for(const Conv2dGeometry& g, const Shape& input, const Shape& weight,
                                                   const Shape& output) {
  const bool symmetric = g.symmetric();
  Plan& p = plan_for(g, input, weight, symmetric ? g.pad_top : 0, symmetric ? g.pad_left : 0);
  require_output(p.output, output, p.text);
  return p;
}

void LegacyConvEngine::forward(const Conv2dGeometry& g, const Tensor& x, const Tensor& w, const OptTensor& b,
                               const Tensor& y, bool fuse_relu) {
  cudaStream_t stream = ctx_.stream();
  const int64_t n = y.dim(0), o = y.dim(1), out_plane = y.dim(2) * y.dim(3);
  if (y.numel() == 0) return;
  if (x.numel() == 0 || w.numel() == 0) {  // nothing to convolve: y is the bias (or zero)
    launch_fill_f32(stream, y.f32(), y.numel(), 0.0f);
    launch_bias_relu(stream, y.f32(), b ? b->f32() : nullptr, n, o, out_plane, fuse_relu);
    return;
  }
  const Shape input = cudnn_input_shape(g, x.shape);
  Tensor padded;
  const float* src = cudnn_source(ctx_, g, x, input, &padded);
  Plan& p = plan_for(g, input, w.shape, y.shape);
  if (!p.fwd.found) find_forward(p, src, w.f32(), y.f32());

  cudnnHandle_t h = ctx_.cudnn();
  void* ws = ctx_.workspace(p.fwd.workspace);
  CUDNN_CHECK(cudnnSetConvolutionMathType(p.conv, p.fwd.math));
  const auto algo = static_cast<cudnnConvolutionFwdAlgo_t>(p.fwd.algo);
  // y = relu(conv(x) + 0 * z + bias) with z = y: with alpha2 = 0 cuDNN does not read z (the
  // self-test, test/native/selftest/cuda.cc, checks this with y full of NaN).
  auto fused = [&] {
    return cudnnConvolutionBiasActivationForward(h, &kOne, p.x, src, p.w, w.f32(), p.conv, algo, ws, p.fwd.workspace,
                                                 &kZero, p.y, y.f32(), p.bias, b->f32(), relu_, p.y,
                                                 y.f32()) == CUDNN_STATUS_SUCCESS;
  };
  auto separate = [&] {
    if (cudnnConvolutionForward(h, &kOne, p.x, src, p.w, w.f32(), p.conv, algo, ws, p.fwd.workspace, &kZero, p.y,
                                y.f32()) != CUDNN_STATUS_SUCCESS)
      return false;
    launch_bias_relu(stream, y.f32(), b ? b->f32() : nullptr, n, o, out_plane, fuse_relu);
    return true;
  };
  const bool can_fuse = kFuseBiasRelu && fuse_relu && b && algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
  if (can_fuse && p.fuse < 0) {
    // The fused call is not always faster (on an H200, grouped convolutions in tf32 took 2 ms fused
    // against 0.3 ms apart): measure both once.
    TimingEvents events;
    const float fused_ms = time_best(events, stream, fused);
    const float separate_ms = time_best(events, stream, separate);
    p.fuse = fused_ms >= 0 && (separate_ms < 0 || fused_ms < separate_ms) ? 1 : 0;
    log_line(1, "conv legacy forward %s: fused bias + ReLU %.4f ms, separate %.4f ms: %s", p.text.c_str(),
             static_cast<double>(fused_ms), static_cast<double>(separate_ms), p.fuse ? "fused" : "separate");
  }
  if (can_fuse && p.fuse == 1) {
    CUDNN_CHECK(cudnnConvolutionBiasActivationForward(h, &kOne, p.x, src, p.w, w.f32(), p.conv, algo, ws,
                                                      p.fwd.workspace, &kZero, p.y, y.f32(), p.bias, b->f32(), relu_,
                                                      p.y, y.f32()));
    return;
  }
  CUDNN_CHECK(cudnnConvolutionForward(h, &kOne, p.x, src, p.w, w.f32(), p.conv, algo, ws, p.fwd.workspace, &kZero, p.y,
                                      y.f32()));
  launch_bias_relu(stream, y.f32(), b ? b->f32() : nullptr, n, o, out_plane, fuse_relu);
}

void LegacyConvEngine::backward_data(const Conv2dGeometry& g, const Tensor& dy, const Tensor& w, const Tensor& dx) {
  cudaStream_t stream = ctx_.stream();
  if (dx.numel() == 0) return;
  if (dy.numel() == 0 || w.numel() == 0) {
    launch_fill_f32(stream, dx.f32(), dx.numel(), 0.0f);
    return;
  }
  const bool symmetric = g.symmetric();
  const Shape input = cudnn_input_shape(g, dx.shape);
  Tensor padded;
  float* target = dx.f32();
  if (!symmetric) {
    padded = ctx_.temporary(input);
    target = padded.f32();
  }
  Plan& p = plan_for(g, input, w.shape, dy.shape);
  if (!p.bwd_data.found) find_backward_data(p, w.f32(), dy.f32(), target);

  void* ws = ctx_.workspace(p.bwd_data.workspace);
  CUDNN_CHECK(cudnnSetConvolutionMathType(p.conv, p.bwd_data.math));
  CUDNN_CHECK(cudnnConvolutionBackwardData(ctx_.cudnn(), &kOne, p.w, w.f32(), p.y, dy.f32(), p.conv,
                                           static_cast<cudnnConvolutionBwdDataAlgo_t>(p.bwd_data.algo), ws,
                                           p.bwd_data.workspace, &kZero, p.x, target));
  if (!symmetric) {
    launch_crop2d(stream, padded.f32(), dx.f32(), dx.dim(0) * dx.dim(1), input[2], input[3], dx.dim(2), dx.dim(3),
                  g.pad_top, g.pad_left);
  }
}

void LegacyConvEngine::backward_filter(const Conv2dGeometry& g, const Tensor& x, const Tensor& dy, const Tensor& dw,
                                       const OptTensor& db) {
  cudaStream_t stream = ctx_.stream();
  const int64_t n = dy.dim(0), o = dy.dim(1), out_plane = dy.dim(2) * dy.dim(3);
  if (db) launch_channel_sum(stream, dy.f32(), n, o, out_plane, db->f32());  // sums nothing to 0 when empty
  if (dw.numel() == 0) return;
  if (x.numel() == 0 || dy.numel() == 0) {
    launch_fill_f32(stream, dw.f32(), dw.numel(), 0.0f);
    return;
  }
  const Shape input = cudnn_input_shape(g, x.shape);
  Tensor padded;
  const float* src = cudnn_source(ctx_, g, x, input, &padded);
  Plan& p = plan_for(g, input, dw.shape, dy.shape);
  if (!p.bwd_filter.found) find_backward_filter(p, src, dy.f32(), dw.f32());

  void* ws = ctx_.workspace(p.bwd_filter.workspace);
  CUDNN_CHECK(cudnnSetConvolutionMathType(p.conv, p.bwd_filter.math));
  CUDNN_CHECK(cudnnConvolutionBackwardFilter(ctx_.cudnn(), &kOne, p.x, src, p.y, dy.f32(), p.conv,
                                             static_cast<cudnnConvolutionBwdFilterAlgo_t>(p.bwd_filter.algo), ws,
                                             p.bwd_filter.workspace, &kZero, p.w, dw.f32()));
}

}  // namespace alexnet::cuda
