// Philox 4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11), the
// counter-based generator cuRAND and PyTorch use. Every backend draws element i of a tensor from
// counter (offset + i) / 4, word (offset + i) % 4, with the seed as key, so the same seed gives the
// same dropout masks and initial weights on the CPU and on the GPU, whatever the thread layout.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define ALEXNET_HD __host__ __device__ __forceinline__
#else
#define ALEXNET_HD inline
#endif

namespace alexnet {

struct Philox4 {
  uint32_t v[4];
};

ALEXNET_HD uint32_t mulhilo32(uint32_t a, uint32_t b, uint32_t* hi) {
  uint64_t product = static_cast<uint64_t>(a) * b;
  *hi = static_cast<uint32_t>(product >> 32);
  return static_cast<uint32_t>(product);
}

ALEXNET_HD Philox4 philox4x32_10(uint64_t counter, uint64_t seed) {
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, hi1;
    uint32_t lo0 = mulhilo32(0xD2511F53u, c0, &hi0);
    uint32_t lo1 = mulhilo32(0xCD9E8D57u, c2, &hi1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0;
    c1 = n1;
    c2 = n2;
    c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return Philox4{{c0, c1, c2, c3}};
}

// The 32 random bits for element `index` of a stream that starts at `offset`.
ALEXNET_HD uint32_t philox_bits(uint64_t seed, uint64_t offset, uint64_t index) {
  uint64_t position = offset + index;
  return philox4x32_10(position >> 2, seed).v[position & 3];
}

// Truncated normals (TensorFlow's truncated_normal: draws beyond `truncation` standard deviations
// are redrawn). Element i's first draw is the same as an untruncated fill's (Philox block i); its
// k-th redraw uses block i + k * 2^48, far from any tensor's own blocks. After kMaxNormalDraws
// rejections (probability 0.0455^32 at two standard deviations) the element is the mean.
constexpr int kMaxNormalDraws = 32;
ALEXNET_HD uint64_t normal_redraw_counter(uint64_t index, int draw) {
  return index + (static_cast<uint64_t>(draw) << 48);
}

// Uniform in [0, 1) with 24 bits, exactly representable in float: identical on every backend.
ALEXNET_HD float bits_to_unit_float(uint32_t bits) { return static_cast<float>(bits >> 8) * (1.0f / 16777216.0f); }

}  // namespace alexnet
