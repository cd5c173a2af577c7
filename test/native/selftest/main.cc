// The self-test's entry point (see selftest.h). Options:
//   (none)    every check, then the timings (bench.cc)
//   --checks  every check, no timings (what the GPU suite runs)
//   --quick   every check, the transfers smaller, no timings (what the CPU suite runs)
//   --bench   the timings only
//   --fault   CUDA only: the sticky-error check, which leaves the CUDA context unusable (run it
//             last, in its own process)
//   --errors  CUDA only: how status codes become exceptions; needs no device (the CPU suite runs it)
#include <cstdio>
#include <functional>
#include <string>

#include "selftest.h"

using namespace alexnet;
using namespace alexnet::selftest;

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  const bool quick = mode == "--quick";
  const bool timings = mode.empty();
#ifdef ALEXNET_SELFTEST_CUDA
  if (mode == "--errors") {
    test_cuda_errors();
    std::printf("%d of %d checks failed\n", failures, checks);
    return failures ? 1 : 0;
  }
#endif
  std::unique_ptr<Backend> be;
  try {
    be = create_backend();
  } catch (const std::exception& e) {
    std::printf("create_backend failed: %s\n", e.what());
    return 2;
  }
  std::printf("backend %s\n", backend_name());
  for (const auto& [k, v] : be->info()) {
    if (auto s = std::get_if<std::string>(&v)) std::printf("  %s: %s\n", k.c_str(), s->c_str());
    if (auto d = std::get_if<double>(&v)) std::printf("  %s: %.0f\n", k.c_str(), *d);
    if (auto b = std::get_if<bool>(&v)) std::printf("  %s: %s\n", k.c_str(), *b ? "true" : "false");
  }
  // Each concern runs on its own: one that throws is reported and the next one runs.
  auto run = [&](const char* name, const std::function<void(Backend&)>& f) {
    try {
      f(*be);
    } catch (const std::exception& e) {
      report(false, name, std::string("threw: ") + e.what());
    }
  };
  auto benchmarks = [&] {
    run("bench fp32", [](Backend& b) { bench(b, MathMode::fp32); });
    run("bench tf32", [](Backend& b) { bench(b, MathMode::tf32); });
    run("bench small ops", bench_small_ops);
  };
  if (mode == "--bench") {
    benchmarks();
    be.reset();
    std::printf("%d of %d checks failed\n", failures, checks);
    return failures ? 1 : 0;
  }
#ifdef ALEXNET_SELFTEST_CUDA
  if (mode == "--fault") {
    run("device lost", test_device_lost);
    be.reset();  // must neither throw nor hang
    std::printf("backend destroyed after the sticky error\n%d of %d checks failed\n", failures, checks);
    return failures ? 1 : 0;
  }
#endif
  run("elementwise", test_elementwise);
  run("conv", test_conv2d);
  run("conv plan bookkeeping", [](Backend&) { test_conv2d_plan(); });
  run("cuda configuration", [](Backend&) { test_cuda_config(); });
#ifdef ALEXNET_SELFTEST_CUDA
  run("fused conv directly", [](Backend&) { test_fused_conv_directly(); });
  run("conv graph engine", [](Backend&) { test_conv2d_graph(); });
#endif
  run("lrn", test_lrn);
  run("max pool", test_max_pool2d);
  run("adaptive avg pool", test_adaptive_avg_pool2d);
  run("linear", test_linear);
  run("activation", test_activation);
  run("dropout", test_dropout);
  run("loss", test_loss);
  run("topk", test_topk);
  run("sgd", test_sgd);
  run("adam", test_adam);
  run("linear epilogues", test_linear_epilogues);
  run("graph", test_graph);
  run("steady state", test_steady_state);
  run("determinism", test_determinism);
  run("transfers", [&](Backend& b) { test_transfers(b, quick); });
  run("memory", test_memory);
  if (timings) benchmarks();
  try {
    be->synchronize();
  } catch (const std::exception& e) {
    report(false, "final synchronize", e.what());
  }
  be.reset();  // the destructor must not throw or hang
  std::printf("%d of %d checks failed\n", failures, checks);
  return failures ? 1 : 0;
}
