// Transfers, copies, fills (constant and seeded random) and elementwise arithmetic.
#include <algorithm>
#include <cmath>

#include "core/philox.h"
#include "selftest.h"

namespace alexnet::selftest {

void test_elementwise(Backend& be) {
  const int64_t n = 100003;
  // Upload / download / copy round trips, float and int.
  const auto v = random_vector(static_cast<size_t>(n), 71);
  Tensor a = make_from(be, {n}, v);
  exact("upload/download float32", get(be, a), v);
  Tensor c = make(be, {n});
  be.copy(c, a);
  exact("copy", get(be, c), v);
  std::vector<int32_t> iv(1000);
  for (size_t i = 0; i < iv.size(); ++i) iv[i] = int32_t(i * 7919 - 500000);
  Tensor it = make_labels(be, iv);
  std::vector<int32_t> iback(iv.size());
  be.download(it, iback.data())->wait();
  report(iback == iv, "upload/download int32", "");
  be.fill(it, 42.0f);
  be.download(it, iback.data())->wait();
  report(std::all_of(iback.begin(), iback.end(), [](int32_t x) { return x == 42; }), "fill int32", "");
  be.fill(c, 2.5f);
  exact("fill float32", get(be, c), std::vector<float>(static_cast<size_t>(n), 2.5f));

  // Random fills: the CPU formulas.
  std::vector<float> uni(static_cast<size_t>(n)), nor(static_cast<size_t>(n));
  const uint64_t seed = 0x123456789abcdefULL;
  for (int64_t i = 0; i < n; ++i) {
    const float range = 0.75f - (-0.25f);
    uni[static_cast<size_t>(i)] = -0.25f + range * bits_to_unit_float(philox_bits(seed, 0, uint64_t(i)));
    const Philox4 w = philox4x32_10(uint64_t(i), seed);
    const float u1 = float((w.v[0] >> 8) + 1) * (1.0f / 16777216.0f);
    const float u2 = float(w.v[1] >> 8) * (1.0f / 16777216.0f);
    nor[static_cast<size_t>(i)] = 0.5f + 2.0f * (std::sqrt(-2.0f * std::log(u1)) * std::cos(6.2831853071795864f * u2));
  }
  be.fill_uniform(c, -0.25f, 0.75f, seed);
  exact("fill_uniform matches the CPU formula", get(be, c), uni);
  be.fill_normal(c, 0.5f, 2.0f, 0.0f, seed);
  compare("fill_normal matches the CPU formula", get(be, c), to_double(nor), 2e-6, 2e-6);

  // add_scaled, multiply.
  const auto w = random_vector(static_cast<size_t>(n), 72);
  Tensor b = make_from(be, {n}, w);
  std::vector<float> want(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    want[static_cast<size_t>(i)] = v[static_cast<size_t>(i)] + 0.37f * w[static_cast<size_t>(i)];
  be.copy(c, a);
  be.add_scaled(c, b, 0.37f);
  exact("add_scaled", get(be, c), want);
  for (int64_t i = 0; i < n; ++i) want[static_cast<size_t>(i)] = v[static_cast<size_t>(i)] * w[static_cast<size_t>(i)];
  be.multiply(a, b, c);
  exact("multiply", get(be, c), want);
}

}  // namespace alexnet::selftest
