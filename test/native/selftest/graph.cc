// Graphs (core/backend.h): a capture records work instead of running it; each launch runs the
// recorded work again on the same memory and reads the step scalars as they are at launch time; the
// pool keeps the recorded blocks for the graph; a capture refuses transfers and system allocations.
// On the CPU build this checks the recording of its queue; on the GPU, CUDA stream capture.
#include <cstring>

#include "core/caching_allocator.h"
#include "core/errors.h"
#include "selftest.h"

namespace alexnet::selftest {

void test_graph(Backend& be) {
  const int64_t n = 1000;
  const auto p0 = random_vector(static_cast<size_t>(n), 501), g = random_vector(static_cast<size_t>(n), 502);
  Tensor param = make_from(be, {n}, p0), grad = make_from(be, {n}, g);
  Tensor scalars = make_sgd_scalars(be, 0.5f, 0);
  auto pool = be.create_pool();

  // Warm-up in the pool: the temporary's block is cached there for the capture.
  be.use_pool(pool);
  { Tensor warm = make(be, {n}); }
  be.use_pool(nullptr);

  be.use_pool(pool);
  be.begin_capture();
  std::unique_ptr<Graph> graph;
  try {
    Tensor doubled = make(be, {n});  // from the pool's cache: no system allocation during the capture
    be.copy(doubled, grad);
    be.add_scaled(doubled, grad, 1.0f);  // doubled = 2 g
    be.sgd_step(SgdParams{}, {{param, doubled, {}}}, scalars);
    be.advance_counter(scalars, kSgdStepWord, 1);
    expect_throw(
        "graph: upload during a capture", [&] { be.upload(grad, g.data()); }, "not allowed during a graph capture");
    expect_throw(
        "graph: a new block during a capture", [&] { make(be, {n + 12345}); }, "system allocations are not allowed");
  } catch (...) {
    be.end_capture();
    be.use_pool(nullptr);
    throw;
  }
  graph = be.end_capture();
  be.use_pool(nullptr);
  exact("graph: nothing runs during the capture", get(be, param), p0);

  // Two launches with different learning rates, written between them as TypeScript writes them.
  graph->launch();
  const SgdScalars second{0.25f, 0, 1};
  be.upload(scalars, &second);
  graph->launch();
  std::vector<float> want = p0;
  for (size_t i = 0; i < want.size(); ++i) {
    const float twice = g[i] + 1.0f * g[i];
    want[i] -= 0.5f * twice;
    want[i] -= 0.25f * twice;
  }
  exact("graph: two launches read the learning rate at launch time", get(be, param), want);
  std::vector<int32_t> words(kScalarWords);
  {
    Tensor copy = make(be, {kScalarWords}, DType::i32);
    be.copy(copy, scalars);
    auto done = be.download(copy, words.data());
    done->wait();
  }
  uint64_t step = 0;
  std::memcpy(&step, words.data() + kSgdStepWord, sizeof(step));
  report(step == 2, "graph: the recorded advance_counter ran at each launch", "step " + std::to_string(step));
  graph.reset();
  pool.reset();
  be.synchronize();
}

}  // namespace alexnet::selftest
