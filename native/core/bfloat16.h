// Rounding an fp32 value to the nearest bfloat16 (ties to even), kept in fp32 storage: the bf16
// precision mode's one arithmetic primitive (see lib/backend/precision.ts). bfloat16 is the upper
// half of an fp32 word (sign, the same 8 exponent bits, 7 of the 23 fraction bits), so rounding is
// integer arithmetic on the bits and the result is exactly what a cast to torch.bfloat16 gives:
// finite values round to nearest even (those above bfloat16's largest finite value become
// infinities, as in PyTorch), infinities stay, and every NaN becomes the quiet NaN 0x7fc00000
// (PyTorch's scalar c10::BFloat16 gives that one; its vectorized CPU cast gives 0xffff0000: which
// NaN comes out is no part of the contract, only that it is a NaN).
#pragma once

#include <cstdint>
#include <cstring>

#include "philox.h"  // ALEXNET_HD

namespace alexnet {

ALEXNET_HD float round_to_bfloat16(float value) {
  uint32_t bits;
#if defined(__CUDA_ARCH__)
  bits = __float_as_uint(value);
#else
  std::memcpy(&bits, &value, sizeof bits);
#endif
  if ((bits & 0x7fffffffu) > 0x7f800000u) {
    bits = 0x7fc00000u;  // NaN: truncating its payload could make it an infinity
  } else {
    bits += 0x7fffu + ((bits >> 16) & 1u);  // round half to even on the 16 bits dropped
    bits &= 0xffff0000u;
  }
#if defined(__CUDA_ARCH__)
  return __uint_as_float(bits);
#else
  float rounded;
  std::memcpy(&rounded, &bits, sizeof rounded);
  return rounded;
#endif
}

}  // namespace alexnet
