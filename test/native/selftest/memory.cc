// Transfers under load and out-of-memory handling.
#include <algorithm>

#include "core/errors.h"
#include "selftest.h"

namespace alexnet::selftest {

// Many large uploads queued without waiting (more than the 1 GiB of pinned staging the CUDA build
// keeps), and several downloads outstanding at once, collected out of order.
void test_transfers(Backend& be, bool quick) {
  const int64_t n = quick ? (1 << 20) : 20 * 1000 * 1000;  // 80 MB per upload on the GPU
  std::vector<Tensor> tensors;
  std::vector<std::vector<float>> data;
  for (int i = 0; i < 16; ++i) {
    data.push_back(std::vector<float>(static_cast<size_t>(n), float(i)));
    data.back()[static_cast<size_t>(i)] = -1.0f;
    tensors.push_back(make(be, {n}));
    be.upload(tensors.back(), data.back().data());
    std::fill(data.back().begin(), data.back().end(), 99.0f);  // the caller may reuse its memory at once
  }
  std::vector<std::vector<float>> back(16, std::vector<float>(static_cast<size_t>(n)));
  std::vector<std::shared_ptr<Completion>> pending;
  for (int i = 0; i < 16; ++i)
    pending.push_back(be.download(tensors[static_cast<size_t>(i)], back[static_cast<size_t>(i)].data()));
  bool ok = true;
  for (int i = 15; i >= 0; --i) {
    pending[static_cast<size_t>(i)]->wait();
    const auto& v = back[static_cast<size_t>(i)];
    for (int64_t e = 0; e < n && ok; ++e) {
      const float want = e == i ? -1.0f : float(i);
      if (v[static_cast<size_t>(e)] != want) ok = false;
    }
  }
  report(ok, "16 large uploads in flight, 16 downloads collected out of order", std::to_string(n) + " floats each");
}

void test_memory(Backend& be) {
  expect_throw(
      "out-of-memory becomes OutOfMemoryError",
      [&] {
        try {
          be.allocate(static_cast<size_t>(1) << 50);
        } catch (const OutOfMemoryError& e) {
          throw std::runtime_error(std::string("OutOfMemoryError: ") + e.what());
        }
      },
      "OutOfMemoryError");
  // The process goes on.
  Tensor t = make_from(be, {4}, {1, 2, 3, 4});
  exact("work continues after out-of-memory", get(be, t), {1, 2, 3, 4});
  be.synchronize();
  be.empty_cache();
  const auto s = be.allocator_stats();
  report(s.bytes_cached == 0, "empty_cache returns cached blocks",
         "in use " + std::to_string(s.bytes_in_use) + ", cached " + std::to_string(s.bytes_cached));
}

}  // namespace alexnet::selftest
