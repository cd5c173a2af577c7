// What identifies one convolution plan of the graph engine (conv2d_graph.h): the direction, what
// runs fused after it, every shape and geometry number, the data type and layout, the math mode,
// determinism, and the alignment of the pointers. Two calls with equal keys can share a plan; a
// plan found for one key is never used for another. The key has a text form, which names the plan
// in ALEXNET_CUDA_LOG's lines and in the on-disk plan cache (conv2d_plan_cache.h); parse() reads it
// back. Pure C++, so that the self-test of the CPU build checks it.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "core/op_params.h"

namespace alexnet::cuda {

enum class ConvDirection { forward, backward_data, backward_filter };

// What the same graph computes after the convolution:
//   bias, relu, bias_relu   forward only: y = conv + b, relu(conv), relu(conv + b)
//   relu_backward           backward-data only: dx = dgrad(dy, w) where mask > 0, else 0 (the
//                           ReLU that produced this convolution's input, undone in the same pass)
enum class ConvEpilogue { none, bias, relu, bias_relu, relu_backward };

enum class ConvDataType { f32 };
enum class ConvLayout { nchw };

struct ConvPlanKey {
  ConvDirection direction = ConvDirection::forward;
  ConvEpilogue epilogue = ConvEpilogue::none;
  int64_t n = 0, c = 0, h = 0, w = 0;  // the input x (or dx), unpadded
  int64_t o = 0, kh = 0, kw = 0;       // the weight is [o, c / groups, kh, kw]
  int64_t groups = 1;
  int64_t stride_h = 1, stride_w = 1;
  // Zero padding before (top, left) and after (bottom, right) the input; the graph takes them as
  // its pre- and post-paddings, so they may differ.
  int64_t pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
  ConvDataType dtype = ConvDataType::f32;
  ConvLayout layout = ConvLayout::nchw;
  MathMode math = MathMode::fp32;
  bool deterministic = false;
  // The largest power of two, up to 16, that divides every pointer the plan is run with: cuDNN's
  // engines may rely on the alignment a plan was built for.
  int64_t alignment = 16;

  int64_t out_h() const { return (h + pad_top + pad_bottom - kh) / stride_h + 1; }
  int64_t out_w() const { return (w + pad_left + pad_right - kw) / stride_w + 1; }

  // Every field as a number, for ordered maps (no allocation).
  using Packed = std::array<int64_t, 20>;
  Packed packed() const;
  bool operator==(const ConvPlanKey& other) const { return packed() == other.packed(); }
  bool operator!=(const ConvPlanKey& other) const { return !(*this == other); }

  // One line without tabs, e.g.
  //   forward+bias_relu n128 c3 h224 w224 o64 k11x11 g1 s4x4 p2,2,2,2 f32 nchw tf32 nondeterministic a16
  // (padding as top,bottom,left,right).
  std::string text() const;
  // Reads text() back; false (and *out untouched) for anything else, including keys that no
  // convolution has (zero sizes, groups that do not divide the channels, a kernel larger than the
  // padded input).
  static bool parse(const std::string& text, ConvPlanKey* out);
  // Whether the numbers describe a convolution (what parse() checks).
  bool valid() const;
};

const char* direction_name(ConvDirection d);
const char* epilogue_name(ConvEpilogue e);

// The largest power of two, up to 16, that divides every given (non-null) pointer.
int64_t pointer_alignment(std::initializer_list<const void*> pointers);

}  // namespace alexnet::cuda
