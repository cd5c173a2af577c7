// Dropout: the same mask and output as the CPU formula (core/philox.h), bit for bit.
#include "core/philox.h"
#include "selftest.h"

namespace alexnet::selftest {

void test_dropout(Backend& be) {
  const int64_t n = 100003;
  const auto v = random_vector(static_cast<size_t>(n), 71);
  Tensor a = make_from(be, {n}, v);
  const uint64_t seed = 0x123456789abcdefULL;
  const float p = 0.3f;
  const uint64_t offset = 12345;
  std::vector<float> mask(static_cast<size_t>(n)), y(static_cast<size_t>(n));
  const float scale = 1.0f / (1.0f - p);
  for (int64_t i = 0; i < n; ++i) {
    const bool keep = bits_to_unit_float(philox_bits(seed, offset, uint64_t(i))) >= p;
    mask[static_cast<size_t>(i)] = keep ? scale : 0.0f;
    y[static_cast<size_t>(i)] = v[static_cast<size_t>(i)] * mask[static_cast<size_t>(i)];
  }
  Tensor yt = make(be, {n}), mt = make(be, {n});
  be.dropout_forward(p, make_dropout_scalars(be, seed, offset), a, yt, mt);
  exact("dropout mask", get(be, mt), mask);
  exact("dropout output", get(be, yt), y);
  // The offset is read when the op runs: advanced on the device, the next mask starts where it says.
  Tensor scalars = make_dropout_scalars(be, seed, 0);
  be.advance_counter(scalars, kDropoutOffsetWord, offset);
  Tensor yt2 = make(be, {n}), mt2 = make(be, {n});
  be.dropout_forward(p, scalars, a, yt2, mt2);
  exact("dropout mask after advance_counter", get(be, mt2), mask);
}

}  // namespace alexnet::selftest
