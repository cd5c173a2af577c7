// The CUDA build's convolution engines driven directly (native/cuda/conv2d.h), each path forced in
// turn, against the double-precision reference of conv2d.cc: the graph engine alone (no legacy
// fallback allowed) with fusions off and forced, the legacy engine alone, the ReLU-backward fusion
// (which no op reaches yet), a second engine that must start from the plan cache file without a
// search, one that must ignore a corrupted file, and a steady state that makes no allocation and no
// new variant pack. Compiled into the CUDA self-test only; it needs a GPU.
#include <cuda_runtime_api.h>
#include <stdlib.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "cuda/context.h"
#include "cuda/conv2d.h"
#include "selftest.h"

namespace alexnet::selftest {
namespace {

using namespace alexnet::cuda;

void cuda_ok(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
}

Tensor upload(CudaContext& ctx, const Shape& shape, const std::vector<float>& values) {
  Tensor t = ctx.temporary(shape);
  cuda_ok(cudaMemcpy(t.f32(), values.data(), values.size() * 4, cudaMemcpyHostToDevice), "cudaMemcpy to device");
  return t;
}

Tensor poisoned(CudaContext& ctx, const Shape& shape) {
  Tensor t = ctx.temporary(shape);
  cuda_ok(cudaMemset(t.f32(), 0xff, t.bytes()), "cudaMemset");  // NaN everywhere
  return t;
}

std::vector<float> download(CudaContext& ctx, const Tensor& t) {
  cuda_ok(cudaStreamSynchronize(ctx.stream()), "cudaStreamSynchronize");
  std::vector<float> v(static_cast<size_t>(t.numel()));
  cuda_ok(cudaMemcpy(v.data(), t.f32(), v.size() * 4, cudaMemcpyDeviceToHost), "cudaMemcpy to host");
  return v;
}

std::vector<ConvCase> cases() {
  std::vector<ConvCase> out;
  ConvCase a{"conv1-like k11 s4 p2", 4, 3, 35, 35, 16, 11, 11, {}, true, true};
  a.g.stride_h = a.g.stride_w = 4;
  a.g.pad_top = a.g.pad_bottom = a.g.pad_left = a.g.pad_right = 2;
  out.push_back(a);
  ConvCase b{"grouped k5 p2 g2", 4, 16, 13, 13, 32, 5, 5, {}, true, true};
  b.g.pad_top = b.g.pad_bottom = b.g.pad_left = b.g.pad_right = 2;
  b.g.groups = 2;
  out.push_back(b);
  ConvCase c{"k3 p1 64->96", 8, 64, 13, 13, 96, 3, 3, {}, true, true};
  c.g.pad_top = c.g.pad_bottom = c.g.pad_left = c.g.pad_right = 1;
  out.push_back(c);
  ConvCase d{"no bias, rectangular stride", 3, 4, 10, 12, 6, 3, 2, {}, false, true};
  d.g.stride_w = 2;
  d.g.pad_top = d.g.pad_bottom = 1;
  out.push_back(d);
  return out;
}

// Asymmetric padding: the graph takes it as pre- and post-padding (no padded copy).
ConvCase asymmetric_case() {
  ConvCase f{"asymmetric t1 b2 l1 r2 grouped", 2, 4, 9, 9, 6, 4, 4, {}, true, true};
  f.g.pad_top = 1;
  f.g.pad_bottom = 2;
  f.g.pad_left = 1;
  f.g.pad_right = 2;
  f.g.groups = 2;
  return f;
}

struct Data {
  std::vector<float> x, w, b, dy, mask;
  std::vector<double> y, dx, dw, db, dx_masked;
  int64_t oh = 0, ow = 0;
};

Data data_for(const ConvCase& cc) {
  Data d;
  const auto& g = cc.g;
  d.oh = conv_out(cc.h, g.pad_top, g.pad_bottom, cc.kh, g.stride_h);
  d.ow = conv_out(cc.w, g.pad_left, g.pad_right, cc.kw, g.stride_w);
  d.x = random_vector(static_cast<size_t>(cc.n * cc.c * cc.h * cc.w), 11);
  d.w = random_vector(static_cast<size_t>(cc.o * (cc.c / g.groups) * cc.kh * cc.kw), 12, -0.3f, 0.3f);
  d.b = random_vector(static_cast<size_t>(cc.o), 13);
  d.dy = random_vector(static_cast<size_t>(cc.n * cc.o * d.oh * d.ow), 14);
  // A ReLU output: about half zero.
  d.mask = random_vector(d.x.size(), 15);
  for (float& m : d.mask) m = m < 0 ? 0.0f : m;
  conv_ref(cc, d.x, d.w, d.b, d.dy, &d.y, &d.dx, &d.dw, &d.db);
  d.dx_masked = d.dx;
  for (size_t i = 0; i < d.dx.size(); ++i) d.dx_masked[i] = d.mask[i] > 0 ? d.dx[i] : 0.0;
  return d;
}

// Every direction of one case through `engine`, against the reference.
void check_case(CudaContext& ctx, ConvEngine& engine, const ConvCase& cc, const std::string& tag, double tol) {
  const Data d = data_for(cc);
  const std::string base = "conv graph engine " + tag + " " + cc.name;
  const Shape xs{cc.n, cc.c, cc.h, cc.w}, ws{cc.o, cc.c / cc.g.groups, cc.kh, cc.kw}, ys{cc.n, cc.o, d.oh, d.ow};
  Tensor x = upload(ctx, xs, d.x), w = upload(ctx, ws, d.w), dy = upload(ctx, ys, d.dy), mask = upload(ctx, xs, d.mask);
  OptTensor b;
  if (cc.bias) b = upload(ctx, {cc.o}, d.b);
  for (int call = 0; call < 2; ++call) {  // the second call runs the kept plan
    const std::string which = call ? " (kept plan)" : "";
    Tensor y = poisoned(ctx, ys);
    engine.forward(cc.g, x, w, b, y, cc.relu);
    compare(base + " forward" + which, download(ctx, y), d.y, tol, tol);
    Tensor dx = poisoned(ctx, xs);
    engine.backward_data(cc.g, dy, w, dx);
    compare(base + " backward data" + which, download(ctx, dx), d.dx, tol, tol);
    Tensor dxm = poisoned(ctx, xs);
    engine.backward_data_relu(cc.g, dy, w, mask, dxm);
    compare(base + " backward data + ReLU backward" + which, download(ctx, dxm), d.dx_masked, tol, tol);
    Tensor dw = poisoned(ctx, ws);
    OptTensor db;
    if (cc.bias) db = poisoned(ctx, {cc.o});
    engine.backward_filter(cc.g, x, dy, dw, db);
    compare(base + " backward filter" + which, download(ctx, dw), d.dw, tol, tol);
    if (cc.bias) compare(base + " backward bias" + which, download(ctx, *db), d.db, 1e-5, 1e-5);
  }
}

std::string temp_dir() {
  char name[] = "/tmp/alexnet-graph-selftest-XXXXXX";
  const char* made = mkdtemp(name);
  if (!made) throw std::runtime_error("mkdtemp failed");
  return made;
}

void run_all(CudaContext& ctx, ConvEngine& engine, const std::string& tag, double tol) {
  for (const ConvCase& cc : cases()) check_case(ctx, engine, cc, tag, tol);
}

}  // namespace

void test_conv2d_graph() {
  CudaContext ctx;
  const std::string dir = temp_dir();
  ConvSettings graph_only;
  graph_only.path = ConvPath::graph;
  graph_only.plan_cache_dir = dir;

  for (MathMode mode : {MathMode::fp32, MathMode::tf32}) {
    ctx.math_mode = mode;
    const double tol = mode == MathMode::fp32 ? 1e-4 : 1e-2;
    const char* m = mode == MathMode::fp32 ? "fp32" : "tf32";
    // (The timed choice, ConvFusion::automatic, is the default the GPU suite runs everywhere.)
    for (ConvFusion fusion : {ConvFusion::off, ConvFusion::force}) {
      ConvSettings s = graph_only;
      s.fusion = fusion;
      const char* f = fusion == ConvFusion::off ? "unfused" : "fusion forced";
      ConvEngine engine(ctx, s);
      const std::string tag = std::string(m) + ", " + f + ",";
      try {
        run_all(ctx, engine, tag, tol);
        report(engine.counts().legacy == 0 && engine.counts().graph > 0,
               "conv graph engine " + tag + " every call ran on a graph plan",
               std::to_string(engine.counts().graph) + " graph calls");
        std::printf("note: conv graph engine %s %zu of %zu calls fused (0 means cuDNN offered no usable fused plan)\n",
                    tag.c_str(), engine.counts().fused, engine.counts().graph);
      } catch (const std::exception& e) {
        report(false, "conv graph engine " + tag + " runs without the legacy fallback", e.what());
      }
    }
    // Asymmetric padding in the graph itself.
    try {
      ConvEngine engine(ctx, graph_only);
      check_case(ctx, engine, asymmetric_case(), std::string(m) + ",", tol);
      report(engine.counts().legacy == 0,
             std::string("conv graph engine ") + m + ": asymmetric padding as pre/post padding", "");
    } catch (const std::exception& e) {
      report(false, std::string("conv graph engine ") + m + ": asymmetric padding as pre/post padding", e.what());
    }
    // The legacy engine alone, as ALEXNET_CUDA_CONV=legacy runs it.
    ConvSettings legacy;
    legacy.path = ConvPath::legacy;
    ConvEngine old(ctx, legacy);
    run_all(ctx, old, std::string(m) + ", legacy forced,", tol);
    check_case(ctx, old, asymmetric_case(), std::string(m) + ", legacy forced,", tol);
    report(old.counts().graph == 0 && old.counts().legacy > 0, std::string("conv legacy engine ") + m + ": forced",
           std::to_string(old.counts().legacy) + " calls");
  }
  ctx.math_mode = MathMode::fp32;

  // A second engine over the same cache file starts without a search.
  {
    ConvSettings s = graph_only;
    ConvEngine second(ctx, s);
    run_all(ctx, second, "fp32, from the cache file,", 1e-4);
    const auto& st = second.graph_stats();
    report(second.plan_cache().size() > 0 && st.searches == 0 && st.from_cache > 0,
           "conv graph engine: a second engine rebuilds every plan from the cache file, searching none",
           std::to_string(st.from_cache) + " rebuilt, " + std::to_string(st.searches) + " searched, file " +
               second.plan_cache().path());
  }

  // A corrupted file is ignored: the engine searches again, and its results are right.
  {
    ConvSettings s = graph_only;
    ConvEngine probe(ctx, s);
    const std::string path = probe.plan_cache().path();
    std::string text;
    {
      std::ifstream in(path, std::ios::binary);
      std::ostringstream all;
      all << in.rdbuf();
      text = all.str();
    }
    const size_t at = text.find(" ms ");
    if (at != std::string::npos) text[at + 4] = text[at + 4] == '9' ? '8' : '9';
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << text;
    }
    ConvEngine fresh(ctx, s);
    run_all(ctx, fresh, "fp32, after a corrupted cache file,", 1e-4);
    report(!fresh.plan_cache().ignored_reason().empty() && fresh.graph_stats().searches > 0,
           "conv graph engine: a corrupted cache file is ignored and the plans searched again",
           fresh.plan_cache().ignored_reason());
  }

  // Steady state: once plans exist, calls allocate nothing and make no new variant pack.
  {
    ConvEngine engine(ctx, graph_only);
    const ConvCase cc = cases()[2];
    const Data d = data_for(cc);
    const Shape xs{cc.n, cc.c, cc.h, cc.w}, ws{cc.o, cc.c, cc.kh, cc.kw}, ys{cc.n, cc.o, d.oh, d.ow};
    Tensor x = upload(ctx, xs, d.x), w = upload(ctx, ws, d.w), dy = upload(ctx, ys, d.dy);
    Tensor b = upload(ctx, {cc.o}, d.b);
    Tensor y = ctx.temporary(ys), dx = ctx.temporary(xs), dw = ctx.temporary(ws), db = ctx.temporary({cc.o});
    auto step = [&] {
      engine.forward(cc.g, x, w, b, y, true);
      engine.backward_data(cc.g, dy, w, dx);
      engine.backward_filter(cc.g, x, dy, dw, db);
    };
    step();
    cuda_ok(cudaStreamSynchronize(ctx.stream()), "cudaStreamSynchronize");
    const AllocatorStats before = ctx.allocator()->stats();
    const size_t packs = engine.graph_stats().packs_made;
    constexpr int kCalls = 200;
    const double start = now_ms();
    for (int i = 0; i < kCalls; ++i) step();
    const double host_ms = now_ms() - start;
    cuda_ok(cudaStreamSynchronize(ctx.stream()), "cudaStreamSynchronize");
    const AllocatorStats after = ctx.allocator()->stats();
    report(after.system_allocations == before.system_allocations && engine.graph_stats().packs_made == packs,
           "conv graph engine: a steady state allocates nothing and makes no variant pack",
           std::to_string(after.system_allocations - before.system_allocations) + " allocations, " +
               std::to_string(engine.graph_stats().packs_made - packs) + " packs");
    std::printf("note: conv graph engine host time per call, plans kept: %.4f ms (%d steps of 3 calls, queued)\n",
                host_ms / (3.0 * kCalls), kCalls);
  }

  const std::string cleanup = "rm -rf '" + dir + "'";
  if (std::system(cleanup.c_str()) != 0) std::printf("note: could not remove %s\n", dir.c_str());
}

}  // namespace alexnet::selftest
