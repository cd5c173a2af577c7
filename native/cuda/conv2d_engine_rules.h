// Which cuDNN engines a convolution may run on, decided from the notes cuDNN attaches to each engine
// (its numerical notes, CUDNN_ATTR_ENGINE_NUMERICAL_NOTE, and behaviour notes) and from what the
// caller promised: strict fp32 results within 1e-4 of the exact convolution, TF32 within 1e-2,
// bit-for-bit repeatable results in deterministic mode, NaN passing through a fused ReLU as it does
// through ours. The notes arrive here as our own bits (conv2d_graph.cc maps cuDNN's enum onto them),
// so these rules are pure C++ and the self-test of the CPU build checks them.
#pragma once

#include <cstdint>
#include <string>

#include "core/op_params.h"

namespace alexnet::cuda {

// One bit per note.
namespace engine_note {
constexpr uint32_t tensor_core = 1u << 0;                  // TF32 on fp32 data
constexpr uint32_t down_convert_inputs = 1u << 1;          // inputs converted to a narrower type
constexpr uint32_t reduced_precision_reduction = 1u << 2;  // sums kept in a narrower type
constexpr uint32_t fft = 1u << 3;
constexpr uint32_t nondeterministic = 1u << 4;
constexpr uint32_t winograd = 1u << 5;
constexpr uint32_t winograd_tile_4x4 = 1u << 6;
constexpr uint32_t winograd_tile_6x6 = 1u << 7;
constexpr uint32_t winograd_tile_13x13 = 1u << 8;
constexpr uint32_t strict_nan_prop = 1u << 9;
constexpr uint32_t unknown = 1u << 10;              // a numerical note this build has no name for
constexpr uint32_t runtime_compilation = 1u << 16;  // behaviour note: compiled at plan build (NVRTC)
}  // namespace engine_note

// Changes whenever the rules below change: the plan cache file's record that a key has no usable
// engine holds the version it was found under, and is searched again under any other.
constexpr int kEngineRulesVersion = 1;

// What the convolution must keep.
struct EngineNeeds {
  MathMode math = MathMode::fp32;
  bool deterministic = false;
  // A ReLU in the same graph must pass NaN on (ours does: y = x <= 0 ? 0 : x).
  bool relu_keeps_nan = false;
};

struct EngineVerdict {
  bool usable = true;
  std::string reason;  // why not, when not usable
};

// The rules:
// - never engines that down-convert inputs or reduce in reduced precision (neither is what fp32 or
//   TF32 promises);
// - strict fp32: no tensor cores (TF32), no FFT, and Winograd only with 4x4 tiles. That mirrors the
//   legacy path (conv2d_legacy.cc), which keeps cuDNN's fused Winograd and leaves out FFT and the
//   non-fused Winograd: on an H200 one of those came out 1.4e-2 off in fp32. Which Winograd engines
//   carry which tile note has not been seen on a device yet; an engine with the Winograd note and
//   no tile note counts as a large-tile one. A note this build does not know is refused too;
//   TF32 (1e-2) keeps all of these;
// - deterministic mode: no engine noted non-deterministic;
// - a fused ReLU that must pass NaN on: only engines noted for strict NaN propagation.
EngineVerdict judge_engine(uint32_t notes, const EngineNeeds& needs);

// "tensor_core,winograd,runtime_compilation"; "-" for none.
std::string notes_text(uint32_t notes);
// notes_text() read back; false for anything else.
bool parse_notes(const std::string& text, uint32_t* notes);

}  // namespace alexnet::cuda
